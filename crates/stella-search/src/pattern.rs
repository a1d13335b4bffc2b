//! Which partitions a search reads: those whose dated name (`aella-ser-2026.11.30`) an index
//! pattern of the request path selects (`aella-ser-*`, `aella-ser-2026.11.*`, a comma list;
//! `aella-ser`, `events`, `*` and `_all` select every day), and whose day the query's
//! event-time range can reach, as Elasticsearch skips shards whose timestamps a range
//! excludes.

use std::ops::Bound;

use crate::dsl::query::Query;
use crate::tenants::{day_name, Day, DAY_MS};

/// Whether `pattern` (a request path's index part) selects the partition of `day`.
pub(crate) fn selects(pattern: &str, day: Day) -> bool {
    let name = format!("{}-{}", crate::INDEX_NAME, day_name(day));
    pattern.split(',').any(|part| {
        matches!(part, "events" | "*" | "_all" | crate::INDEX_NAME) || glob(part, &name)
    })
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == n[j] {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == b'*')
}

/// The event-time window (inclusive ms) every match of `q` falls in, as far as its required
/// clauses say; `None` when it can match nothing.
pub(crate) fn time_window(q: &Query) -> Option<(i64, i64)> {
    match q {
        Query::MatchNone => None,
        Query::TimeRange(lo, hi) => {
            let lo = match lo {
                Bound::Included(v) => *v,
                Bound::Excluded(v) => v.saturating_add(1),
                Bound::Unbounded => i64::MIN,
            };
            let hi = match hi {
                Bound::Included(v) => *v,
                Bound::Excluded(v) => v.saturating_sub(1),
                Bound::Unbounded => i64::MAX,
            };
            (lo <= hi).then_some((lo, hi))
        }
        Query::Bool(b) => {
            let mut w = (i64::MIN, i64::MAX);
            for c in b.must.iter().chain(&b.filter) {
                let (lo, hi) = time_window(c)?;
                w = (w.0.max(lo), w.1.min(hi));
            }
            (w.0 <= w.1).then_some(w)
        }
        Query::ConstantScore(q, _) | Query::Boost(q, _) => time_window(q),
        _ => Some((i64::MIN, i64::MAX)),
    }
}

/// Whether the partition of `day` holds any time in `window`.
pub(crate) fn day_in(day: Day, window: Option<(i64, i64)>) -> bool {
    let Some((lo, hi)) = window else {
        return false;
    };
    let start = i64::from(day) * DAY_MS;
    let end = start + DAY_MS - 1;
    start <= hi && lo <= end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsl::query::BoolQuery;
    use crate::tenants::day_of;

    fn day(date: &str) -> Day {
        let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        day_of(d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis())
    }

    #[test]
    fn patterns_select_days_by_their_dated_names() {
        let d = day("2026-11-30");
        for yes in [
            "aella-ser",
            "aella-ser*",
            "aella-ser-*",
            "aella-ser-2026.11.30",
            "aella-ser-2026.11.*",
            "aella-ser-2026.*",
            "aella-ser-2025.*,aella-ser-2026.11.3*",
            "events",
            "*",
            "_all",
        ] {
            assert!(selects(yes, d), "{yes}");
        }
        for no in [
            "aella-ser-2026.11.29",
            "aella-ser-2026.12.*",
            "aella-ser-2025.*",
            "aella-ser-2026.11",
        ] {
            assert!(!selects(no, d), "{no}");
        }
    }

    #[test]
    fn required_time_ranges_bound_the_days_read() {
        let d = day("2026-11-30");
        let start = i64::from(d) * DAY_MS;
        let range = |lo, hi| Query::TimeRange(Bound::Included(lo), Bound::Excluded(hi));
        assert!(day_in(d, time_window(&range(start, start + 1))));
        assert!(!day_in(d, time_window(&range(start + DAY_MS, i64::MAX))));
        assert!(!day_in(d, time_window(&range(0, start))));
        let both = Query::Bool(Box::new(BoolQuery {
            filter: vec![range(0, start + 10), range(start + 5, i64::MAX)],
            ..BoolQuery::default()
        }));
        assert_eq!(time_window(&both), Some((start + 5, start + 9)));
        // A range only in `should` does not bound anything.
        let optional = Query::Bool(Box::new(BoolQuery {
            should: vec![range(0, 1)],
            ..BoolQuery::default()
        }));
        assert!(day_in(d, time_window(&optional)));
        assert!(!day_in(d, time_window(&Query::MatchNone)));
    }
}
