//! Response and request headers of the API (reference §0, §2.1). HTTP header names are
//! case-insensitive; these are spelled as the reference writes them.

/// Scans left today under the caller's offline-token quota (a whole number).
pub const QUOTA_REMAINING: &str = "X-Stella-Quota-Remaining";
/// When the quota is renewed, RFC 3339.
pub const RESET: &str = "X-Stella-Reset";
/// When the token that authenticated the request expires, RFC 3339.
pub const TOKEN_EXPIRES: &str = "X-Stella-Token-Expires";
/// On `POST /scan`: `trivy-json-v2`, `spdx-json` or `cyclonedx-json`; absent means detect.
pub const SBOM_TYPE: &str = "X-Stella-Sbom-Type";
