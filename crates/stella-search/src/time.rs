//! Dates: event timestamps and `range` bounds (epoch milliseconds, RFC 3339, and Elasticsearch
//! date math such as `now-24h` or `2024-01-01||+1M/d`). Nothing here reads the clock: `now`
//! is passed in.

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Tantivy stores dates as i64 nanoseconds, so milliseconds must stay within about ±292 years
/// of 1970; anything outside this window is refused (events) or clamped (query bounds).
pub const MIN_MS: i64 = -9_000_000_000_000;
pub const MAX_MS: i64 = 9_000_000_000_000;

/// Parses epoch milliseconds (a digit string), RFC 3339 (also with a `+hhmm` offset, as
/// Suricata's EVE JSON has it), `YYYY-MM-DDTHH:MM:SS[.fff]` (UTC) or
/// `YYYY-MM-DD` (UTC midnight): the `strict_date_optional_time||epoch_millis` of Elasticsearch.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok().filter(|ms| in_range(*ms));
    }
    let ms = if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        dt.timestamp_millis()
    } else if let Ok(dt) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        // ISO 8601 with a colon-less offset, as Suricata's EVE writes it (`+0000`).
        dt.timestamp_millis()
    } else if let Ok(dt) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        dt.and_utc().timestamp_millis()
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis()
    } else {
        return None;
    };
    in_range(ms).then_some(ms)
}

/// A JSON date: a number of epoch milliseconds or a string `parse_date` accepts.
pub fn date_from_json(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => {
            let ms = if let Some(i) = n.as_i64() {
                i
            } else {
                let f = n.as_f64()?;
                if !f.is_finite() || f.abs() > MAX_MS as f64 {
                    return None;
                }
                f.trunc() as i64
            };
            in_range(ms).then_some(ms)
        }
        serde_json::Value::String(s) => parse_date(s),
        _ => None,
    }
}

fn in_range(ms: i64) -> bool {
    (MIN_MS..=MAX_MS).contains(&ms)
}

/// Evaluates a date-math expression. `round_up` selects how `/unit` rounds: Elasticsearch
/// rounds `gt` and `lte` bounds up to the last millisecond of the unit, `gte` and `lt` down.
pub fn eval_date_math(expr: &str, now_ms: i64, round_up: bool) -> Result<i64, String> {
    let expr = expr.trim();
    let (base, ops) = if let Some(rest) = expr.strip_prefix("now") {
        (now_ms.clamp(MIN_MS, MAX_MS), rest)
    } else if let Some((date, rest)) = expr.split_once("||") {
        (parse_date(date).ok_or_else(|| bad_date(date))?, rest)
    } else {
        return parse_date(expr).ok_or_else(|| bad_date(expr));
    };
    apply_ops(base, ops, round_up).ok_or_else(|| {
        format!("cannot evaluate date math {expr:?} (operators: +N<unit>, -N<unit>, /<unit>; units: y M w d h H m s)")
    })
}

fn bad_date(s: &str) -> String {
    format!(
        "cannot parse {s:?} as a date (epoch milliseconds, RFC 3339, YYYY-MM-DD, or now±N<unit>)"
    )
}

fn apply_ops(mut ms: i64, ops: &str, round_up: bool) -> Option<i64> {
    // Bytes, not str slices: a multi-byte character anywhere must fail, not split a char.
    let mut ops = ops.as_bytes();
    while let Some((&op, rest)) = ops.split_first() {
        ops = rest;
        match op {
            b'+' | b'-' => {
                let digits = ops.iter().take_while(|b| b.is_ascii_digit()).count();
                // An omitted number means 1, as in Elasticsearch (`now-d`).
                let mut n: i64 = if digits == 0 { 1 } else { 0 };
                for b in &ops[..digits] {
                    n = n.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
                }
                let (&unit, rest) = ops[digits..].split_first()?;
                ops = rest;
                let n = if op == b'-' { n.checked_neg()? } else { n };
                ms = add_units(ms, n, unit)?;
            }
            b'/' => {
                let (&unit, rest) = ops.split_first()?;
                ops = rest;
                ms = round(ms, unit, round_up)?;
            }
            _ => return None,
        }
    }
    in_range(ms).then_some(ms)
}

fn fixed_unit_ms(unit: u8) -> Option<i64> {
    Some(match unit {
        b's' => 1_000,
        b'm' => 60_000,
        b'h' | b'H' => 3_600_000,
        b'd' => 86_400_000,
        b'w' => 7 * 86_400_000,
        _ => return None,
    })
}

fn to_datetime(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

fn add_units(ms: i64, n: i64, unit: u8) -> Option<i64> {
    let months = match unit {
        b'y' => n.checked_mul(12)?,
        b'M' => n,
        _ => return ms.checked_add(n.checked_mul(fixed_unit_ms(unit)?)?),
    };
    let dt = to_datetime(ms)?;
    let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    let dt = if months >= 0 {
        dt.checked_add_months(m)?
    } else {
        dt.checked_sub_months(m)?
    };
    Some(dt.timestamp_millis())
}

/// Floors `ms` to the start of the unit (weeks start on Monday), or with `up`, moves to the last
/// millisecond of that unit.
fn round(ms: i64, unit: u8, up: bool) -> Option<i64> {
    let dt = to_datetime(ms)?;
    let day = dt.date_naive();
    let start: DateTime<Utc> = match unit {
        b'y' => NaiveDate::from_ymd_opt(day.year(), 1, 1)?
            .and_hms_opt(0, 0, 0)?
            .and_utc(),
        b'M' => NaiveDate::from_ymd_opt(day.year(), day.month(), 1)?
            .and_hms_opt(0, 0, 0)?
            .and_utc(),
        b'w' => {
            let back = i64::from(day.weekday().num_days_from_monday());
            (day - chrono::Duration::days(back))
                .and_hms_opt(0, 0, 0)?
                .and_utc()
        }
        _ => {
            let unit_ms = fixed_unit_ms(unit)?;
            let floored = ms.div_euclid(unit_ms) * unit_ms;
            return Some(if up { floored + unit_ms - 1 } else { floored });
        }
    };
    if !up {
        return Some(start.timestamp_millis());
    }
    let next = match unit {
        b'y' => start.checked_add_months(Months::new(12))?,
        b'M' => start.checked_add_months(Months::new(1))?,
        _ => start + chrono::Duration::days(7),
    };
    Some(next.timestamp_millis() - 1)
}

/// RFC 3339 with milliseconds, UTC (`2024-05-01T12:00:00.000Z`).
pub fn format_ms(ms: i64) -> String {
    to_datetime(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_714_564_800_000; // 2024-05-01T12:00:00Z, a Wednesday

    #[test]
    fn parses_the_accepted_formats() {
        assert_eq!(parse_date("1714564800000"), Some(T));
        assert_eq!(parse_date("2024-05-01T12:00:00Z"), Some(T));
        assert_eq!(parse_date("2024-05-01T14:00:00+02:00"), Some(T));
        assert_eq!(parse_date("2024-05-01T12:00:00.000"), Some(T));
        // Suricata's EVE (and other ISO 8601 writers) put no colon in the offset.
        assert_eq!(parse_date("2024-05-01T12:00:00.000000+0000"), Some(T));
        assert_eq!(parse_date("2024-05-01T14:00:00.250+0200"), Some(T + 250));
        assert_eq!(parse_date("2024-05-01T12:00:00+0000"), Some(T));
        assert_eq!(parse_date("2024-05-01T12:00:00+00"), None);
        assert_eq!(parse_date("2024-05-01"), Some(T - 12 * 3_600_000));
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("99999999999999999999"), None);
        assert_eq!(date_from_json(&serde_json::json!(1.5e3)), Some(1500));
        assert_eq!(date_from_json(&serde_json::json!(1e300)), None);
        assert_eq!(date_from_json(&serde_json::json!(true)), None);
    }

    #[test]
    fn date_math_adds_and_rounds() {
        assert_eq!(eval_date_math("now", T, false), Ok(T));
        assert_eq!(eval_date_math("now-24h", T, false), Ok(T - 86_400_000));
        assert_eq!(eval_date_math("now-1d/d", T, false), Ok(1_714_435_200_000));
        assert_eq!(eval_date_math("now/d", T, true), Ok(1_714_607_999_999));
        assert_eq!(
            eval_date_math("2024-01-31||+1M", T, false),
            parse_date("2024-02-29").ok_or(String::new())
        );
        assert_eq!(
            eval_date_math("now/w", T, false),
            parse_date("2024-04-29").ok_or(String::new())
        );
        assert_eq!(
            eval_date_math("now/y", T, true),
            Ok(parse_date("2025-01-01").unwrap_or(0) - 1)
        );
        assert!(eval_date_math("now-1x", T, false).is_err());
        assert!(eval_date_math("now-99999999999999999999d", T, false).is_err());
        assert!(eval_date_math("now+9999999999y", T, false).is_err());
        assert!(eval_date_math("now-", T, false).is_err());
    }
}
