//! Helpers shared by the integration tests (each test file includes this as a module).
#![allow(dead_code)]

use std::path::PathBuf;

use stella_sbom::{Component, Limits, Sbom, SbomError};

pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn parse(bytes: &[u8]) -> Result<Sbom, SbomError> {
    stella_sbom::parse(bytes, &Limits::default())
}

/// One line per component, `-` for absent fields, so a whole list compares at a glance:
/// `name | version | purl | ecosystem | source name | source version | layer | bom-ref`.
pub fn row(c: &Component) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    format!(
        "{} | {} | {} | {} | {} | {} | {} | {}",
        c.name,
        o(&c.version),
        c.purl.as_ref().map_or("-".to_owned(), |p| p.to_string()),
        o(&c.ecosystem),
        o(&c.source_name),
        o(&c.source_version),
        o(&c.layer),
        o(&c.bom_ref),
    )
}

pub fn rows(sbom: &Sbom) -> Vec<String> {
    sbom.components.iter().map(row).collect()
}

/// The error code of a failed parse; a successful parse fails the test.
pub fn code(result: Result<Sbom, SbomError>) -> (&'static str, String) {
    match result {
        Ok(sbom) => panic!(
            "expected an error, got {} components",
            sbom.components.len()
        ),
        Err(e) => (e.code(), e.to_string()),
    }
}
