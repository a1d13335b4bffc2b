//! The Elasticsearch `_search` body parser: any bytes that are JSON parse or are refused.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| stella_search::fuzzing::search_request(data));
