//! Ingest parsing: the flat event tape against serde_json, and bulk bodies split into events.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        stella_search::fuzzing::tape(text);
    }
    stella_search::fuzzing::bulk(data);
});
