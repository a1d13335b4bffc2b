//! The Lucene `query_string` parser, alone and inside a request, on any UTF-8 text.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        stella_search::fuzzing::query_string(text);
    }
});
