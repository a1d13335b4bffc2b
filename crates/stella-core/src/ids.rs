//! Identifiers are 32 lowercase hex characters (a v4 UUID without dashes), the shape the
//! XDR API's tenant ids have.

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// True when `s` could be an id we issued. Lets handlers answer 404 for garbage early.
pub fn looks_like_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_and_unique() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(looks_like_id(&a));
        assert!(!looks_like_id("../etc"));
    }
}
