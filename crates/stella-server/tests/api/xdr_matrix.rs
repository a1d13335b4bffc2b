//! The tenancy and bad-input matrix for every tenant-owned XDR resource, driven by the
//! catalog: root, partner and tenant callers; read and write; 404 across tenants; 403 without
//! the privilege; 400 naming the field, with nothing written.

use crate::{assert_problem, one_tenant, tenant_user, two_tenants};
use serde_json::{json, Value};
use stella_core::resource::{Op, Tenancy};
use stella_testkit::TestServer;

const API: &str = "/connect/api/v1";

/// A valid create body per resource, and one field change for PUT.
fn sample(name: &str) -> Option<(Value, Value)> {
    Some(match name {
        "cases" => (
            json!({"name": "Phishing wave", "priority": "high", "score": 70}),
            json!({"status": "investigating"}),
        ),
        "connectors" => (
            json!({"name": "O365", "type": "office365", "config": {"secret": "s3cr3t"}}),
            json!({"name": "O365 EU"}),
        ),
        "queries" => (
            json!({"name": "DNS", "query": "event_type:dns"}),
            json!({"description": "all DNS"}),
        ),
        "watchlists" => (
            json!({"name": "Bad IPs", "entries": ["10.6.6.6"]}),
            Value::Null,
        ),
        "sensors" => (
            json!({"name": "dp-1", "type": "network", "ip_address": "10.0.0.5"}),
            json!({"status": "online"}),
        ),
        "reports" => (json!({"name": "Daily", "type": "summary"}), Value::Null),
        "playbooks" => (
            json!({"name": "Notify", "trigger": "alert.created", "actions": [{"type": "add_tags", "tags": ["seen"]}]}),
            json!({"enabled": false}),
        ),
        "lookup_tables" => (
            json!({"name": "Assets", "columns": ["ip", "owner"], "rows": [{"ip": "10.0.0.1", "owner": "it"}]}),
            json!({"description": "CMDB"}),
        ),
        "security_event_filters" => (
            json!({"name": "Drop noise", "conditions": {"event_type": "heartbeat"}}),
            json!({"enabled": false}),
        ),
        _ => return None,
    })
}

async fn count(s: &TestServer, jwt: &str, name: &str) -> i64 {
    let (st, list) = s
        .call("GET", &format!("{API}/{name}"), Some(jwt), None)
        .await;
    assert_eq!(st, 200, "{name}: {list}");
    list["total"].as_i64().unwrap()
}

#[tokio::test]
async fn every_resource_honours_the_tenancy_matrix() {
    let (s, root, [(a, a_admin), (b, b_admin)]) = two_tenants().await;
    let (_, key) = s
        .user_with_key(
            &root,
            json!({"email": "ro@acme.test", "privilege_profile": "read_only", "tenant_id": a}),
        )
        .await;
    let a_reader = s.jwt(&key).await;
    let (_, key) = s.user_with_key(&root, json!({"email": "p@partner.test", "privilege_profile": "security_admin", "scope": "partner", "tenant_ids": [b]})).await;
    let partner_b = s.jwt(&key).await;

    for spec in stella_core::catalog::ALL {
        let Some((body, change)) = sample(spec.name) else {
            continue;
        };
        let name = spec.name;
        let list = format!("{API}/{name}");
        // Sensors register themselves; everything else is created on its collection.
        let base = match name {
            "sensors" => format!("{list}/register"),
            _ => list.clone(),
        };

        // A tenant user creates in its own tenant without naming it.
        let (st, created) = s
            .call("POST", &base, Some(&a_admin), Some(body.clone()))
            .await;
        assert_eq!(st, 201, "{name}: {created}");
        assert_eq!(created["tenant_id"], json!(a), "{name}");
        let id = created["id"].as_str().unwrap().to_owned();
        let item = format!("{list}/{id}");
        let by_id = format!("{list}?id={id}");

        // Root and partners must name the tenant (root leaving it out of a lookup table makes
        // it shared, tested on its own); a partner only one of its own.
        if spec.tenancy == Tenancy::Owned {
            let (st, p) = s.call("POST", &base, Some(&root), Some(body.clone())).await;
            assert_problem(st, &p, 400);
            assert_eq!(p["errors"][0]["path"], "$.tenant_id", "{name}: {p}");
        }
        let mut in_a = body.clone();
        in_a["tenant_id"] = json!(a);
        let (st, p) = s.call("POST", &base, Some(&partner_b), Some(in_a)).await;
        assert_problem(st, &p, 403);
        let mut in_b = body.clone();
        in_b["tenant_id"] = json!(b);
        let (st, made) = s
            .call("POST", &base, Some(&partner_b), Some(in_b.clone()))
            .await;
        assert_eq!((st, &made["tenant_id"]), (201, &json!(b)), "{name}: {made}");
        let (st, made) = s.call("POST", &base, Some(&root), Some(in_b)).await;
        assert_eq!(st, 201, "{name}: {made}");

        // Another tenant's callers get 404 on every operation; lists leave the object out.
        for jwt in [&b_admin, &partner_b] {
            for (op, method) in [
                (Op::Get, "GET"),
                (Op::Update, "PUT"),
                (Op::Delete, "DELETE"),
            ] {
                if !spec.serves(op) {
                    continue;
                }
                let body = (method == "PUT").then(|| change.clone());
                let (st, p) = s.call(method, &item, Some(jwt), body).await;
                assert_problem(st, &p, 404);
            }
            for path in [format!("{list}?tenantid={a}"), by_id.clone()] {
                let (_, l) = s.call("GET", &path, Some(jwt), None).await;
                assert_eq!(l["total"], 0, "{name}: {l}");
            }
        }
        assert_eq!(count(&s, &b_admin, name).await, 2, "{name}");
        assert_eq!(count(&s, &root, name).await, 3, "{name}");
        let (_, l) = s
            .call(
                "GET",
                &format!("{list}?tenantid={a}&limit=10"),
                Some(&root),
                None,
            )
            .await;
        assert_eq!(
            (l["total"].as_i64(), l["limit"].as_i64()),
            (Some(1), Some(10)),
            "{name}: {l}"
        );

        // Read-only users read but do not write.
        let (st, got) = s.call("GET", &by_id, Some(&a_reader), None).await;
        assert_eq!(
            (st, &got["data"][0]["id"]),
            (200, &json!(id)),
            "{name}: {got}"
        );
        if spec.serves(Op::Get) {
            let (st, got) = s.call("GET", &item, Some(&a_reader), None).await;
            assert_eq!((st, &got["id"]), (200, &json!(id)), "{name}: {got}");
        }
        let (st, p) = s
            .call("POST", &base, Some(&a_reader), Some(body.clone()))
            .await;
        assert_problem(st, &p, 403);

        // Bad input: wrong type, null, mass assignment of id or times; nothing written.
        let before = count(&s, &root, name).await;
        for bad in [
            json!({"name": 5}),
            json!({"name": null}),
            json!({"id": "x"}),
            json!({"created_at": "2020-01-01T00:00:00Z"}),
            json!([1]),
        ] {
            let mut b = body.clone();
            if let (Some(o), Some(extra)) = (b.as_object_mut(), bad.as_object()) {
                o.extend(extra.clone());
            } else {
                b = bad.clone();
            }
            let (st, p) = s.call("POST", &base, Some(&a_admin), Some(b)).await;
            assert_problem(st, &p, 400);
        }
        assert_eq!(
            count(&s, &root, name).await,
            before,
            "{name}: a bad create wrote"
        );

        if spec.serves(Op::Update) {
            let (st, p) = s
                .call("PUT", &item, Some(&a_admin), Some(json!({"tenant_id": b})))
                .await;
            assert_problem(st, &p, 400);
            let (st, updated) = s
                .call("PUT", &item, Some(&a_admin), Some(change.clone()))
                .await;
            assert_eq!(st, 200, "{name}: {updated}");
            for (k, v) in change.as_object().unwrap() {
                assert_eq!(&updated[k], v, "{name}.{k}");
            }
        }
        if spec.name != "cases" {
            assert_eq!(
                s.status("DELETE", &item, Some(&a_admin)).await,
                204,
                "{name}"
            );
            let (_, l) = s.call("GET", &by_id, Some(&a_admin), None).await;
            assert_eq!(l["total"], 0, "{name}: {l}");
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn lists_page_sort_and_filter_within_bounds() {
    let (s, root, (t, admin)) = one_tenant().await;
    for (i, status) in ["open", "closed", "open", "investigating", "open"]
        .iter()
        .enumerate()
    {
        let (st, _) = s
            .call(
                "POST",
                &format!("{API}/cases"),
                Some(&admin),
                Some(json!({"name": format!("case {i}"), "score": i * 10, "status": status})),
            )
            .await;
        assert_eq!(st, 201);
    }
    // The sample script's call: ten most severe cases of a tenant.
    let (st, page) = s
        .call(
            "GET",
            &format!("{API}/cases?tenantid={t}&limit=10&sort=score&order=desc"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(st, 200);
    let scores: Vec<i64> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["score"].as_i64().unwrap())
        .collect();
    assert_eq!(scores, vec![40, 30, 20, 10, 0]);
    assert_eq!(
        (
            page["total"].as_i64(),
            page["limit"].as_i64(),
            page["offset"].as_i64()
        ),
        (Some(5), Some(10), Some(0))
    );
    let (_, open) = s
        .call(
            "GET",
            &format!("{API}/cases?status=open&sort=score&order=asc&limit=2&offset=1"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(open["total"], 3);
    assert_eq!(open["data"].as_array().unwrap().len(), 2);
    assert_eq!(open["data"][0]["score"], 20);
    // Defaults follow the contract: 50 a page.
    let (_, d) = s
        .call("GET", &format!("{API}/cases"), Some(&admin), None)
        .await;
    assert_eq!(d["limit"], 50);
    // limit=0 answers the total only (the contract sets no minimum).
    let (_, zero) = s
        .call("GET", &format!("{API}/cases?limit=0"), Some(&admin), None)
        .await;
    assert_eq!(
        (
            zero["total"].as_i64(),
            zero["data"].as_array().map(Vec::len)
        ),
        (Some(5), Some(0))
    );
    // Out-of-range paging is clamped (the envelope says what applied); non-numbers are refused.
    let (_, clamped) = s
        .call(
            "GET",
            &format!("{API}/cases?limit=100001&offset=-1"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (clamped["limit"].as_i64(), clamped["offset"].as_i64()),
        (Some(1000), Some(0))
    );
    // Members a case does not have are ignored, never stored.
    let (st, c) = s
        .call(
            "POST",
            &format!("{API}/cases"),
            Some(&admin),
            Some(json!({"name": "x", "colour": "red"})),
        )
        .await;
    assert_eq!((st, c.get("colour")), (201, None), "{c}");
    for bad in [
        "limit=ten",
        "offset=1.5",
        "sort=password",
        "order=up",
        "status=weird",
        "colour=red",
    ] {
        let (st, p) = s
            .call("GET", &format!("{API}/cases?{bad}"), Some(&admin), None)
            .await;
        assert_problem(st, &p, 400);
    }
    s.stop().await;
}

/// The ids of a list, read a page at a time.
async fn walk(s: &TestServer, jwt: &str, query: &str, page: usize) -> (Vec<String>, i64) {
    let (mut ids, mut total) = (Vec::new(), -1);
    loop {
        let (st, p) = s
            .call(
                "GET",
                &format!("{API}/cases?{query}&limit={page}&offset={}", ids.len()),
                Some(jwt),
                None,
            )
            .await;
        assert_eq!(st, 200, "{p}");
        total = p["total"].as_i64().unwrap_or(total);
        let data = p["data"].as_array().unwrap();
        ids.extend(data.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        if data.len() < page {
            return (ids, total);
        }
    }
}

#[tokio::test]
async fn walking_pages_sees_every_row_once_before_and_after_writes() {
    let (s, _root, (_t, admin)) = one_tenant().await;
    let create = |i: usize| {
        // Few distinct scores, so pages end inside runs of equal keys; some assignees unset.
        let mut body = json!({"name": format!("case {i}"), "score": i % 3});
        if i.is_multiple_of(4) {
            body["assignee"] = json!(format!("analyst{}", i % 3));
        }
        body
    };
    let mut created = Vec::new();
    for i in 0..23 {
        let (st, c) = s
            .call(
                "POST",
                &format!("{API}/cases"),
                Some(&admin),
                Some(create(i)),
            )
            .await;
        assert_eq!(st, 201);
        created.push(c["id"].as_str().unwrap().to_owned());
    }
    let orders = [
        "sort=score&order=desc",
        "sort=score&order=asc",
        "sort=created_at&order=asc",
        "sort=assignee&order=desc",
        "sort=name&order=asc",
    ];
    // Each write between walks must show in the next walk, whatever was remembered: first a
    // case that moves across pages, then a new one.
    for round in 0..3_i64 {
        if round == 1 {
            let (st, _) = s
                .call(
                    "PUT",
                    &format!("{API}/cases/{}", created[7]),
                    Some(&admin),
                    Some(json!({"score": 99, "assignee": "zed", "name": "a first"})),
                )
                .await;
            assert_eq!(st, 200);
        }
        if round == 2 {
            let (st, _) = s
                .call(
                    "POST",
                    &format!("{API}/cases"),
                    Some(&admin),
                    Some(create(40)),
                )
                .await;
            assert_eq!(st, 201);
        }
        let expected = if round == 2 { 24 } else { 23 };
        for q in orders {
            let (whole, total) = walk(&s, &admin, q, 1000).await;
            assert_eq!((whole.len() as i64, total), (expected, expected), "{q}");
            // Pages read out of order, last first: each may start from a boundary a previous
            // walk remembered, so one kept across a write would show here.
            for offset in (5..whole.len()).step_by(5).rev() {
                let (_, p) = s
                    .call(
                        "GET",
                        &format!("{API}/cases?{q}&limit=5&offset={offset}"),
                        Some(&admin),
                        None,
                    )
                    .await;
                let ids: Vec<&str> = p["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["id"].as_str().unwrap())
                    .collect();
                let end = (offset + 5).min(whole.len());
                assert_eq!(ids, whole[offset..end], "{q} at {offset} (round {round})");
            }
            // Twice: the second walk may use what the first remembered.
            for _ in 0..2 {
                let (paged, paged_total) = walk(&s, &admin, q, 5).await;
                assert_eq!(paged, whole, "{q} (round {round})");
                assert_eq!(paged_total, expected, "{q}");
            }
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn connector_config_is_write_only_and_checkpoints_roll_back_only() {
    let (s, _, (_, admin)) = one_tenant().await;
    let (st, c) = s.call("POST", &format!("{API}/connectors"), Some(&admin),
        Some(json!({"name": "AWS", "type": "cloudtrail", "config": {"secret_key": "AKIA-very-secret"}, "checkpoint": "2026-01-01T00:00:00Z"}))).await;
    assert_eq!(st, 201, "{c}");
    assert!(
        c.get("config").is_none(),
        "config must never be answered: {c}"
    );
    assert_eq!(c["status"], "active");
    let id = c["id"].as_str().unwrap();
    let rollback = format!("{API}/connectors/{id}/rollback");
    let (st, r) = s
        .call(
            "POST",
            &rollback,
            Some(&admin),
            Some(json!({"checkpoint": "2025-12-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["checkpoint"], "2025-12-01T00:00:00Z");
    let (st, p) = s
        .call(
            "POST",
            &rollback,
            Some(&admin),
            Some(json!({"checkpoint": "2025-12-02T00:00:00Z"})),
        )
        .await;
    assert_problem(st, &p, 400);
    let (st, p) = s
        .call(
            "PUT",
            &format!("{API}/connectors/{id}"),
            Some(&admin),
            Some(json!({"checkpoint": "2099-01-01T00:00:00Z"})),
        )
        .await;
    assert_problem(st, &p, 400);
    let (_, again) = s
        .call("GET", &format!("{API}/connectors/{id}"), Some(&admin), None)
        .await;
    assert_eq!(again["checkpoint"], "2025-12-01T00:00:00Z");
    s.stop().await;
}

#[tokio::test]
async fn tenant_groups_are_root_only_and_name_real_tenants() {
    let s = TestServer::start().await;
    let root = s.root_jwt().await;
    let (a, _, admin) = tenant_user(&s, &root, "acme", "admin@acme.test", "platform_admin").await;
    let base = format!("{API}/tenant_groups");
    let (st, g) = s
        .call(
            "POST",
            &base,
            Some(&root),
            Some(json!({"name": "EU", "tenants": [a]})),
        )
        .await;
    assert_eq!(st, 201, "{g}");
    let (st, p) = s
        .call(
            "POST",
            &base,
            Some(&root),
            Some(json!({"name": "US", "tenants": ["0123456789abcdef0123456789abcdef"]})),
        )
        .await;
    assert_problem(st, &p, 400);
    assert_eq!(p["errors"][0]["path"], "$.tenants[0]");
    let (st, p) = s.call("GET", &base, Some(&admin), None).await;
    assert_problem(st, &p, 403);
    let id = g["id"].as_str().unwrap();
    let (st, u) = s
        .call(
            "PUT",
            &format!("{base}/{id}"),
            Some(&root),
            Some(json!({"tenants": []})),
        )
        .await;
    assert_eq!((st, u["tenants"].clone()), (200, json!([])));
    assert_eq!(
        s.status("DELETE", &format!("{base}/{id}"), Some(&root))
            .await,
        204
    );
    s.stop().await;
}

#[tokio::test]
async fn lookup_tables_for_all_tenants_are_read_by_all_and_changed_by_root() {
    let (s, root, [(_, a_admin), (_, b_admin)]) = two_tenants().await;
    let base = format!("{API}/lookup_tables");
    let (st, shared) = s
        .call(
            "POST",
            &base,
            Some(&root),
            Some(json!({"name": "TLDs", "columns": ["tld"], "rows": [{"tld": "zip"}]})),
        )
        .await;
    assert_eq!((st, &shared["tenant_id"]), (201, &Value::Null), "{shared}");
    let (st, own) = s
        .call("POST", &base, Some(&a_admin), Some(json!({"name": "Mine"})))
        .await;
    assert_eq!(st, 201);
    assert_eq!(count(&s, &a_admin, "lookup_tables").await, 2);
    assert_eq!(count(&s, &b_admin, "lookup_tables").await, 1);
    let shared_item = format!("{base}/{}", shared["id"].as_str().unwrap());
    let (st, p) = s.call("DELETE", &shared_item, Some(&a_admin), None).await;
    assert_problem(st, &p, 403);
    assert_eq!(
        s.status(
            "GET",
            &format!("{base}/{}", own["id"].as_str().unwrap()),
            Some(&b_admin)
        )
        .await,
        404
    );
    assert_eq!(s.status("DELETE", &shared_item, Some(&root)).await, 204);
    s.stop().await;
}
