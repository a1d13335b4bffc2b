//! Field-level validation errors, reported as `errors: [{"path": "$.field", "msg": …}]`.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub path: String,
    pub msg: String,
}

impl FieldError {
    /// `path` is a field name (`email`) or already a JSON path (`$.rules[0]`).
    pub fn new(path: impl Into<String>, msg: impl Into<String>) -> Self {
        let path = path.into();
        let path = if path.starts_with('$') {
            path
        } else {
            format!("$.{path}")
        };
        Self {
            path,
            msg: msg.into(),
        }
    }
}

/// A deliberately simple address check: one `@`, something on each side, a dot in the domain,
/// no whitespace, bounded length. Deliverability is not our business; shape is.
pub fn is_plausible_email(s: &str) -> bool {
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_PASSWORD_LEN: usize = 1024;

pub fn check_password(path: &str, password: &str) -> Option<FieldError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        Some(FieldError::new(
            path,
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ))
    } else if password.len() > MAX_PASSWORD_LEN {
        Some(FieldError::new(
            path,
            format!("must be at most {MAX_PASSWORD_LEN} bytes"),
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails() {
        assert!(is_plausible_email("ada@example.com"));
        assert!(!is_plausible_email("ada@example"));
        assert!(!is_plausible_email("ada example.com"));
        assert!(!is_plausible_email("@example.com"));
        assert!(!is_plausible_email("a@b@c.com"));
    }

    #[test]
    fn paths_are_json_paths() {
        assert_eq!(FieldError::new("email", "x").path, "$.email");
        assert_eq!(FieldError::new("$.a[0]", "x").path, "$.a[0]");
    }

    proptest! {
        #[test]
        fn email_check_never_panics(s in ".{0,300}") {
            let _ = is_plausible_email(&s);
        }
    }
}
