//! The `/rest/` action history (`user_actions`): written here, one row per write, and read
//! through the generic resource engine like any other `/rest/` object.

use crate::{Database, Result};
use serde_json::Value;

/// One write made through `/rest/`, as the history keeps it.
#[derive(Debug, Clone)]
pub struct UserAction {
    pub tenant_id: Option<String>,
    pub user_id: String,
    pub username: String,
    pub date: i64,
    pub action_type: String,
    pub comment: Option<String>,
    pub client_ip: Option<String>,
    pub description_raw: String,
    pub description: String,
    /// `{key: {type, pk | sid, value}}`.
    pub ua_objects: Value,
    /// The object acted on (its type and pk), to forget its pk once it is deleted.
    pub object_type: String,
    pub object_pk: String,
}

impl Database {
    pub async fn insert_user_action(&self, a: &UserAction) -> Result<i64> {
        let id = self.next_serial("user_actions").await?;
        sqlx::query(
            "INSERT INTO user_actions (id, tenant_id, user_id, username, date, action_type, \
             comment, client_ip, description_raw, description, ua_objects, object_type, \
             object_pk, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(id)
        .bind(&a.tenant_id)
        .bind(&a.user_id)
        .bind(&a.username)
        .bind(a.date)
        .bind(&a.action_type)
        .bind(&a.comment)
        .bind(&a.client_ip)
        .bind(&a.description_raw)
        .bind(&a.description)
        .bind(a.ua_objects.to_string())
        .bind(&a.object_type)
        .bind(&a.object_pk)
        .bind(a.date)
        .bind(a.date)
        .execute(&self.pool)
        .await?;
        self.rows_changed();
        Ok(id)
    }

    /// An object was deleted: its earlier entries keep its name but no longer point at it
    /// (`pk` removed from their `ua_objects`, as the reference says).
    pub async fn forget_user_action_object(&self, object_type: &str, pk: &str) -> Result<()> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, ua_objects FROM user_actions WHERE object_type = $1 AND object_pk = $2",
        )
        .bind(object_type)
        .bind(pk)
        .fetch_all(&self.pool)
        .await?;
        for (id, text) in rows {
            let Ok(mut objects) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if let Some(m) = objects.as_object_mut() {
                for o in m.values_mut() {
                    let same = o["type"] == object_type
                        && o.get("pk").is_some_and(|p| match p {
                            Value::String(s) => s == pk,
                            other => other.to_string().as_str() == pk,
                        });
                    if same {
                        if let Some(o) = o.as_object_mut() {
                            o.remove("pk");
                        }
                    }
                }
            }
            sqlx::query("UPDATE user_actions SET ua_objects = $1 WHERE id = $2")
                .bind(objects.to_string())
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        self.rows_changed();
        Ok(())
    }
}
