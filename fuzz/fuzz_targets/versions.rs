//! Version parsing and ordering (`stella_vers`): two lines of any UTF-8 text, parsed under every
//! scheme; parsing never panics, and two parsed versions compare reflexively and antisymmetrically.
#![no_main]
use std::cmp::Ordering;

use stella_vers::{Scheme, VersionScheme};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_once('\n').unwrap_or((text, ""));
    for scheme in Scheme::ALL {
        let (Ok(va), Ok(vb)) = (scheme.parse(a), scheme.parse(b)) else {
            continue;
        };
        assert_eq!(va.cmp(&va), Ordering::Equal, "{scheme}: {a:?} not equal to itself");
        assert_eq!(va.cmp(&vb), vb.cmp(&va).reverse(), "{scheme}: {a:?} vs {b:?} not antisymmetric");
        assert_eq!(scheme.compare(a, b).ok(), Some(va.cmp(&vb)), "{scheme}: compare() disagrees with Ord");
    }
});
