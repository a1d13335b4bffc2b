//! Request bodies as the server reads them: JSON bodies into each request type and resource,
//! query strings, OAuth forms, Basic credentials, and activity-log redaction.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| stella_server::fuzzing::request(data));
