//! The Stella Ops HTTP server: routes, the request gateway (limits, authentication, audit),
//! problem+json errors and the generated OpenAPI document.

pub mod activity;
mod app;
mod browsable;
pub mod client_addr;
pub mod config;
pub mod datadir;
pub mod extract;
pub mod form;
#[doc(hidden)]
pub mod fuzzing;
pub mod gateway;
pub mod metrics;
pub mod problem;
mod routes;
pub mod state;
pub mod tls;
pub mod upload;

pub use app::{build_router, RunningServer, Server, ServerError};
pub use config::{Config, DEFAULT_CONFIG_TOML};
