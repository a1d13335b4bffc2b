//! VEX documents (OpenVEX, CycloneDX VEX) as imports and `POST /scan` read them. Invariants:
//! every input is read or refused with one of the four error codes; what is read stays within
//! the limits; a lookup in the merged set never panics and only returns a statement that
//! suppresses.
#![no_main]

use stella_vex::{Limits, VexSet};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_statements: 64,
        max_products: 64,
        max_components: 256,
        ..Limits::default()
    };
    match stella_vex::parse(data, &limits) {
        Ok(doc) => {
            assert!(doc.statements.len() <= limits.max_statements);
            for s in &doc.statements {
                let n: usize = s.products.iter().map(|p| 1 + p.subcomponents.len()).sum();
                assert!(n <= limits.max_products);
                assert!(s.aliases.len() <= limits.max_aliases);
            }
            let set = VexSet::new([doc]);
            let aliases = ["GHSA-aaaa-bbbb-cccc".to_owned()];
            if let Some(s) = set.suppression("CVE-2023-1", &aliases, Some("pkg:npm/a@1?x=y")) {
                assert!(s.status.suppresses());
            }
        }
        Err(e) => assert!(matches!(
            e.code(),
            "vex-not-json" | "vex-unknown-format" | "vex-too-large" | "vex-invalid"
        )),
    }
});
