//! replace(): new source under the same id, durable and then searchable.

use serde_json::json;

use super::*;
use crate::SearchError;

#[test]
fn replace_updates_the_source_and_keeps_id_and_time() {
    let f = fixture();
    let ix = &f.index;
    let ids = ingest_events(ix, "acme");
    let mut updated = events()[0].clone();
    updated.as_object_mut().unwrap().remove("timestamp");
    updated["status"] = json!("closed");
    updated["tags"] = json!(["ssh", "reviewed"]);
    ix.replace("acme", &ids[0], updated.clone()).unwrap();
    // Durable but not yet visible, like an ingest.
    assert_eq!(
        ix.get(&TenantFilter::All, &ids[0]).unwrap().unwrap().1,
        events()[0]
    );
    ix.refresh().unwrap();

    let (tenant, source) = ix.get(&TenantFilter::All, &ids[0]).unwrap().unwrap();
    assert_eq!((tenant.as_str(), &source), ("acme", &updated));
    assert_eq!(matching(ix, json!({"term": {"status": "closed"}})), [1]);
    assert_eq!(
        matching(ix, json!({"term": {"tags": "auth"}})),
        Vec::<i64>::new()
    );
    assert_eq!(matching(ix, json!({"term": {"tags": "reviewed"}})), [1]);
    assert_eq!(total(&search(ix, &TenantFilter::All, json!({}))), 5);
    // The event kept its time although the new source has none.
    assert_eq!(
        matching(ix, json!({"term": {"timestamp": NOW - HOUR}})),
        [1]
    );
}

#[test]
fn replace_refuses_unknown_ids_and_bad_sources() {
    let f = fixture();
    let ix = &f.index;
    let ids = ingest_events(ix, "acme");
    ingest_events(ix, "other");
    let missing = "0".repeat(32);
    assert!(matches!(
        ix.replace("acme", &missing, json!({})),
        Err(SearchError::NotFound)
    ));
    assert!(matches!(
        ix.replace("acme", "not-an-id", json!({})),
        Err(SearchError::NotFound)
    ));
    // An id of another tenant is not found in this one.
    assert!(matches!(
        ix.replace("nobody", &ids[0], json!({})),
        Err(SearchError::NotFound)
    ));
    let other_ids = {
        let resp = search(ix, &only(&["other"]), json!({"sort": "n"}));
        hits(&resp)
            .iter()
            .map(|h| h["_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(matches!(
        ix.replace("acme", &other_ids[0], json!({})),
        Err(SearchError::NotFound)
    ));
    assert!(matches!(
        ix.replace("acme", &ids[0], json!([1])),
        Err(SearchError::Invalid(_))
    ));
    assert!(matches!(
        ix.replace("acme", &ids[0], json!({"_id": "x"})),
        Err(SearchError::Invalid(_))
    ));
    assert!(ix.get(&TenantFilter::All, &missing).unwrap().is_none());
    assert!(ix.get(&TenantFilter::All, "../../etc").unwrap().is_none());
}
