//! SBOM bodies as `POST /scan` and santech read them (`stella_sbom::parse`), and the purl
//! parser on the same bytes. Invariants: every input is read or refused with an error; what
//! is read stays within the limits, every component has a name, every purl is canonical (its
//! display parses back to itself), and a declared type reads a document exactly as detection
//! does.
#![no_main]

use stella_sbom::{Limits, Purl};

fn canonical(purl: &Purl) {
    let text = purl.to_string();
    let again = Purl::parse(&text).expect("a purl's display parses");
    assert_eq!(&again, purl, "{text}");
    assert_eq!(again.to_string(), text);
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_components: 1_000,
        ..Limits::default()
    };
    if let Ok(sbom) = stella_sbom::parse(data, &limits) {
        assert!(sbom.components.len() <= limits.max_components);
        for c in &sbom.components {
            assert!(!c.name.is_empty());
            if let Some(p) = &c.purl {
                canonical(p);
            }
        }
        let declared = stella_sbom::parse_as(data, sbom.kind, &limits).expect("declared as detected");
        assert_eq!(declared, sbom);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = Purl::parse(text) {
            canonical(&p);
        }
    }
});
