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
    /// The object the entry is filed under (its type and pk).
    pub object_type: String,
    pub object_pk: String,
}

/// Every `(type, pk)` an entry's `ua_objects` names (the user aside: accounts are not `/rest/`
/// objects), so each loses its pk once deleted.
fn named_objects(ua_objects: &Value) -> Vec<(String, String)> {
    let Some(m) = ua_objects.as_object() else {
        return Vec::new();
    };
    m.values()
        .filter_map(|o| {
            let kind = o.get("type")?.as_str()?;
            let pk = match o.get("pk")? {
                Value::String(s) => s.clone(),
                Value::Null => return None,
                other => other.to_string(),
            };
            (kind != "user").then(|| (kind.to_owned(), pk))
        })
        .collect()
}

impl Database {
    pub async fn insert_user_action(&self, a: &UserAction) -> Result<i64> {
        let id = self.next_serial("user_actions").await?;
        // The entry and its object index together, so a deletion finds every entry it names.
        let mut tx = self.unit().await?;
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
        .execute(tx.conn()?)
        .await?;
        for (kind, pk) in named_objects(&a.ua_objects) {
            sqlx::query(
                "INSERT INTO user_action_objects (action_id, object_type, object_pk) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(kind)
            .bind(pk)
            .execute(tx.conn()?)
            .await?;
        }
        tx.commit().await?;
        self.rows_changed();
        Ok(id)
    }

    /// An object was deleted: its earlier entries keep its name but no longer point at it
    /// (`pk` removed from their `ua_objects`, as the reference says).
    pub async fn forget_user_action_object(&self, object_type: &str, pk: &str) -> Result<()> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT DISTINCT a.id, a.ua_objects FROM user_actions a \
             JOIN user_action_objects o ON o.action_id = a.id \
             WHERE o.object_type = $1 AND o.object_pk = $2",
        )
        .bind(object_type)
        .bind(pk)
        .fetch_all(self.conn().await?.conn()?)
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
                .execute(self.conn().await?.conn()?)
                .await?;
        }
        sqlx::query("DELETE FROM user_action_objects WHERE object_type = $1 AND object_pk = $2")
            .bind(object_type)
            .bind(pk)
            .execute(self.conn().await?.conn()?)
            .await?;
        self.rows_changed();
        Ok(())
    }
}
