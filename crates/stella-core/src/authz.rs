//! Authorization: what a request may do, decided here and nowhere else.
//!
//! The rule: a request may do what its user's privilege profile allows **and** its credential
//! allows — the intersection, computed once by [`effective`] when the caller is resolved. Every
//! check below reads that intersection, never the profile alone, so a key narrowed to
//! `cases:read` is a `cases:read` caller everywhere, restricted endpoints included.
//!
//! Checks hand out capabilities (lldap's pattern): a [`Grant`] for one permission, a
//! [`Restricted`] for the root-super-admin-only endpoints, a [`Mint`] for making or resetting
//! credentials. Their fields are private, so the only way to get one is the check, and service
//! operations take the capability instead of a bare [`Principal`]: an operation whose check was
//! forgotten does not compile.

use std::marker::PhantomData;
use std::ops::Deref;

use crate::error::CoreError;
use crate::permission::{Perm, Permission, PermissionSet};
use crate::principal::Principal;
use crate::profile::SUPER_ADMIN;
use crate::tenancy::Scope;

/// The permissions of a request: its user's (or client's) profile narrowed by its credential.
/// `None` means the credential carries no narrowing of its own (legacy tokens, sessions,
/// unnarrowed keys).
pub fn effective(profile: &PermissionSet, credential: Option<&PermissionSet>) -> PermissionSet {
    match credential {
        Some(narrowing) => profile.intersect(narrowing),
        None => profile.clone(),
    }
}

/// Proof that the caller holds permission `P`. Derefs to the caller.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a, P: Perm> {
    caller: &'a Principal,
    _perm: PhantomData<fn() -> P>,
}

impl<'a, P: Perm> Grant<'a, P> {
    pub fn caller(&self) -> &'a Principal {
        self.caller
    }
}

impl<P: Perm> Deref for Grant<'_, P> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        self.caller
    }
}

/// Proof that the caller holds a permission named at run time (the resource engine reads it
/// from a resource's spec).
#[derive(Debug, Clone, Copy)]
pub struct DynGrant<'a> {
    caller: &'a Principal,
    permission: Permission,
}

impl<'a> DynGrant<'a> {
    pub fn caller(&self) -> &'a Principal {
        self.caller
    }

    pub fn permission(&self) -> Permission {
        self.permission
    }
}

impl Deref for DynGrant<'_> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        self.caller
    }
}

/// Proof that the caller may use a restricted endpoint needing `P`: it holds `P` (through its
/// credential too), has root scope and the built-in super admin profile.
#[derive(Debug, Clone, Copy)]
pub struct Restricted<'a, P: Perm> {
    grant: Grant<'a, P>,
}

impl<'a, P: Perm> Restricted<'a, P> {
    pub fn caller(&self) -> &'a Principal {
        self.grant.caller
    }
}

impl<P: Perm> Deref for Restricted<'_, P> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        self.grant.caller
    }
}

/// Proof that the caller may make (or reset, or reveal) a credential carrying `permissions`:
/// none of them beyond the caller's own effective permissions. The credential is then made
/// from [`Mint::permissions`], so what was checked is what is minted.
#[derive(Debug, Clone)]
pub struct Mint<'a> {
    caller: &'a Principal,
    permissions: PermissionSet,
}

impl<'a> Mint<'a> {
    pub fn caller(&self) -> &'a Principal {
        self.caller
    }

    pub fn permissions(&self) -> &PermissionSet {
        &self.permissions
    }
}

impl Principal {
    pub fn has(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
    }

    pub fn grant<P: Perm>(&self) -> Result<Grant<'_, P>, CoreError> {
        if self.has(P::NAME) {
            Ok(Grant {
                caller: self,
                _perm: PhantomData,
            })
        } else {
            Err(missing(P::NAME))
        }
    }

    pub fn grant_dyn(&self, permission: Permission) -> Result<DynGrant<'_>, CoreError> {
        if self.has(permission) {
            Ok(DynGrant {
                caller: self,
                permission,
            })
        } else {
            Err(missing(permission))
        }
    }

    /// Restricted endpoints: super admins with root scope, whose credential carries `P`.
    pub fn restricted<P: Perm>(&self) -> Result<Restricted<'_, P>, CoreError> {
        if self.scope != Scope::Root || self.profile != SUPER_ADMIN {
            return Err(CoreError::Forbidden(
                "this endpoint is restricted to super admins with root scope".to_owned(),
            ));
        }
        Ok(Restricted {
            grant: self.grant::<P>()?,
        })
    }

    /// May this caller make a credential carrying `permissions` (`what` names it for the
    /// message)? Only if it holds every one of them itself, through its own credential.
    pub fn mint(&self, permissions: &PermissionSet, what: &str) -> Result<Mint<'_>, CoreError> {
        if permissions.is_subset(&self.permissions) {
            Ok(Mint {
                caller: self,
                permissions: permissions.clone(),
            })
        } else {
            let beyond: Vec<&str> = permissions
                .iter()
                .filter(|p| !self.permissions.contains(p))
                .collect();
            Err(CoreError::Forbidden(format!(
                "{what} would carry permissions this credential does not have: {}",
                beyond.join(", ")
            )))
        }
    }
}

fn missing(permission: &str) -> CoreError {
    CoreError::Forbidden(format!(
        "this call needs the '{permission}' permission (in both your privilege profile and \
         the credential you called with)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permission::perm;
    use crate::principal::CredentialKind;
    use crate::profile::{builtin, ANALYST};

    fn caller(scope: Scope, profile: &str, narrowing: Option<&[&str]>) -> Principal {
        let full = builtin(profile).map(|p| p.permissions).unwrap_or_default();
        let narrowing = narrowing.map(|n| PermissionSet::from_names(n.iter().copied()));
        Principal {
            user_id: "u".into(),
            email: "u@example.com".into(),
            scope,
            tenant_ids: Vec::new(),
            profile: profile.into(),
            permissions: effective(&full, narrowing.as_ref()),
            credential: CredentialKind::AccessToken,
            credential_id: Some("k".into()),
            token_expires_ms: None,
            quota: None,
        }
    }

    #[test]
    fn the_credential_narrows_every_check() {
        let full = caller(Scope::Root, SUPER_ADMIN, None);
        let narrow = caller(Scope::Root, SUPER_ADMIN, Some(&["cases:read"]));
        assert!(full.grant::<perm::UsersWrite>().is_ok());
        assert!(narrow.grant::<perm::UsersWrite>().is_err());
        assert!(narrow.grant::<perm::CasesRead>().is_ok());
        assert!(full.restricted::<perm::EventsRead>().is_ok());
        assert!(narrow.restricted::<perm::EventsRead>().is_err());
        let all = PermissionSet::all();
        assert!(full.mint(&all, "a token").is_ok());
        assert!(narrow.mint(&all, "a token").is_err());
        assert!(narrow
            .mint(&PermissionSet::from_names(["cases:read"]), "a key")
            .is_ok());
        // A narrowing cannot add what the profile lacks.
        let analyst = caller(Scope::Root, ANALYST, Some(&["users:write", "cases:read"]));
        assert!(analyst.grant::<perm::UsersWrite>().is_err());
        assert_eq!(analyst.permissions.len(), 1);
    }

    #[test]
    fn restricted_needs_root_scope_and_super_admin() {
        assert!(caller(Scope::Partner, SUPER_ADMIN, None)
            .restricted::<perm::EventsRead>()
            .is_err());
        assert!(caller(Scope::Root, ANALYST, None)
            .restricted::<perm::EventsRead>()
            .is_err());
    }

    #[test]
    fn mint_refusals_name_what_is_beyond() {
        let narrow = caller(Scope::Root, SUPER_ADMIN, Some(&["cases:read"]));
        let e = narrow
            .mint(
                &PermissionSet::from_names(["cases:read", "users:write"]),
                "a legacy token",
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("users:write") && !e.contains("cases:read"),
            "{e}"
        );
    }
}
