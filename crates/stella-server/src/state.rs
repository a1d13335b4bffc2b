use crate::activity::ActivityRecorder;
use crate::config::Config;
use crate::metrics::Metrics;
use std::sync::{Arc, OnceLock};
use stella_service::ratelimit::RateLimiter;
use stella_service::Stella;

/// Everything a handler may need. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<AppInner>);

#[derive(Debug)]
pub struct AppInner {
    pub stella: Stella,
    pub config: Config,
    pub limiter: RateLimiter,
    pub metrics: Arc<Metrics>,
    pub activity: ActivityRecorder,
    /// The OpenAPI document, rendered once when the router is built.
    pub openapi_yaml: OnceLock<String>,
    /// Request bodies being read at once, in KiB (`max_inflight_body_bytes`).
    pub body_budget: tokio::sync::Semaphore,
    /// Whose `X-Forwarded-For` is believed (`trusted_proxies`, checked by `Config::validate`).
    pub proxies: crate::client_addr::TrustedProxies,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        stella: Stella,
        config: Config,
        metrics: Arc<Metrics>,
        activity: ActivityRecorder,
    ) -> Self {
        Self(Arc::new(AppInner {
            limiter: RateLimiter::new(config.rate_limit_per_second),
            body_budget: tokio::sync::Semaphore::new(config.max_inflight_body_bytes.div_ceil(1024)),
            proxies: crate::client_addr::TrustedProxies::parse(&config.trusted_proxies)
                .unwrap_or_default(),
            stella,
            config,
            metrics,
            activity,
            openapi_yaml: OnceLock::new(),
        }))
    }
}
