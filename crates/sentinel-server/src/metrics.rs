//! Prometheus metrics: requests by route and status, and their latency.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Reports created.
    pub reports_created: Counter,
    /// Event streams open now.
    pub streams_open: Gauge,
    /// Event streams closed because the client stopped reading.
    pub streams_stalled: Counter,
    /// Public copies made (faces and plates blurred).
    pub photos_redacted: Counter,
    /// Redaction attempts that failed.
    pub redactions_failed: Counter,
    /// Time to make one public copy.
    pub redaction_seconds: Histogram,
    /// Requests whose handler panicked (answered 500, the connection kept).
    pub panics: Counter,
    /// Security events by kind (sign-in throttled, account locked, cross-site write refused...).
    security: Family<EventLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    kind: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("sentinel");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let reports_created = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        registry.register(
            "reports_created",
            "Reports created",
            reports_created.clone(),
        );
        let streams_open = Gauge::default();
        let streams_stalled = Counter::default();
        registry.register(
            "event_streams_open",
            "Server-sent event streams open now",
            streams_open.clone(),
        );
        registry.register(
            "event_streams_stalled",
            "Event streams closed because the client stopped reading",
            streams_stalled.clone(),
        );
        let photos_redacted = Counter::default();
        let redactions_failed = Counter::default();
        let redaction_seconds = Histogram::new([0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0]);
        registry.register(
            "photos_redacted",
            "Public copies of photos made (faces and licence plates blurred)",
            photos_redacted.clone(),
        );
        registry.register(
            "photo_redactions_failed",
            "Photo redaction attempts that failed (retried three times)",
            redactions_failed.clone(),
        );
        registry.register(
            "photo_redaction_seconds",
            "Time to make one photo's public copy",
            redaction_seconds.clone(),
        );
        let panics = Counter::default();
        registry.register(
            "panics",
            "Requests whose handler panicked (answered 500)",
            panics.clone(),
        );
        let security = Family::<EventLabels, Counter>::default();
        registry.register(
            "security_events",
            "Security events by kind: sign-ins throttled, accounts locked, cross-site writes refused",
            security.clone(),
        );
        Metrics {
            panics,
            security,
            photos_redacted,
            redactions_failed,
            redaction_seconds,
            streams_open,
            streams_stalled,
            registry,
            requests,
            latency,
            reports_created,
        }
    }
}

impl Metrics {
    /// Counts a security event of a fixed kind (the label set stays bounded).
    pub fn security_event(&self, kind: &'static str) {
        self.security.get_or_create(&EventLabels { kind }).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // Only the standard methods are labels: a client inventing methods must not grow
    // the metrics without bound.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let started = Instant::now();
    let res = next.run(req).await;
    let m = &state.metrics;
    m.requests
        .get_or_create(&RequestLabels {
            method,
            route: route.clone(),
            status: res.status().as_u16(),
        })
        .inc();
    m.latency
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    res
}
