//! The write-ahead-log reader on damaged segments, and record encode/decode round trips.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| stella_search::fuzzing::wal_segment(data));
