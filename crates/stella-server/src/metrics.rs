//! Prometheus metrics: requests by route and status, latency, authentication failures,
//! rate-limited requests, and activity-log health.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub auth_failures: IntCounterVec,
    pub rate_limited: IntCounter,
    pub activity_lost: IntCounter,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "stella_http_requests_total",
                "HTTP requests by method, route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "stella_http_request_duration_seconds",
                "Request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route"],
        )?;
        let auth_failures = IntCounterVec::new(
            Opts::new(
                "stella_auth_failures_total",
                "Failed authentications by kind",
            ),
            &["kind"],
        )?;
        let rate_limited = IntCounter::new(
            "stella_rate_limited_total",
            "Requests refused by the rate limiter",
        )?;
        let activity_lost = IntCounter::new(
            "stella_activity_log_lost_total",
            "Activity records that could not be written",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(auth_failures.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(activity_lost.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            auth_failures,
            rate_limited,
            activity_lost,
        })
    }

    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
