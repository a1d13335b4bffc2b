//! Plain-text rendering of JSON answers: fields as text, aligned tables.

use serde_json::Value;
use stella_client::ClientError;

/// A field as text: strings bare, lists comma-separated, missing or null as "-".
pub fn field(v: &Value, key: &str) -> String {
    match v.get(key) {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) if s.is_empty() => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) if a.is_empty() => "-".into(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

/// A string the command cannot do without (a secret, an id): its absence means the answer is
/// not what this tool understands, which is exit 2.
pub fn required<'a>(v: &'a Value, key: &str) -> Result<&'a str, ClientError> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ClientError::Failed(format!("the server's answer has no {key:?}: {v}")))
}

/// The `data` array of a list answer.
pub fn rows(v: &Value) -> Result<&Vec<Value>, ClientError> {
    v.get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| ClientError::Failed(format!("the server's answer has no data list: {v}")))
}

pub fn print_json(v: &Value) -> Result<(), ClientError> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| ClientError::Failed(format!("cannot print the answer: {e}")))?;
    println!("{text}");
    Ok(())
}

/// Prints `label: value` lines with the values aligned.
pub fn print_fields(fields: &[(&str, String)]) {
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    for (k, v) in fields {
        println!("  {:<width$} {v}", format!("{k}:"));
    }
}

/// Prints a table with one column per `keys` entry, headed by the upper-case `headers`.
pub fn print_table(headers: &[&str], keys: &[&str], items: &[Value]) {
    let cells: Vec<Vec<String>> = items
        .iter()
        .map(|item| keys.iter().map(|k| field(item, k)).collect())
        .collect();
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |row: &[String]| {
        let padded: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(&headers.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for row in &cells {
        line(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_render_as_text() {
        let v = json!({"s": "a", "n": 3, "l": ["x", "y"], "e": [], "z": null, "b": false});
        assert_eq!(field(&v, "s"), "a");
        assert_eq!(field(&v, "n"), "3");
        assert_eq!(field(&v, "l"), "x,y");
        assert_eq!(field(&v, "e"), "-");
        assert_eq!(field(&v, "z"), "-");
        assert_eq!(field(&v, "missing"), "-");
        assert_eq!(field(&v, "b"), "false");
        assert!(required(&v, "n").is_err());
    }
}
