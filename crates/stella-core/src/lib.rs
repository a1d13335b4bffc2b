//! Domain core of Stella Ops: the rules of identity, tenancy and authorisation, with no I/O.
//!
//! Everything here is plain data and pure functions so that storage, services and the HTTP
//! layer share one definition of "who may do what" and tests can exercise it without a server.

pub mod authz;
pub mod catalog;
pub mod clock;
pub mod dialect;
pub mod error;
pub mod ids;
pub mod permission;
pub mod principal;
pub mod profile;
pub mod redact;
pub mod resource;
pub mod tenancy;
pub mod validate;

pub use authz::{DynGrant, Grant, Mint, Restricted};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use error::CoreError;
pub use permission::{perm, Perm, Permission, PermissionSet};
pub use principal::{CredentialKind, Principal, Quota};
pub use profile::{PrivilegeProfile, ProfileOwner};
pub use tenancy::{Scope, TenantFilter};
pub use validate::FieldError;
