//! The cataloguers against real files on the machine running the tests, when it has them:
//! its dpkg database and the Go binaries it ships (`nats-server`, `docker`). Each test
//! prints a notice and passes when the file is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use stella_catalog::{catalogue, wants, Kind, Limits, Want};

fn which(name: &str) -> Option<PathBuf> {
    let out = Command::new("which").arg(name).output().ok()?;
    let path = String::from_utf8(out.stdout).ok()?;
    let path = PathBuf::from(path.trim());
    path.is_file().then_some(path)
}

#[test]
fn this_machines_dpkg_database() {
    let path = Path::new("/var/lib/dpkg/status");
    let Ok(bytes) = std::fs::read(path) else {
        println!("notice: no /var/lib/dpkg/status here; skipped");
        return;
    };
    let Ok(out) = Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}\\n"])
        .output()
    else {
        println!("notice: no dpkg-query here; skipped");
        return;
    };
    let installed = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some("installed"))
        .count();
    assert_eq!(
        wants("var/lib/dpkg/status", bytes.len() as u64, 0o100_644),
        Want::Read
    );
    let found = catalogue("var/lib/dpkg/status", &bytes, &Limits::default()).unwrap();
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    assert_eq!(found.packages.len(), installed);
    assert!(found
        .packages
        .iter()
        .all(|p| p.kind == Kind::Deb && p.source_name.is_some() && p.purl(None).is_some()));
}

fn go_binary(candidates: &[&str], name: &str) {
    let path = candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| which(name));
    let Some(path) = path else {
        println!("notice: no {name} binary here; skipped");
        return;
    };
    // Copied at test time: the test reads its own copy, as a scan reads a layer's file.
    let dir = std::env::temp_dir().join(format!("stella-catalog-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join(name);
    std::fs::copy(&path, &copy).unwrap();
    let bytes = std::fs::read(&copy).unwrap();
    std::fs::remove_dir_all(&dir).ok();

    assert_eq!(
        wants("usr/bin/x", bytes.len() as u64, 0o100_755),
        Want::ReadIfElf
    );
    let found = catalogue(&format!("usr/bin/{name}"), &bytes, &Limits::default()).unwrap();
    println!(
        "{name} ({}): {:?} {:?}",
        path.display(),
        found
            .packages
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect::<Vec<_>>(),
        found.warnings
    );
    let stdlib = found
        .packages
        .iter()
        .find(|p| p.name == "stdlib")
        .expect("the Go toolchain as stdlib");
    assert!(stdlib.version.starts_with("1."), "{}", stdlib.version);
    assert_eq!(stdlib.ecosystem(None).as_deref(), Some("Go"));
    // Either the main module is reported or a warning says why not (these two binaries
    // are built outside module mode and have no `mod` line).
    assert!(
        found.packages.len() > 1 || found.warnings.iter().any(|w| w.contains("no main module")),
        "{:?}",
        found.warnings
    );
    assert!(found
        .packages
        .iter()
        .all(|p| p.kind == Kind::Go && !p.name.is_empty() && p.purl(None).is_some()));
}

#[test]
fn nats_server_binary() {
    go_binary(
        &["/usr/sbin/nats-server", "/usr/bin/nats-server"],
        "nats-server",
    );
}

#[test]
fn docker_binary() {
    go_binary(&["/usr/bin/docker", "/usr/local/bin/docker"], "docker");
}
