//! Services of Stella Ops: authentication, token minting and verification, identity
//! administration with its authorisation rules, abuse limits. No HTTP here: the server crate
//! translates requests into these calls and [`ServiceError`] into responses.

mod admin;
mod api_keys;
mod auth;
mod bootstrap;
mod cache;
mod cluster;
pub mod crypto;
pub mod disk;
mod error;
mod events;
pub mod guard;
mod history;
pub use history::RestContext;
pub mod host_facts;
pub mod host_id;
pub mod jobs;
pub mod keyring;
pub mod keys;
mod oauth;
mod offline;
pub mod outbound;
mod probes;
pub mod ratelimit;
mod resources;
pub mod retention;
mod rules;
pub mod scan;
pub mod seal;
mod session;
mod settings;
pub mod shared_limits;
mod state;
pub mod tokens;
mod users;
mod xdr;

pub use admin::{NewProfile, ResetUser, UpdateProfile};
pub use api_keys::{ApiKeyView, CreatedApiKey, NewApiKey};
pub use auth::{address_key, AccessToken, AuthAttempt};
pub use bootstrap::{InitCredentials, RootAdminCredentials};
pub use error::ServiceError;
pub use events::IngestReport;
pub use oauth::{NewOAuthClient, OAuthClientView, OAuthError, OAuthGrant, OAuthTokenResponse};
pub use offline::{OfflineToken, OfflineTokenView};
pub use resources::{Change, Hooks, Listed, Target, Write};
pub use session::{SessionToken, SignIn};
pub use settings::Settings;
pub use state::Stella;
pub use stella_core::catalog::TENANTS;
pub use users::{NewUserRequest, UpdateUserRequest, UserView};

pub type Result<T> = std::result::Result<T, ServiceError>;
