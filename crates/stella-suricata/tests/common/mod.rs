//! Running Debian's `suricata` on an exported ruleset, when it is installed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `suricata`, if on PATH. Tests that need it print a notice and pass without it.
pub fn suricata() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("suricata"))
        .find(|p| p.is_file())
}

/// The configuration Debian installs, when present (else Suricata's built-in default path).
/// The app-layer parsers Debian's configuration leaves off (Modbus, DNP3) are turned on, as
/// its own rule files use them; `-S` loads the given file only, and `-l` keeps logs out of
/// /var/log. `-T` needs no interface.
fn base_command(suricata: &Path, rules: &Path, logs: &Path) -> Command {
    let mut cmd = Command::new(suricata);
    let yaml = Path::new("/etc/suricata/suricata.yaml");
    if yaml.is_file() {
        cmd.arg("-c").arg(yaml);
    }
    cmd.arg("-S")
        .arg(rules)
        .arg("-l")
        .arg(logs)
        .args(["--set", "app-layer.protocols.modbus.enabled=yes"])
        .args(["--set", "app-layer.protocols.dnp3.enabled=yes"]);
    cmd
}

/// `suricata -T` on `text`: Ok, or Suricata's complaints.
pub fn check(suricata: &Path, text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let rules = dir.path().join("export.rules");
    std::fs::write(&rules, text).map_err(|e| e.to_string())?;
    let out = base_command(suricata, &rules, dir.path())
        .arg("-T")
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "suricata -T failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `(gid, sid, rev, msg)` of a rule.
pub type Key = (u64, u64, u64, Option<String>);

/// What Suricata itself read from `text`: `(gid, sid, rev, msg)` of every rule it loaded, from
/// its engine analysis (`rules.json`).
pub fn analysed(suricata: &Path, text: &str) -> Result<Vec<Key>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let rules = dir.path().join("export.rules");
    std::fs::write(&rules, text).map_err(|e| e.to_string())?;
    let out = base_command(suricata, &rules, dir.path())
        .arg("--engine-analysis")
        .output()
        .map_err(|e| e.to_string())?;
    let json = std::fs::read_to_string(dir.path().join("rules.json")).map_err(|e| {
        format!(
            "no rules.json from --engine-analysis ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let mut seen = Vec::new();
    for line in json.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(u64::MAX);
        let msg = v.get("msg").and_then(|m| m.as_str()).map(str::to_owned);
        seen.push((n("gid"), n("id"), n("rev"), msg));
    }
    Ok(seen)
}
