use crate::read::Row;
use crate::sql::Sql;
use crate::{Database, Result};
use stella_core::{Scope, TenantFilter};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub sso: bool,
    pub disabled: bool,
    pub scope: Scope,
    /// Tenant scope: its tenant. Partner: the associated tenants. Root: empty.
    pub tenant_ids: Vec<String>,
    pub profile: String,
    pub has_legacy_token: bool,
    /// The credential the legacy token was made through (`("api_key", key id)`), when it must
    /// end with it; `None` for one made at sign-in or at `stella init`.
    pub legacy_token_issuer: Option<(String, String)>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub sso: bool,
    pub scope: Scope,
    pub tenant_ids: Vec<String>,
    pub profile: String,
}

/// Columns to change; `None` leaves a column alone.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
    pub profile: Option<String>,
    /// Scope and tenants change together.
    pub tenancy: Option<(Scope, Vec<String>)>,
}

const COLUMNS: &str = "id, email, name, password_hash, sso, disabled, scope, tenant_id, profile, legacy_token_hash, legacy_token_issued_by_kind, legacy_token_issued_by, created_at, updated_at";

impl Database {
    async fn user_from_row(&self, row: Row) -> Result<UserRecord> {
        let id = row.text("id")?;
        let scope = Scope::parse(&row.text("scope")?).unwrap_or(Scope::Tenant);
        let tenant_ids = match scope {
            Scope::Root => Vec::new(),
            Scope::Tenant => row.opt_text("tenant_id")?.into_iter().collect(),
            Scope::Partner => self.partner_tenants(&id).await?,
        };
        Ok(UserRecord {
            email: row.text("email")?,
            name: row.text("name")?,
            password_hash: row.opt_text("password_hash")?,
            sso: row.bool("sso")?,
            disabled: row.bool("disabled")?,
            scope,
            tenant_ids,
            profile: row.text("profile")?,
            has_legacy_token: row.opt_text("legacy_token_hash")?.is_some(),
            legacy_token_issuer: row
                .opt_text("legacy_token_issued_by_kind")?
                .zip(row.opt_text("legacy_token_issued_by")?),
            created_at: row.int("created_at")?,
            updated_at: row.int("updated_at")?,
            id,
        })
    }

    async fn partner_tenants(&self, user_id: &str) -> Result<Vec<String>> {
        let q = Sql::with(
            "SELECT tenant_id FROM user_tenants WHERE user_id = $1 ORDER BY tenant_id",
            [user_id.into()],
        );
        self.fetch_all(&q)
            .await?
            .iter()
            .map(|r| r.text("tenant_id"))
            .collect()
    }

    pub async fn count_users(&self) -> Result<i64> {
        self.fetch_one(&Sql::new("SELECT COUNT(*) AS n FROM users"))
            .await?
            .int("n")
    }

    /// Creates the user and, for partners, its tenant associations, in one transaction.
    pub async fn insert_user(&self, u: &NewUser, now_ms: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let tenant = if u.scope == Scope::Tenant {
            u.tenant_ids.first().cloned()
        } else {
            None
        };
        sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, sso, disabled, scope, tenant_id, profile, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $9)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(&u.name)
        .bind(u.password_hash.clone())
        .bind(i64::from(u.sso))
        .bind(u.scope.as_str())
        .bind(tenant)
        .bind(&u.profile)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if u.scope == Scope::Partner {
            for t in &u.tenant_ids {
                sqlx::query("INSERT INTO user_tenants (user_id, tenant_id) VALUES ($1, $2)")
                    .bind(&u.id)
                    .bind(t)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Any user by id, without a tenancy filter: for authentication, which has no caller yet.
    pub async fn get_user(&self, id: &str) -> Result<Option<UserRecord>> {
        self.user_where("id", id).await
    }

    async fn user_where(&self, column: &str, value: &str) -> Result<Option<UserRecord>> {
        let q = Sql::with(
            &format!("SELECT {COLUMNS} FROM users WHERE {column} = $1"),
            [value.into()],
        );
        match self.fetch_optional(&q).await? {
            Some(r) => Ok(Some(self.user_from_row(r).await?)),
            None => Ok(None),
        }
    }

    pub async fn get_user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        self.user_where("email", &email.to_lowercase()).await
    }

    pub async fn get_user_by_legacy_token_hash(&self, hash: &str) -> Result<Option<UserRecord>> {
        self.user_where("legacy_token_hash", hash).await
    }

    /// The stored hash of a user's legacy token, for a constant-time comparison.
    pub async fn legacy_token_hash(&self, user_id: &str) -> Result<Option<String>> {
        let q = Sql::with(
            "SELECT legacy_token_hash FROM users WHERE id = $1",
            [user_id.into()],
        );
        Ok(self
            .fetch_optional(&q)
            .await?
            .map(|r| r.opt_text("legacy_token_hash"))
            .transpose()?
            .flatten())
    }

    /// Sets (or with `None`, removes) a user's legacy token, with the credential it was made
    /// through when it must end with it.
    pub async fn set_legacy_token_hash(
        &self,
        user_id: &str,
        hash: Option<&str>,
        issuer: Option<(&str, &str)>,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE users SET legacy_token_hash = $1, legacy_token_issued_by_kind = $2, \
             legacy_token_issued_by = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(hash.map(str::to_owned))
        .bind(issuer.map(|i| i.0.to_owned()))
        .bind(issuer.map(|i| i.1.to_owned()))
        .bind(now_ms)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    fn visible_users(sql: &mut Sql, filter: &TenantFilter, caller_id: &str) {
        // Below root scope a caller sees itself and the tenant-scope users of its tenants.
        if let TenantFilter::Only(_) = filter {
            sql.push(" AND (users.id = ")
                .bind(caller_id)
                .push(" OR (1 = 1");
            sql.tenant_filter("users.tenant_id", filter);
            sql.push("))");
        }
    }

    /// A user visible to a caller with `filter`; `None` for missing and invisible alike.
    pub async fn get_user_visible(
        &self,
        filter: &TenantFilter,
        caller_id: &str,
        id: &str,
    ) -> Result<Option<UserRecord>> {
        let mut q = Sql::new(&format!("SELECT {COLUMNS} FROM users WHERE users.id = "));
        q.bind(id);
        Self::visible_users(&mut q, filter, caller_id);
        match self.fetch_optional(&q).await? {
            Some(r) => Ok(Some(self.user_from_row(r).await?)),
            None => Ok(None),
        }
    }

    pub async fn list_users(
        &self,
        filter: &TenantFilter,
        caller_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<UserRecord>, i64)> {
        let mut wher = Sql::new(" WHERE 1 = 1");
        Self::visible_users(&mut wher, filter, caller_id);
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM users");
        count.push(&wher.text);
        count.binds = wher.binds.clone();
        let total = self.fetch_one(&count).await?.int("n")?;
        let mut page = Sql::new(&format!("SELECT {COLUMNS} FROM users"));
        page.push(&wher.text);
        page.binds = wher.binds;
        page.push(" ORDER BY created_at, id LIMIT ")
            .bind(limit)
            .push(" OFFSET ")
            .bind(offset);
        let mut users = Vec::new();
        for r in self.fetch_all(&page).await? {
            users.push(self.user_from_row(r).await?);
        }
        Ok((users, total))
    }

    pub async fn update_user(&self, id: &str, patch: &UserPatch, now_ms: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let mut q = Sql::new("UPDATE users SET updated_at = ");
        q.bind(now_ms);
        if let Some(name) = &patch.name {
            q.push(", name = ").bind(name.as_str());
        }
        if let Some(hash) = &patch.password_hash {
            // A new password ends the legacy token too (as it ends every session): the usual
            // answer to a compromised account must not leave a token behind.
            q.push(", password_hash = ").bind(hash.as_str()).push(
                ", legacy_token_hash = NULL, legacy_token_issued_by_kind = NULL, \
                 legacy_token_issued_by = NULL",
            );
        }
        if let Some(disabled) = patch.disabled {
            q.push(", disabled = ").bind(i64::from(disabled));
        }
        if let Some(profile) = &patch.profile {
            q.push(", profile = ").bind(profile.as_str());
        }
        if let Some((scope, tenants)) = &patch.tenancy {
            let tenant = if *scope == Scope::Tenant {
                tenants.first().cloned()
            } else {
                None
            };
            q.push(", scope = ")
                .bind(scope.as_str())
                .push(", tenant_id = ")
                .bind(tenant);
        }
        q.push(" WHERE id = ").bind(id);
        q.query().execute(&mut *tx).await?;
        if let Some((scope, tenants)) = &patch.tenancy {
            sqlx::query("DELETE FROM user_tenants WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if *scope == Scope::Partner {
                for t in tenants {
                    sqlx::query("INSERT INTO user_tenants (user_id, tenant_id) VALUES ($1, $2)")
                        .bind(id)
                        .bind(t)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_user(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn tenant_exists(&self, id: &str) -> Result<bool> {
        Ok(self
            .fetch_optional(&Sql::with(
                "SELECT 1 AS one FROM tenants WHERE id = $1",
                [id.into()],
            ))
            .await?
            .is_some())
    }

    /// What still holds a tenant, by the names [`TENANT_HOLDERS`] gives them (empty when
    /// nothing does): a tenant is deleted only once its users and data are gone, and the 409
    /// says which kinds are left.
    pub async fn tenant_holders(&self, id: &str) -> Result<Vec<String>> {
        // One EXISTS per table, so each stops at its first row.
        let sql = TENANT_HOLDERS
            .iter()
            .map(|(table, what)| {
                format!("SELECT '{what}' AS what WHERE EXISTS (SELECT 1 FROM {table} WHERE tenant_id = $1)")
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        self.fetch_all(&Sql::with(&sql, [id.into()]))
            .await?
            .iter()
            .map(|r| r.text("what"))
            .collect()
    }

    /// Deletes a tenant (`false` when there is none) together with its own `/rest/` history:
    /// the entries record objects of the tenant, which are gone once it is, and nothing else
    /// reads them. One transaction, so a failed delete (a row still naming the tenant: 409)
    /// keeps the history too.
    pub async fn delete_tenant(&self, id: &str) -> Result<bool> {
        let mut tx = self.unit().await?;
        sqlx::query(
            "DELETE FROM user_action_objects WHERE action_id IN \
             (SELECT id FROM user_actions WHERE tenant_id = $1)",
        )
        .bind(id)
        .execute(tx.conn()?)
        .await?;
        sqlx::query("DELETE FROM user_actions WHERE tenant_id = $1")
            .bind(id)
            .execute(tx.conn()?)
            .await?;
        let done = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(id)
            .execute(tx.conn()?)
            .await?;
        tx.commit().await?;
        self.rows_changed();
        Ok(done.rows_affected() > 0)
    }
}

/// Every table whose rows keep their tenant from being deleted, with what the 409 calls them:
/// each table with a `tenant_id` referencing `tenants`, except rows deleted with their owner
/// (`case_observables`, `playbook_runs`, by cascade) and the tenant's `/rest/` history
/// (`user_actions`, deleted with the tenant by [`Database::delete_tenant`]). A table added with
/// a `tenant_id` belongs here, or the tenant's deletion answers the foreign key's bare 409.
const TENANT_HOLDERS: &[(&str, &str)] = &[
    ("users", "users"),
    ("user_tenants", "partner users"),
    ("profile_tenants", "privilege profiles"),
    ("cases", "cases"),
    ("alerts", "alerts"),
    ("connectors", "connectors"),
    ("queries", "queries"),
    ("watchlists", "watchlists"),
    ("sensors", "sensors"),
    ("reports", "reports"),
    ("playbooks", "playbooks"),
    ("lookup_tables", "lookup tables"),
    ("event_filters", "event filters"),
    ("ingestion_stats", "ingestion statistics"),
    // The probe-management API at /rest/ (issue 14).
    ("stamus_devices", "Stamus devices"),
    ("suricata_appliances", "Suricata probes"),
    ("stamus_appliances", "Stamus probes"),
    ("stamus_appliance_templates", "probe templates"),
    ("network_interfaces", "probe interfaces"),
    ("probe_protocols", "probe protocols"),
    ("rule_sources", "rule sources"),
    ("rule_categories", "rule categories"),
    ("rules", "rules"),
    ("rulesets", "rulesets"),
];
