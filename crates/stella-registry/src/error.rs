//! The crate's one error type. Every variant has a stable [`RegistryError::code`], names the
//! registry and repository it concerns, and never includes credentials or tokens (messages
//! are built from the parsed reference, never from request URLs or headers).

/// Everything that can go wrong pulling an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// `registry-bad-reference`: the image reference does not parse.
    #[error("invalid image reference {reference:?}: {reason}")]
    BadReference { reference: String, reason: String },
    /// `registry-unreachable`: connection, TLS, timeout, redirect, or an unexpected status.
    #[error("registry {registry} (repository {repository}) is unreachable: {detail}")]
    Unreachable {
        registry: String,
        repository: String,
        detail: String,
    },
    /// `registry-not-found`: the repository, tag, digest or a blob does not exist.
    #[error("{what} not found in registry {registry} (repository {repository})")]
    NotFound {
        registry: String,
        repository: String,
        what: String,
    },
    /// `registry-unauthorized`: the registry refused (no, or wrong, credentials).
    #[error("registry {registry} refused access to repository {repository}: {detail}")]
    Unauthorized {
        registry: String,
        repository: String,
        detail: String,
    },
    /// `registry-digest-mismatch`: content that does not match the digest it was asked for;
    /// the partial file has been deleted.
    #[error("registry {registry} (repository {repository}) sent {what} that does not match its digest {expected}: {detail}")]
    DigestMismatch {
        registry: String,
        repository: String,
        what: String,
        expected: String,
        detail: String,
    },
    /// `registry-too-large`: over one of the [`crate::Options`] bounds (named by `limit`).
    #[error("{what} from registry {registry} (repository {repository}) is over the limit {limit} = {max}")]
    TooLarge {
        registry: String,
        repository: String,
        what: String,
        limit: &'static str,
        max: u64,
    },
    /// `registry-bad-manifest`: a manifest or index that cannot be read or is not an image.
    #[error("registry {registry} (repository {repository}) sent a manifest that cannot be used: {reason}")]
    BadManifest {
        registry: String,
        repository: String,
        reason: String,
    },
    /// `registry-no-platform`: an index without the wanted platform.
    #[error("image {registry}/{repository} has no manifest for {wanted}; it has: {}", if .available.is_empty() { "none".to_owned() } else { .available.join(", ") })]
    NoPlatform {
        registry: String,
        repository: String,
        wanted: String,
        available: Vec<String>,
    },
    /// `registry-io`: writing the layout directory failed.
    #[error("writing the image layout for {registry}/{repository} failed: {detail}")]
    Io {
        registry: String,
        repository: String,
        detail: String,
    },
}

impl RegistryError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::BadReference { .. } => "registry-bad-reference",
            RegistryError::Unreachable { .. } => "registry-unreachable",
            RegistryError::NotFound { .. } => "registry-not-found",
            RegistryError::Unauthorized { .. } => "registry-unauthorized",
            RegistryError::DigestMismatch { .. } => "registry-digest-mismatch",
            RegistryError::TooLarge { .. } => "registry-too-large",
            RegistryError::BadManifest { .. } => "registry-bad-manifest",
            RegistryError::NoPlatform { .. } => "registry-no-platform",
            RegistryError::Io { .. } => "registry-io",
        }
    }
}

/// A value cut short for a message (at most 80 characters).
pub(crate) fn excerpt(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}
