//! npm: `package-lock.json` (lockfileVersion 1, 2 and 3) and the `package.json` of each
//! installed package under `node_modules`.
//!
//! Lockfiles v2/v3 list packages in `packages`, keyed by install path
//! (`node_modules/a/node_modules/@s/b`); v1 nests them in `dependencies`. Left out: the root
//! project (`""`), workspace members and other entries outside `node_modules`, links
//! (`link: true`), entries marked `dev: true` (a production install leaves them out; the
//! installed `package.json` files tell what is really there), and v1 versions that are not
//! from a registry (`file:`, `git+...`, tarball URLs). Within one file each name@version is
//! reported once.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::{CatalogError, Ctx, Kind};

/// `…/node_modules/name` or `…/node_modules/@scope/name`: where an installed package's
/// `package.json` sits (and not its subdirectories, which hold `package.json` files of their
/// own for module-type markers and test fixtures).
pub(crate) fn is_installed_package_dir(dir: &str) -> bool {
    let mut parts = dir.rsplit('/');
    let (Some(name), Some(parent)) = (parts.next(), parts.next()) else {
        return false;
    };
    let ok = |s: &str| !s.is_empty() && !s.starts_with('.');
    if parent == "node_modules" {
        return ok(name) && !name.starts_with('@');
    }
    parent.starts_with('@') && parent.len() > 1 && parts.next() == Some("node_modules") && ok(name)
}

fn parse_json(ctx: &Ctx<'_>, bytes: &[u8], format: &'static str) -> Result<Value, CatalogError> {
    // serde_json refuses nesting deeper than 128 (its recursion limit): deep input is an
    // error, not a stack overflow.
    serde_json::from_slice(bytes).map_err(|e| ctx.malformed(format, e.to_string()))
}

struct Seen(HashSet<(String, String)>);

impl Seen {
    fn push(&mut self, ctx: &mut Ctx<'_>, name: &str, version: &str) -> Result<(), CatalogError> {
        if self.0.insert((name.to_owned(), version.to_owned())) {
            let p = ctx.package(Kind::Npm, name, version);
            ctx.push(p)?;
        }
        Ok(())
    }
}

pub(crate) fn lockfile(ctx: &mut Ctx<'_>, bytes: &[u8]) -> Result<(), CatalogError> {
    const FORMAT: &str = "package-lock.json";
    let doc = parse_json(ctx, bytes, FORMAT)?;
    let Some(doc) = doc.as_object() else {
        return Err(ctx.malformed(FORMAT, "it is not a JSON object"));
    };
    let mut seen = Seen(HashSet::new());
    if let Some(packages) = doc.get("packages").and_then(Value::as_object) {
        for (key, entry) in packages {
            let Some(at) = key.rfind("node_modules/") else {
                continue; // the root project and workspace members
            };
            let Some(entry) = entry.as_object() else {
                ctx.warn(format!("{FORMAT} entry {key:?} is not an object"));
                continue;
            };
            if flag(entry, "link") || flag(entry, "dev") {
                continue;
            }
            let from_key = &key[at + "node_modules/".len()..];
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(from_key);
            let Some(version) = entry.get("version").and_then(Value::as_str) else {
                ctx.warn(format!("{FORMAT} entry {key:?} has no version"));
                continue;
            };
            seen.push(ctx, name, version)?;
        }
        return Ok(());
    }
    let Some(deps) = doc.get("dependencies").and_then(Value::as_object) else {
        return Ok(());
    };
    // v1: walked with an explicit stack, bounded by max_depth.
    let mut stack: Vec<(&Map<String, Value>, usize)> = vec![(deps, 1)];
    while let Some((deps, depth)) = stack.pop() {
        if depth > ctx.limits.max_depth {
            return Err(ctx.limit("max_depth", ctx.limits.max_depth));
        }
        for (name, entry) in deps {
            let Some(entry) = entry.as_object() else {
                ctx.warn(format!("{FORMAT} dependency {name:?} is not an object"));
                continue;
            };
            if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
                stack.push((nested, depth + 1));
            }
            if flag(entry, "dev") {
                continue;
            }
            let Some(version) = entry.get("version").and_then(Value::as_str) else {
                ctx.warn(format!("{FORMAT} dependency {name:?} has no version"));
                continue;
            };
            // Aliases (`"npm:real-name@1.2.3"`) name the real package.
            if let Some(alias) = version.strip_prefix("npm:") {
                match alias.rfind('@').filter(|at| *at > 0) {
                    Some(at) => seen.push(ctx, &alias[..at], &alias[at + 1..])?,
                    None => ctx.warn(format!("{FORMAT} alias {version:?} has no version")),
                }
                continue;
            }
            if version.contains(':') || version.contains('/') {
                continue; // file:, git, tarball URLs: not registry packages
            }
            seen.push(ctx, name, version)?;
        }
    }
    Ok(())
}

fn flag(entry: &Map<String, Value>, key: &str) -> bool {
    entry.get(key).and_then(Value::as_bool).unwrap_or(false)
}

pub(crate) fn package_json(ctx: &mut Ctx<'_>, bytes: &[u8]) -> Result<(), CatalogError> {
    let doc = parse_json(ctx, bytes, "package.json")?;
    let name = doc.get("name").and_then(Value::as_str);
    let version = doc.get("version").and_then(Value::as_str);
    if let (Some(name), Some(version)) = (name, version) {
        let p = ctx.package(Kind::Npm, name, version);
        ctx.push(p)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{catalogue, Found, Limits};

    fn lock(text: &str) -> Found {
        catalogue("app/package-lock.json", text.as_bytes(), &Limits::default()).unwrap()
    }

    fn names(found: &Found) -> Vec<String> {
        let mut v: Vec<_> = found
            .packages
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn lockfile_v3() {
        let found = lock(
            r#"{"name":"app","lockfileVersion":3,"packages":{
              "":{"name":"app","version":"1.0.0"},
              "node_modules/lodash":{"version":"4.17.21"},
              "node_modules/@babel/core":{"version":"7.23.0"},
              "node_modules/a/node_modules/lodash":{"version":"3.10.1"},
              "node_modules/again/node_modules/lodash":{"version":"3.10.1"},
              "node_modules/alias":{"name":"real","version":"1.0.0"},
              "node_modules/linked":{"resolved":"packages/linked","link":true},
              "packages/linked":{"version":"0.0.1"},
              "node_modules/jest":{"version":"29.0.0","dev":true}
            }}"#,
        );
        assert_eq!(
            names(&found),
            [
                "@babel/core@7.23.0",
                "lodash@3.10.1",
                "lodash@4.17.21",
                "real@1.0.0"
            ]
        );
        assert_eq!(found.packages[0].ecosystem(None).as_deref(), Some("npm"));
    }

    #[test]
    fn lockfile_v1() {
        let found = lock(
            r#"{"lockfileVersion":1,"dependencies":{
              "a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0",
                  "dependencies":{"c":{"version":"3.0.0"}}}}},
              "d":{"version":"npm:@s/e@4.0.0"},
              "f":{"version":"file:../f"},
              "g":{"version":"github:x/g#abc"},
              "h":{"version":"1.0.0","dev":true}
            }}"#,
        );
        assert_eq!(
            names(&found),
            ["@s/e@4.0.0", "a@1.0.0", "b@2.0.0", "c@3.0.0"]
        );
    }

    #[test]
    fn deep_and_broken_lockfiles_are_errors() {
        let mut deep = String::new();
        for _ in 0..200 {
            deep.push_str(r#"{"dependencies":{"x":"#);
        }
        let err = catalogue("package-lock.json", deep.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "catalog-malformed");
        // Deeper than max_depth but within serde_json's limit.
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let mut nested = String::from(r#"{"dependencies":"#);
        for _ in 0..5 {
            nested.push_str(r#"{"x":{"version":"1","dependencies":"#);
        }
        nested.push_str("{}");
        for _ in 0..5 {
            nested.push_str("}}");
        }
        nested.push('}');
        let err = catalogue("package-lock.json", nested.as_bytes(), &limits).unwrap_err();
        assert!(err.to_string().contains("max_depth"), "{err}");
        assert!(catalogue("package-lock.json", b"\xff{", &Limits::default()).is_err());
        assert!(catalogue("package-lock.json", b"[]", &Limits::default()).is_err());
    }

    #[test]
    fn installed_package_json() {
        let limits = Limits::default();
        let found = catalogue(
            "app/node_modules/@types/node/package.json",
            br#"{"name":"@types/node","version":"20.1.0","dependencies":{}}"#,
            &limits,
        )
        .unwrap();
        assert_eq!(
            found.packages[0].purl(None).unwrap().to_string(),
            "pkg:npm/%40types/node@20.1.0"
        );
        let none = catalogue(
            "app/node_modules/x/package.json",
            br#"{"name":"x"}"#,
            &limits,
        )
        .unwrap();
        assert!(none.packages.is_empty());
    }

    #[test]
    fn installed_dirs() {
        assert!(is_installed_package_dir("node_modules/a"));
        assert!(is_installed_package_dir("x/node_modules/@s/a"));
        assert!(!is_installed_package_dir("node_modules/@s"));
        assert!(!is_installed_package_dir("node_modules/a/lib"));
        assert!(!is_installed_package_dir("node_modules/.bin"));
        assert!(!is_installed_package_dir("a"));
    }
}
