//! Data lifecycle: format versions (a newer release's database is refused), the free-space
//! floor, retention and archives.

use stella_testkit::{backend, TestServer};

#[tokio::test]
async fn a_database_migrated_by_a_newer_release_is_refused_unchanged() {
    let s = TestServer::start().await;
    let checksum = if backend() == "postgres" {
        "'\\x00'::bytea"
    } else {
        "x'00'"
    };
    // What a later release's migration leaves in the table.
    s.execute_sql(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, {checksum}, 1)"
    ))
    .await;
    let e = s
        .reopen_store()
        .await
        .err()
        .expect("a newer schema must be refused");
    let msg = e.to_string();
    assert!(
        msg.contains("schema version 9999") && msg.contains("newer Stella Ops"),
        "{msg}"
    );
    s.execute_sql("DELETE FROM _sqlx_migrations WHERE version = 9999")
        .await;
    let db = s.reopen_store().await.expect("the known schema opens");
    assert_eq!(db.schema_version().await.unwrap(), Some(5));
    db.close().await;
    s.stop().await;
}
