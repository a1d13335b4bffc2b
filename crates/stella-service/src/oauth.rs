//! OAuth 2.0 client credentials (RFC 6749 §4.4): clients registered by an administrator, acting
//! with a privilege profile and tenancy no wider than their creator's.

use crate::crypto::{constant_time_eq, random_secret, sha256_hex};
use crate::tokens::{Claims, TokenKind};
use crate::{AuthAttempt, Result, ServiceError, Stella};
use serde::{Deserialize, Serialize};
use stella_core::clock::rfc3339_ms;
use stella_core::ids::new_id;
use stella_core::perm::{OauthClientsRead, OauthClientsWrite};
use stella_core::principal::CredentialKind;
use stella_core::{permission, Grant, PermissionSet, Principal, Scope};
use stella_store::OAuthClientRecord;

/// The scope that grants a client everything its profile allows.
pub const FULL_SCOPE: &str = "stella.api";

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOAuthClient {
    pub name: String,
    /// Scopes the client may request: `stella.api` and/or permission names.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Defaults to the creator's own profile.
    #[serde(default)]
    pub privilege_profile: Option<String>,
    /// Narrows the client to these tenants (default: the creator's tenancy).
    #[serde(default)]
    pub tenant_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct OAuthClientView {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    pub scopes: Vec<String>,
    pub privilege_profile: String,
    pub scope: Scope,
    pub tenant_ids: Vec<String>,
    pub created_at: String,
    pub revoked: bool,
}

fn view(c: &OAuthClientRecord, secret: Option<String>) -> OAuthClientView {
    OAuthClientView {
        client_id: c.id.clone(),
        client_secret: secret,
        name: c.name.clone(),
        scopes: c.scopes.clone(),
        privilege_profile: c.profile.clone(),
        scope: c.scope,
        tenant_ids: c.tenant_ids.clone(),
        created_at: rfc3339_ms(c.created_at),
        revoked: c.revoked_at.is_some(),
    }
}

/// A token request, already split out of the form body and the `Authorization` header.
#[derive(Debug, Clone, Default)]
pub struct OAuthGrant {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    /// Client authentication came from HTTP Basic (so a 401 names the Basic scheme).
    pub used_basic: bool,
    /// Credentials were given both ways, or a parameter was repeated.
    pub ambiguous: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct OAuthTokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
}

/// RFC 6749 §5.2 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
    pub retry_after_secs: Option<u64>,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            retry_after_secs: None,
        }
    }
}

/// RFC 6749's `server_error`, saying nothing internal: the cause goes to the server's log.
fn server_error(doing: &str, cause: &str) -> OAuthError {
    tracing::error!(error = %cause, "OAuth token endpoint failed {doing}");
    OAuthError::new(
        500,
        "server_error",
        "the server could not complete the request; try again later",
    )
}

impl Stella {
    pub async fn create_oauth_client(
        &self,
        g: Grant<'_, OauthClientsWrite>,
        req: NewOAuthClient,
    ) -> Result<OAuthClientView> {
        let caller = g.caller();
        let name = req.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ServiceError::invalid("name", "must be 1 to 200 characters"));
        }
        let scopes = req.scopes.unwrap_or_else(|| vec![FULL_SCOPE.to_owned()]);
        if scopes.is_empty() || scopes.len() > 100 {
            return Err(ServiceError::invalid("scopes", "must name 1 to 100 scopes"));
        }
        if let Some(bad) = scopes
            .iter()
            .find(|s| *s != FULL_SCOPE && !permission::is_known(s))
        {
            return Err(ServiceError::invalid(
                "scopes",
                format!("'{bad}' is neither '{FULL_SCOPE}' nor a permission name"),
            ));
        }
        let (scope, tenant_ids) = match req.tenant_ids {
            None => (caller.scope, caller.tenant_ids.clone()),
            Some(t) if t.len() == 1 => (Scope::Tenant, t),
            Some(t) if !t.is_empty() => (Scope::Partner, t),
            Some(_) => {
                return Err(ServiceError::invalid(
                    "tenant_ids",
                    "must name at least one tenant when given",
                ))
            }
        };
        if !caller.covers(scope, &tenant_ids) {
            return Err(ServiceError::Forbidden(
                "a client cannot reach tenants outside your own".into(),
            ));
        }
        for t in &tenant_ids {
            if !self.db.tenant_exists(t).await? {
                return Err(ServiceError::invalid(
                    "tenant_ids",
                    format!("no tenant has the id '{t}'"),
                ));
            }
        }
        // The client's profile: given by id, by default the creator's own; it must fit the
        // client's tenancy and hold nothing the creator's credential lacks.
        let profile_id = req
            .privilege_profile
            .unwrap_or_else(|| caller.profile.clone());
        let profile = self
            .assignable_profile(caller, &profile_id, scope, &tenant_ids, "privilege_profile")
            .await?
            .id;
        let secret = random_secret();
        let record = OAuthClientRecord {
            id: new_id(),
            name,
            secret_hash: sha256_hex(secret.as_bytes()),
            scopes,
            profile,
            scope,
            tenant_ids,
            created_by: caller.user_id.clone(),
            created_at: self.now_ms(),
            revoked_at: None,
        };
        self.db.insert_oauth_client(&record).await?;
        Ok(view(&record, Some(secret)))
    }

    pub async fn list_oauth_clients(
        &self,
        g: Grant<'_, OauthClientsRead>,
    ) -> Result<Vec<OAuthClientView>> {
        let filter = g.tenant_filter();
        Ok(self
            .db
            .list_oauth_clients()
            .await?
            .iter()
            .filter(|c| c.scope != Scope::Root || filter == stella_core::TenantFilter::All)
            .filter(|c| c.tenant_ids.iter().all(|t| filter.allows(t)))
            .map(|c| view(c, None))
            .collect())
    }

    pub async fn revoke_oauth_client(
        &self,
        g: Grant<'_, OauthClientsWrite>,
        client_id: &str,
    ) -> Result<()> {
        let caller = g.caller();
        let not_found = || ServiceError::NotFound(format!("no OAuth client with id '{client_id}'"));
        let c = self
            .db
            .get_oauth_client(client_id)
            .await?
            .ok_or_else(not_found)?;
        if !caller.covers(c.scope, &c.tenant_ids) {
            return Err(not_found());
        }
        // Its creator may revoke it; anyone else must outrank it (a tenant admin cannot
        // revoke the client root or a partner set up for the tenant).
        let perms = self.profile_permissions(&c.profile).await?;
        if c.created_by != caller.user_id && !caller.outranks(c.scope, &c.tenant_ids, &perms) {
            return Err(ServiceError::Forbidden(
                "only the client's creator, or someone with more privileges than the client, may \
                 revoke it"
                    .into(),
            ));
        }
        self.db
            .revoke_oauth_client(client_id, self.now_ms())
            .await?;
        self.clients.invalidate(client_id);
        self.identity_changed();
        Ok(())
    }

    /// `POST /connect/token`.
    pub async fn oauth_token(
        &self,
        grant: OAuthGrant,
        at: AuthAttempt<'_>,
    ) -> std::result::Result<OAuthTokenResponse, OAuthError> {
        if grant.ambiguous {
            return Err(OAuthError::new(
                400,
                "invalid_request",
                "a parameter or the client credentials were given more than once",
            ));
        }
        let grant_type = grant
            .grant_type
            .as_deref()
            .ok_or_else(|| OAuthError::new(400, "invalid_request", "grant_type is required"))?;
        let (Some(client_id), Some(secret)) =
            (grant.client_id.as_deref(), grant.client_secret.as_deref())
        else {
            return Err(OAuthError::new(
                401,
                "invalid_client",
                "client authentication is required (HTTP Basic or client_id and client_secret)",
            ));
        };
        if client_id.len() > 128 {
            // Longer than any id this server makes: not worth an account of its own in the
            // brute-force counters (the address still counts).
            self.auth_failed(at, None, "").await;
            return Err(OAuthError::new(
                401,
                "invalid_client",
                "client authentication failed",
            ));
        }
        if let Err(ServiceError::TooManyRequests {
            retry_after_secs,
            detail,
        }) = self.check_blocked(at, Some(client_id)).await
        {
            let mut e = OAuthError::new(429, "temporarily_unavailable", detail);
            e.retry_after_secs = Some(retry_after_secs);
            return Err(e);
        }
        let client = self
            .db
            .get_oauth_client(client_id)
            .await
            .map_err(|e| server_error("reading the client", &e.to_string()))?;
        let client = match client {
            Some(c)
                if c.revoked_at.is_none()
                    && constant_time_eq(&c.secret_hash, &sha256_hex(secret.as_bytes())) =>
            {
                c
            }
            _ => {
                self.auth_failed(at, Some(client_id), "").await;
                return Err(OAuthError::new(
                    401,
                    "invalid_client",
                    "client authentication failed",
                ));
            }
        };
        if grant_type != "client_credentials" {
            return Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                format!("grant_type '{grant_type}' is not supported; use client_credentials"),
            ));
        }
        let requested: Vec<String> = match grant.scope.as_deref().map(str::trim) {
            None | Some("") => client.scopes.clone(),
            Some(s) => s
                .split(' ')
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        if let Some(bad) = requested.iter().find(|s| !client.scopes.contains(s)) {
            return Err(OAuthError::new(
                400,
                "invalid_scope",
                format!("the client may not request the scope '{bad}'"),
            ));
        }
        let now = self.now_ms();
        let iat = now / 1000;
        let exp = iat + self.settings.oauth_token_ttl_secs;
        let scope = requested.join(" ");
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub: format!("client:{}", client.id),
            typ: TokenKind::Client,
            cid: client.id.clone(),
            iat,
            exp,
            jti: new_id(),
            scope: Some(scope.clone()),
            max_scans_per_day: None,
        };
        let token = self
            .tokens
            .sign(&claims)
            .map_err(|e| server_error("signing the token", &e.to_string()))?;
        Ok(OAuthTokenResponse {
            access_token: token,
            token_type: "Bearer",
            expires_in: exp - iat,
            scope,
        })
    }

    pub(crate) async fn client_principal(
        &self,
        claims: &Claims,
        expires: Option<i64>,
    ) -> Result<Principal> {
        let now = self.now_ms();
        let client = match self.clients.get(&claims.cid, now) {
            Some(c) => Some(c),
            None => {
                let c = self
                    .db
                    .get_oauth_client(&claims.cid)
                    .await?
                    .map(std::sync::Arc::new);
                if let Some(c) = &c {
                    self.clients.put(&claims.cid, c.clone(), now);
                }
                c
            }
        };
        let client = match client {
            Some(c) if c.revoked_at.is_none() => c,
            _ => {
                return Err(ServiceError::Unauthorized(
                    "the OAuth client has been revoked".into(),
                ))
            }
        };
        let profile = self.profile_permissions(&client.profile).await?;
        let scopes: Vec<&str> = claims
            .scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect();
        // The token's scopes narrow the client's profile, as a key's permissions narrow its
        // user's (`stella.api` narrows nothing).
        let narrowing = (!scopes.contains(&FULL_SCOPE)).then(|| PermissionSet::from_names(scopes));
        let permissions = stella_core::authz::effective(&profile, narrowing.as_ref());
        Ok(Principal {
            user_id: format!("client:{}", client.id),
            email: format!("{}@clients.stella.local", client.id),
            scope: client.scope,
            tenant_ids: client.tenant_ids.clone(),
            profile: client.profile.clone(),
            permissions,
            credential: CredentialKind::OAuthClient,
            credential_id: Some(client.id.clone()),
            token_expires_ms: expires,
            quota: None,
        })
    }
}
