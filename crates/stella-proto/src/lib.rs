//! The JSON documents of the Stella Ops HTTP API, shared by whoever reads or writes them: the
//! `stella-client` crate (and through it `stellopsctl`, `santech` and tests), and later the
//! server itself. Serde types and constants only: no I/O, no HTTP client, nothing of ours.
//!
//! Field names are the wire's, exactly: snake_case where the server already answers so
//! (tokens), camelCase where the API & CLI reference shows it (`policyStatus`, `expiresDays`,
//! `traceId`), and the capitalised severity names of the scan summary.
//!
//! Optional members this crate adds beyond the reference's examples are left out when they are
//! empty or `None`, so deserializing a reference example and serializing it again gives the
//! same JSON.

pub mod headers;
pub mod problem;
pub mod scan;
pub mod token;

pub use problem::{FieldError, Problem, PROBLEM_CONTENT_TYPE};
pub use scan::{
    FeedStatus, Finding, LayersMissingRequest, LayersMissingResponse, PolicyStatus,
    PolicyValidation, Quota, ScanResponse, ScanSummary, Severity, Threshold, ThresholdError,
    Unassessed,
};
pub use token::{AccessToken, ClientCredentials, OAuthError, OfflineToken, OfflineTokenRequest};
