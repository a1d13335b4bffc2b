//! Storage for Stella Ops: one [`Database`] over SQLite (the embedded default) or PostgreSQL.
//!
//! Queries are runtime-checked sqlx through the `Any` driver and written once in `$N`
//! placeholder form, which both backends accept, so a single test suite covers both.
//! Every function that reads tenant-owned rows takes a [`stella_core::TenantFilter`] and puts it
//! in the `WHERE` clause: isolation lives in the query, not in the caller's good intentions.

mod activity;
mod activity_zones;
mod api_keys;
pub mod backup;
mod bus;
mod db;
mod error;
mod feed;
mod jobs;
mod oauth;
mod offline;
mod pages;
mod policies;
mod profiles;
mod read;
mod resource;
mod retention;
mod rules;
mod scans;
mod scope;
mod sessions;
mod signing_keys;
mod sql;
mod user_actions;
mod users;
mod vex;
mod xdr;

pub use activity::{ActivityFilter, ActivityRecord};
pub use api_keys::ApiKeyRecord;
pub use bus::Topic;
pub use db::{Backend, Database};
pub use error::StoreError;
pub use feed::{FeedImportRecord, FeedVersionRecord};
pub use jobs::{ClaimedJob, NodeRecord};
pub use oauth::OAuthClientRecord;
pub use offline::OfflineTokenRecord;
pub use policies::PolicyRecord;
pub use profiles::ProfilePatch;
pub use read::Row;
pub use resource::Conditions;
pub use retention::{RetentionOverride, RetentionRun, PLATFORM};
pub use rules::{ExportedRule, NewRule, RulesetMark, SourceUpload};
pub use scans::{ScanReader, ScanRecord};
pub use sessions::SessionRecord;
pub use signing_keys::SigningKeyRecord;
pub use user_actions::UserAction;
pub use users::{NewUser, UserPatch, UserRecord};
pub use vex::VexRecord;
pub use xdr::NewAlert;

pub type Result<T> = std::result::Result<T, StoreError>;
