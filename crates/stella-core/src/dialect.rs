//! The HTTP dialects the resource engine speaks, as pure translations of their list
//! parameters into the one dialect-neutral [`ListQuery`] (and the page checks each dialect
//! makes once the total is known). The storage and service halves of the engine only ever see
//! a `ListQuery`; envelopes and paths are the HTTP layer's.
//!
//! - [`Dialect::Xdr`]: the Open XDR contract at `/connect/api/v1`: `limit`/`offset`,
//!   `sort`/`order`, filters by field; unknown parameters are refused (400) so that a typo in
//!   a filter does not silently return everything.
//! - [`Dialect::Drf`]: Django REST framework's habits at `/rest/`: `page` (1-based) and
//!   `page_size`, `ordering` (`field`, `-field`, several comma-separated), `search` keywords,
//!   exact-match filters by field; the key is called `pk`; unknown parameters and unknown
//!   ordering fields are ignored, as DRF's `OrderingFilter` and django-filter ignore them.

use crate::error::CoreError;
use crate::resource::{
    Bound, FieldType, FieldValue, Key, ListQuery, Order, ReadOnlyMembers, ResourceSpec,
    DEFAULT_PAGE, MAX_OFFSET,
};
use crate::validate::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Xdr,
    Drf,
}

/// Django REST framework's page size here, as the spec has it (30 results a page).
pub const DRF_PAGE_SIZE: i64 = 30;
/// `search` keywords one list request may carry.
pub const MAX_SEARCH_TERMS: usize = 32;
/// What Django REST framework answers for a page that is not there (404).
pub const INVALID_PAGE: &str = "Invalid page.";

impl Dialect {
    /// Translates list parameters (in the order received) into the neutral query, with page
    /// sizes bounded by `max_page`.
    pub fn list_query(
        self,
        spec: &ResourceSpec,
        params: &[(String, String)],
        max_page: i64,
    ) -> Result<ListQuery, CoreError> {
        match self {
            Dialect::Xdr => xdr_list(spec, params, max_page),
            Dialect::Drf => drf_list(spec, params, max_page),
        }
    }

    /// The check a dialect makes once the total is known: Django REST framework answers 404
    /// "Invalid page." for a page past the last (page 1 always exists, even empty); the XDR
    /// contract answers an empty page.
    pub fn check_window(self, q: &ListQuery, total: i64) -> Result<(), CoreError> {
        match self {
            Dialect::Drf if q.offset > 0 && q.offset >= total => {
                Err(CoreError::NotFound(INVALID_PAGE.into()))
            }
            _ => Ok(()),
        }
    }

    /// What this dialect calls an object's key on the wire.
    pub fn key_name(self) -> &'static str {
        match self {
            Dialect::Xdr => "id",
            Dialect::Drf => "pk",
        }
    }

    pub fn read_only_members(self) -> ReadOnlyMembers {
        match self {
            Dialect::Xdr => ReadOnlyMembers::Refuse,
            Dialect::Drf => ReadOnlyMembers::Ignore,
        }
    }
}

/// The offset of the last page of `total` rows in pages of `limit` (0 when there are none).
pub fn last_page_offset(total: i64, limit: i64) -> i64 {
    if limit <= 0 || total <= 0 {
        return 0;
    }
    (total - 1) / limit * limit
}

/// A decimal integer, saturated to the `i64` range when it has more digits than fit.
fn saturating_int(v: &str) -> Option<i64> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(v.parse::<i64>().unwrap_or(if v.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

/// The XDR contract's list parameters. Unknown parameters are refused so that a typo in a
/// filter does not silently return everything.
fn xdr_list(
    spec: &ResourceSpec,
    params: &[(String, String)],
    max_page: i64,
) -> Result<ListQuery, CoreError> {
    let mut q = ListQuery::new(spec, DEFAULT_PAGE.min(max_page));
    let mut errors = Vec::new();
    for (k, v) in params {
        match k.as_str() {
            // The contract bounds neither, so any integer is taken and clamped into range
            // (0 answers only the total); the envelope says what was applied.
            "limit" => match saturating_int(v) {
                Some(n) => q.limit = n.clamp(0, max_page),
                None => errors.push(FieldError::new("limit", "must be an integer")),
            },
            "offset" => match saturating_int(v) {
                Some(n) => q.offset = n.clamp(0, MAX_OFFSET),
                None => errors.push(FieldError::new("offset", "must be an integer")),
            },
            "sort" => match spec.sort_column(v) {
                Some(n) => q.ordering[0].0 = n,
                None => errors.push(FieldError::new(
                    "sort",
                    format!("cannot sort {} by '{v}'", spec.name),
                )),
            },
            "order" => match v.to_ascii_lowercase().as_str() {
                "asc" => q.ordering[0].1 = Order::Asc,
                "desc" => q.ordering[0].1 = Order::Desc,
                _ => errors.push(FieldError::new("order", "must be 'asc' or 'desc'")),
            },
            "tenantid" | "tenant_id" => q.tenant_id = Some(v.clone()),
            "id" => match (spec.key, spec.key_value(v)) {
                (_, Some(key)) => q.filters.push(("id", key)),
                // Not an id this resource could have: a text id matches nothing as is.
                (Key::Generated, None) => q.filters.push(("id", FieldValue::Text(v.clone()))),
                (Key::Serial { .. }, None) => {
                    errors.push(FieldError::new("id", "must be a positive integer"))
                }
            },
            other => match spec.fields.iter().find(|f| f.name == other && f.filterable) {
                Some(f) => match ResourceSpec::filter_value(f, v) {
                    Ok(value) => q.filters.push((f.name, value)),
                    Err(e) => errors.push(e),
                },
                None => errors.push(FieldError::new(
                    other,
                    format!(
                        "is not a parameter of this list; use limit, offset, sort, order, tenantid{}",
                        spec.filter_names()
                    ),
                )),
            },
        }
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(CoreError::Invalid(errors))
    }
}

/// Django REST framework's list parameters (`PageNumberPagination` with `page_size`,
/// `OrderingFilter`, `SearchFilter`, django-filter's exact filters). A parameter given twice
/// counts once, with its last value (Django's `QueryDict.get`).
fn drf_list(
    spec: &ResourceSpec,
    params: &[(String, String)],
    max_page: i64,
) -> Result<ListQuery, CoreError> {
    let last = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // A page size that is not a positive integer is DRF's default; a larger one its maximum.
    let size = match last("page_size").map(|v| v.trim().parse::<i64>()) {
        Some(Ok(n)) if n > 0 => n.min(max_page),
        _ => DRF_PAGE_SIZE.min(max_page),
    }
    .max(1);
    let mut q = ListQuery::new(spec, size);
    let invalid_page = || CoreError::NotFound(INVALID_PAGE.into());
    match last("page").map(str::trim) {
        None => {}
        Some("last") => q.last_page = true,
        Some(v) => {
            let n = v.parse::<i64>().map_err(|_| invalid_page())?;
            if n < 1 {
                return Err(invalid_page());
            }
            // Past any total anyway: the page check answers 404 once the total is known.
            q.offset = (n - 1).checked_mul(size).ok_or_else(invalid_page)?;
        }
    }

    if let Some(v) = last("ordering") {
        let mut ordering: Vec<(&'static str, Order)> = Vec::new();
        for term in v.split(',').map(str::trim) {
            let (name, order) = match term.strip_prefix('-') {
                Some(n) => (n, Order::Desc),
                None => (term, Order::Asc),
            };
            // The key is `pk` here; any other unknown name is ignored, as DRF does.
            let column = match name {
                "pk" => Some("id"),
                "id" => None,
                n => spec.sort_column(n),
            };
            if let Some(c) = column {
                if !ordering.iter().any(|(seen, _)| *seen == c) {
                    ordering.push((c, order));
                }
            }
        }
        if !ordering.is_empty() {
            q.ordering = ordering;
        }
    }

    if let Some(v) = last("search") {
        if spec.search_fields().next().is_some() {
            let terms: Vec<String> = v
                .split(|c: char| c == ',' || c.is_whitespace() || c == '\0')
                .filter(|t| !t.is_empty())
                .map(str::to_lowercase)
                .collect();
            if terms.len() > MAX_SEARCH_TERMS {
                return Err(CoreError::invalid(
                    "search",
                    format!("must have at most {MAX_SEARCH_TERMS} keywords"),
                ));
            }
            q.search = terms;
        }
    }

    let mut errors = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (k, _) in params {
        if seen.contains(&k.as_str()) {
            continue;
        }
        seen.push(k);
        let v = last(k).unwrap_or_default();
        match k.as_str() {
            "page" | "page_size" | "ordering" | "search" => {}
            "pk" => match spec.key_value(v.trim()) {
                Some(key) => q.filters.push(("id", key)),
                None => match spec.key {
                    Key::Serial { .. } => errors.push(FieldError::new("pk", "must be a number")),
                    Key::Generated => q.filters.push(("id", FieldValue::Text(v.to_owned()))),
                },
            },
            "tenant_id" if spec.tenancy.has_tenant_column() => q.tenant_id = Some(v.to_owned()),
            other
                if Bound::split(other).is_some_and(|(name, _)| {
                    spec.fields.iter().any(|f| {
                        f.name == name
                            && f.filterable
                            && matches!(
                                f.ty,
                                FieldType::Timestamp | FieldType::Int { .. } | FieldType::Float
                            )
                    })
                }) =>
            {
                let Some((name, bound)) = Bound::split(other) else {
                    continue;
                };
                let Some(f) = spec.field(name) else {
                    continue;
                };
                match ResourceSpec::filter_value(f, v) {
                    Ok(value) => q.ranges.push((f.name, bound, value)),
                    Err(e) => errors.push(FieldError::new(other, e.msg)),
                }
            }
            other => {
                if let Some(f) = spec.fields.iter().find(|f| f.name == other && f.filterable) {
                    let v = match v {
                        "True" | "1" if matches!(f.ty, crate::resource::FieldType::Bool) => "true",
                        "False" | "0" if matches!(f.ty, crate::resource::FieldType::Bool) => {
                            "false"
                        }
                        v => v,
                    };
                    match ResourceSpec::filter_value(f, v) {
                        Ok(value) => q.filters.push((f.name, value)),
                        Err(e) => errors.push(e),
                    }
                }
                // Anything else (`format`, a field that is not filterable) is ignored.
            }
        }
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(CoreError::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{DefaultValue, FieldSpec, ResourceSpec, Tenancy, CRUD};
    use proptest::prelude::*;

    static SPEC: ResourceSpec = ResourceSpec::owned(
        "cases",
        "Case",
        "Cases",
        &[
            FieldSpec::text("name", 200).required().searchable(),
            FieldSpec::enumeration("status", &["open", "closed"])
                .with_default(DefaultValue::Text("open")),
            FieldSpec::int("score", 0, 100),
            FieldSpec::int("alert_count", 0, i64::MAX).read_only(),
            FieldSpec::text("notes", 100).searchable(),
            FieldSpec::boolean("enabled"),
        ],
        ("cases:read", "cases:write"),
    )
    .tenancy(Tenancy::Owned)
    .ops(CRUD);

    static PROBES: ResourceSpec = ResourceSpec::owned(
        "appliances/suricata_appliance",
        "SuricataAppliance",
        "Probes",
        &[FieldSpec::text("name", 100).required()],
        ("probes:read", "probes:write"),
    )
    .serial("appliances")
    .default_sort("id", Order::Asc);

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    fn errors(r: Result<ListQuery, CoreError>) -> Vec<String> {
        match r {
            Err(CoreError::Invalid(e)) => e.into_iter().map(|e| e.path).collect(),
            other => panic!("expected validation errors, got {other:?}"),
        }
    }

    #[test]
    fn xdr_parses_paging_sort_and_filters() {
        let q = Dialect::Xdr.list_query(
            &SPEC,
            &p(&[
                ("limit", "10"),
                ("sort", "score"),
                ("order", "desc"),
                ("status", "open"),
                ("tenantid", "t"),
            ]),
            1000,
        );
        let q = q.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (q.limit, q.ordering.clone()),
            (10, vec![("score", Order::Desc)])
        );
        assert_eq!(q.filters, vec![("status", FieldValue::Text("open".into()))]);
        assert_eq!(q.tenant_id.as_deref(), Some("t"));
        assert_eq!(
            errors(Dialect::Xdr.list_query(
                &SPEC,
                &p(&[("limit", "x"), ("sort", "password"), ("bogus", "1")]),
                1000
            )),
            vec!["$.limit", "$.sort", "$.bogus"]
        );
        let clamped =
            Dialect::Xdr.list_query(&SPEC, &p(&[("limit", "1001"), ("offset", "-5")]), 1000);
        assert_eq!(clamped.map(|q| (q.limit, q.offset)).ok(), Some((1000, 0)));
        let huge =
            Dialect::Xdr.list_query(&SPEC, &p(&[("limit", "87737424123944499433290418")]), 1000);
        assert_eq!(huge.map(|q| q.limit).ok(), Some(1000));
        assert_eq!(
            Dialect::Xdr
                .list_query(&SPEC, &p(&[("score", "7")]), 1000)
                .map(|q| q.filters)
                .ok(),
            Some(vec![("score", FieldValue::Int(7))])
        );
        // The default: newest first, 50 a page.
        let q = Dialect::Xdr.list_query(&SPEC, &[], 1000).ok();
        assert_eq!(
            q.map(|q| (q.limit, q.offset, q.ordering)),
            Some((50, 0, vec![("created_at", Order::Desc)]))
        );
    }

    #[test]
    fn drf_pages_are_numbered_from_one_30_by_default_and_bounded() {
        let q = |pairs: &[(&str, &str)]| Dialect::Drf.list_query(&SPEC, &p(pairs), 100);
        let window = |pairs: &[(&str, &str)]| q(pairs).map(|q| (q.limit, q.offset)).ok();
        assert_eq!(window(&[]), Some((30, 0)));
        assert_eq!(window(&[("page", "3")]), Some((30, 60)));
        assert_eq!(
            window(&[("page", "2"), ("page_size", "10")]),
            Some((10, 10))
        );
        // Bounded by the configured maximum; a size that is not a positive integer is the default.
        assert_eq!(window(&[("page_size", "5000")]), Some((100, 0)));
        for bad in ["0", "-3", "x", ""] {
            assert_eq!(window(&[("page_size", bad)]), Some((30, 0)), "{bad}");
        }
        for bad in ["0", "-1", "x", "2.5", "", "99999999999999999999999"] {
            assert_eq!(
                q(&[("page", bad)]),
                Err(CoreError::NotFound(INVALID_PAGE.into())),
                "{bad}"
            );
        }
        assert_eq!(q(&[("page", "last")]).map(|q| q.last_page).ok(), Some(true));
        // The last of repeated parameters counts, as in Django.
        assert_eq!(window(&[("page", "9"), ("page", "2")]), Some((30, 30)));
        let page = |offset| ListQuery {
            offset,
            ..ListQuery::new(&SPEC, 30)
        };
        assert!(Dialect::Drf.check_window(&page(0), 0).is_ok());
        assert!(Dialect::Drf.check_window(&page(30), 31).is_ok());
        assert!(Dialect::Drf.check_window(&page(30), 30).is_err());
        assert!(Dialect::Xdr.check_window(&page(30), 30).is_ok());
        assert_eq!(
            (
                last_page_offset(0, 30),
                last_page_offset(30, 30),
                last_page_offset(31, 30)
            ),
            (0, 0, 30)
        );
    }

    #[test]
    fn drf_ordering_takes_several_fields_and_ignores_unknown_ones() {
        let ordering = |v: &str| {
            Dialect::Drf
                .list_query(&SPEC, &p(&[("ordering", v)]), 100)
                .map(|q| q.ordering)
                .ok()
        };
        assert_eq!(
            ordering("-score,name"),
            Some(vec![("score", Order::Desc), ("name", Order::Asc)])
        );
        assert_eq!(
            ordering(" name , -pk,bogus,,--score,score"),
            Some(vec![
                ("name", Order::Asc),
                ("id", Order::Desc),
                ("score", Order::Asc)
            ])
        );
        // Nothing known: the default order.
        assert_eq!(
            ordering("password,-id"),
            Some(vec![("created_at", Order::Desc)])
        );
        assert_eq!(
            Dialect::Drf
                .list_query(&PROBES, &[], 100)
                .map(|q| q.ordering)
                .ok(),
            Some(vec![("id", Order::Asc)])
        );
    }

    #[test]
    fn drf_search_splits_on_commas_and_spaces_and_lowers_case() {
        let search = |spec: &ResourceSpec, v: &str| {
            Dialect::Drf
                .list_query(spec, &p(&[("search", v)]), 100)
                .map(|q| q.search)
        };
        assert_eq!(
            search(&SPEC, "Foo, BAR  baz,,").ok(),
            Some(vec!["foo".to_owned(), "bar".into(), "baz".into()])
        );
        assert_eq!(search(&SPEC, " , ").ok(), Some(Vec::new()));
        // A resource without searchable fields ignores it, as DRF does.
        assert_eq!(search(&PROBES, "x").ok(), Some(Vec::new()));
        assert!(search(&SPEC, &"w ".repeat(MAX_SEARCH_TERMS + 1)).is_err());
    }

    #[test]
    fn drf_filters_match_exactly_combine_and_ignore_unknown_parameters() {
        let q = Dialect::Drf.list_query(
            &SPEC,
            &p(&[
                ("status", "open"),
                ("score", "7"),
                ("enabled", "True"),
                ("format", "json"),
                ("name", "not filterable"),
                ("score", "8"),
                ("tenant_id", "t1"),
            ]),
            100,
        );
        let q = q.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            q.filters,
            vec![
                ("status", FieldValue::Text("open".into())),
                ("score", FieldValue::Int(8)),
                ("enabled", FieldValue::Bool(true)),
            ]
        );
        assert_eq!(q.tenant_id.as_deref(), Some("t1"));
        assert_eq!(
            errors(Dialect::Drf.list_query(&SPEC, &p(&[("status", "weird"), ("score", "x")]), 100)),
            vec!["$.status", "$.score"]
        );
        assert_eq!(
            Dialect::Drf
                .list_query(&PROBES, &p(&[("pk", "12")]), 100)
                .map(|q| q.filters)
                .ok(),
            Some(vec![("id", FieldValue::Int(12))])
        );
        assert_eq!(
            errors(Dialect::Drf.list_query(&PROBES, &p(&[("pk", "x")]), 100)),
            vec!["$.pk"]
        );
    }

    proptest! {
        #[test]
        fn arbitrary_params_never_panic(k in "[a-z_]{1,12}", v in "\\PC{0,20}") {
            for d in [Dialect::Xdr, Dialect::Drf] {
                let _ = d.list_query(&SPEC, &[(k.clone(), v.clone())], 1000);
                let _ = d.list_query(&PROBES, &[(k.clone(), v.clone())], 1000);
            }
        }

        #[test]
        fn drf_windows_stay_in_range(page in any::<i64>(), size in any::<i64>()) {
            let params = [("page".to_owned(), page.to_string()), ("page_size".to_owned(), size.to_string())];
            if let Ok(q) = Dialect::Drf.list_query(&SPEC, &params, 100) {
                prop_assert!((1..=100).contains(&q.limit));
                prop_assert!(q.offset >= 0);
            }
        }
    }
}
