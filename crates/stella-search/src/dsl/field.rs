//! What a field name in a request refers to in the schema.

use crate::error::SearchError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    /// `timestamp` or `@timestamp`: the event time (a date).
    Timestamp,
    /// `_id`.
    Id,
    /// A dotted path into the event (`user.name`). A trailing `.keyword` is dropped: every
    /// string up to 256 characters is already indexed as an exact keyword, as the dynamic
    /// mapping's `field.keyword` sub-field would be in Elasticsearch.
    Path(String),
}

pub(crate) const MAX_FIELD_LEN: usize = 256;

pub fn resolve(name: &str, at: &str) -> Result<FieldRef, SearchError> {
    if name.is_empty() {
        return Err(SearchError::invalid(format!("{at}: field name is empty")));
    }
    if name.len() > MAX_FIELD_LEN || name.chars().any(char::is_control) {
        return Err(SearchError::invalid(format!(
            "{at}: field name is longer than {MAX_FIELD_LEN} bytes or has control characters"
        )));
    }
    if name.contains('*') || name.contains('?') {
        return Err(SearchError::unsupported(format!(
            "{at}: wildcard field names ({name:?}) are not supported"
        )));
    }
    match name {
        "timestamp" | "@timestamp" => return Ok(FieldRef::Timestamp),
        "_id" => return Ok(FieldRef::Id),
        _ => {}
    }
    if name.starts_with('_') && !name.contains('.') {
        return Err(SearchError::unsupported(format!(
            "{at}: metadata field {name} cannot be used here"
        )));
    }
    let path = name.strip_suffix(".keyword").unwrap_or(name);
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(SearchError::invalid(format!(
            "{at}: field name {name:?} has an empty path segment"
        )));
    }
    Ok(FieldRef::Path(path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve() {
        assert_eq!(resolve("@timestamp", "q").ok(), Some(FieldRef::Timestamp));
        assert_eq!(resolve("_id", "q").ok(), Some(FieldRef::Id));
        assert_eq!(
            resolve("user.name.keyword", "q").ok(),
            Some(FieldRef::Path("user.name".into()))
        );
        assert!(matches!(
            resolve("_index", "q"),
            Err(SearchError::Unsupported(_))
        ));
        assert!(matches!(resolve("a..b", "q"), Err(SearchError::Invalid(_))));
        assert!(matches!(
            resolve("src*", "q"),
            Err(SearchError::Unsupported(_))
        ));
        assert!(matches!(resolve("", "q"), Err(SearchError::Invalid(_))));
    }
}
