//! The data directory's format version, in `<data-dir>/FORMAT`: a newer build migrates an
//! older directory forward (each step below), an older build refuses a newer one before
//! touching anything. The database carries its own version (its migrations, checked in
//! `stella-store`), and the event index its own (`events/tenants/FORMAT`); this one covers the
//! layout of the directory itself: which files exist and where.

use std::fs;
use std::path::Path;

/// 1: the layout of release 0.1.0 (`stella.db`, `stella-activity.db`, `keys/`, `events/`).
/// A directory without the file is format 1 (0.1.0 wrote none).
pub const DATA_FORMAT: u32 = 1;

/// Checks (and, for a new or older directory, writes) the format marker of `dir`.
pub fn check(dir: &Path) -> Result<(), String> {
    let path = dir.join("FORMAT");
    let found = match fs::read_to_string(&path) {
        Ok(text) => Some(text.trim().parse::<u32>().map_err(|_| {
            format!(
                "{} does not hold a format number ({:?}): is this a Stella Ops data directory?",
                path.display(),
                text.trim()
            )
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    match found {
        Some(v) if v > DATA_FORMAT => Err(format!(
            "the data directory {} is in format {v}, written by a newer Stella Ops; this build \
             ({}) reads formats up to {DATA_FORMAT}: run that release or a newer one (nothing \
             was changed)",
            dir.display(),
            env!("CARGO_PKG_VERSION")
        )),
        Some(DATA_FORMAT) => Ok(()),
        // Older or unmarked: the steps from each older format go here, in order, before the
        // marker is rewritten (none yet: format 1 is the first).
        _ => {
            if !dir.exists() {
                // Owner-only: the directory holds credential hashes and the signing keys.
                create_private(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            }
            fs::write(&path, format!("{DATA_FORMAT}\n"))
                .map_err(|e| format!("writing {}: {e}", path.display()))
        }
    }
}

/// Creates `dir` and its missing parents readable by the owner only (0700 on Unix): data
/// directories and backups hold credential hashes and signing keys.
pub fn create_private(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_a_new_directory_and_refuses_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        check(dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let new = dir.path().join("new");
            check(&new).unwrap();
            assert_eq!(
                fs::metadata(&new).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        assert_eq!(
            fs::read_to_string(dir.path().join("FORMAT")).unwrap(),
            format!("{DATA_FORMAT}\n")
        );
        check(dir.path()).unwrap();
        fs::write(dir.path().join("FORMAT"), format!("{}\n", DATA_FORMAT + 1)).unwrap();
        let e = check(dir.path()).unwrap_err();
        assert!(e.contains("newer Stella Ops"), "{e}");
        fs::write(dir.path().join("FORMAT"), "banana").unwrap();
        assert!(check(dir.path()).unwrap_err().contains("format number"));
    }
}
