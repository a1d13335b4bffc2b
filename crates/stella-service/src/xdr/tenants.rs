use crate::resources::Hooks;
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
        if s.db().tenant_in_use(id).await? {
            return Err(ServiceError::Conflict(
                "the tenant still has users or data; move or delete them first".into(),
            ));
        }
        Ok(())
    }
}
