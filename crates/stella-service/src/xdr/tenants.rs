use crate::resources::{Hooks, Target};
use crate::{Result, ServiceError, Stella};
use stella_core::{Principal, Scope};

pub(crate) struct TenantHooks;

fn root_only(caller: &Principal, what: &str) -> Result<()> {
    if caller.scope != Scope::Root {
        return Err(ServiceError::Forbidden(format!(
            "only root-scope users {what} tenants"
        )));
    }
    Ok(())
}

#[async_trait::async_trait]
impl Hooks for TenantHooks {
    async fn before_create(&self, _s: &Stella, caller: &Principal) -> Result<()> {
        root_only(caller, "create")
    }

    async fn before_delete(&self, s: &Stella, caller: &Principal, id: &str) -> Result<()> {
        root_only(caller, "delete")?;
        let holders = s.db().tenant_holders(id).await?;
        if !holders.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "the tenant still has {}; move or delete them first",
                holders.join(", ")
            )));
        }
        Ok(())
    }

    /// The tenant goes with its own `/rest/` history, which would otherwise hold it forever
    /// (entries reference their tenant and are never purged).
    async fn delete(
        &self,
        s: &Stella,
        target: &Target<'_>,
        _params: &[(String, String)],
    ) -> Result<bool> {
        Ok(s.db().delete_tenant(target.id).await?)
    }
}
