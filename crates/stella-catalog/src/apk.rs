//! apk's installed database, `lib/apk/db/installed`: one stanza per package, `P:` name,
//! `V:` version, `A:` architecture, `o:` origin (the source package Alpine's advisories name).

use crate::stanza::{self, Syntax};
use crate::{CatalogError, Ctx, Kind};

pub(crate) fn installed(ctx: &mut Ctx<'_>, bytes: &[u8]) -> Result<(), CatalogError> {
    let stanzas = stanza::parse(ctx, bytes, Syntax::Apk, "apk database", |k| {
        matches!(k, "P" | "V" | "A" | "o")
    })?;
    for s in stanzas {
        let (Some(name), Some(version)) = (s.get_exact("P"), s.get_exact("V")) else {
            ctx.warn(format!(
                "the apk stanza at line {} has no P: or no V:",
                s.line
            ));
            continue;
        };
        let mut p = ctx.package(Kind::Apk, name, version);
        p.arch = s.get_exact("A").map(str::to_owned);
        p.source_name = Some(s.get_exact("o").unwrap_or(name).to_owned());
        p.source_version = Some(version.to_owned());
        ctx.push(p)?;
    }
    Ok(())
}

impl stanza::Stanza {
    /// apk keys are case-sensitive (`o:` origin, `O:` something else).
    fn get_exact(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::{catalogue, Limits};

    #[test]
    fn installed_packages() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nT:the musl c library\n\
                  o:musl\nF:lib\nR:libc.musl-x86_64.so.1\n\nC:Q1def=\nP:libcrypto3\nV:3.1.4-r0\n\
                  A:x86_64\no:openssl\n\nP:broken\n";
        let found = catalogue("lib/apk/db/installed", db.as_bytes(), &Limits::default()).unwrap();
        let got: Vec<_> = found
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.source_name.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("musl", "1.2.4-r2", "musl"),
                ("libcrypto3", "3.1.4-r0", "openssl")
            ]
        );
        assert_eq!(found.packages[1].arch.as_deref(), Some("x86_64"));
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
    }
}
