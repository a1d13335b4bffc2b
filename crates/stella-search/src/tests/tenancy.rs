//! A filter decides which tenant indexes a read touches; nothing outside it is ever returned.

use serde_json::json;

use super::*;

#[test]
fn a_filter_never_returns_another_tenants_events() {
    let f = fixture();
    let ix = &f.index;
    let a_ids = ingest_events(ix, "tenant-a");
    let b = ix
        .ingest(
            "tenant_b",
            vec![json!({"n": 100, "event_type": "login_failure", "msg": "secret b"})],
            NOW,
        )
        .unwrap();
    ix.refresh().unwrap();
    let b_id = b.accepted[0].id.clone();

    let everything = json!({"query": {"match_all": {}}, "size": 100});
    let resp = search(ix, &only(&["tenant-a"]), everything.clone());
    assert_eq!(total(&resp), 5);
    // Each hit names its daily partition; tenant a's events fall on two days.
    assert!(hits(&resp)
        .iter()
        .all(|h| h["_index"] == "aella-ser-2024.05.01" || h["_index"] == "aella-ser-2024.04.28"));
    assert_eq!(resp["_shards"]["total"], 2);

    let resp = search(
        ix,
        &only(&["tenant_b"]),
        json!({"query": {"term": {"event_type": "login_failure"}}}),
    );
    assert_eq!(ns(&resp), [100]);
    assert_eq!(hits(&resp)[0]["_index"], "aella-ser-2024.05.01");

    let resp = search(ix, &TenantFilter::All, everything.clone());
    assert_eq!(
        (total(&resp), resp["_shards"]["total"].as_u64()),
        (6, Some(3))
    );

    // An empty filter, or one naming only unknown tenants, sees nothing at all.
    for filter in [
        TenantFilter::Only(vec![]),
        only(&["nobody"]),
        only(&["../tenant-a"]),
    ] {
        let resp = search(ix, &filter, everything.clone());
        assert_eq!(total(&resp), 0);
        assert_eq!(resp["_shards"]["total"], 0);
        let aggs = search(
            ix,
            &filter,
            json!({"size": 0, "aggs": {"t": {"terms": {"field": "event_type"}}}}),
        );
        assert_eq!(aggs["aggregations"]["t"]["buckets"], json!([]));
        assert!(ix.get(&filter, &b_id).unwrap().is_none());
        assert!(ix.usage(&filter).unwrap().is_empty());
    }

    // get() and usage() obey the filter too.
    assert!(ix.get(&only(&["tenant-a"]), &b_id).unwrap().is_none());
    let (tenant, source) = ix.get(&only(&["tenant_b"]), &b_id).unwrap().unwrap();
    assert_eq!((tenant.as_str(), &source["n"]), ("tenant_b", &json!(100)));
    assert_eq!(
        ix.get(&TenantFilter::All, &a_ids[0]).unwrap().unwrap().0,
        "tenant-a"
    );
    let usage = ix.usage(&only(&["tenant_b", "tenant-a"])).unwrap();
    let docs: Vec<(String, u64)> = usage
        .iter()
        .map(|u| (u.tenant_id.clone(), u.docs))
        .collect();
    assert_eq!(
        docs,
        [("tenant-a".to_owned(), 5), ("tenant_b".to_owned(), 1)]
    );
    assert!(usage.iter().all(|u| u.bytes > 0));
    let usage_b = ix.usage(&only(&["tenant_b"])).unwrap();
    assert_eq!(usage_b.len(), 1);
}

#[test]
fn tenant_ids_cannot_name_paths() {
    let f = fixture();
    for bad in ["", "../x", "a/b", "a.b", "x y", &"a".repeat(65)] {
        let err = f.index.ingest(bad, vec![json!({"a": 1})], NOW).unwrap_err();
        assert!(
            matches!(err, crate::SearchError::Invalid(_)),
            "{bad}: {err}"
        );
    }
    assert!(!f.dir.path().join("x").exists());
}
