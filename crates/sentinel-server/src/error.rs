//! Error policy: every API error is an RFC 9457 `application/problem+json` body,
//! built here and only here. Storage and internal failures are logged with their
//! cause and answered with a 500 (or 503) that tells the client nothing internal.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentinel_core::DispatchError;
use sentinel_core::{FieldError, LifecycleError};
use sentinel_photos::PhotoError;
use sentinel_store::StoreError;
use serde::Serialize;

/// An API failure, mapped to a status and a problem document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed (bad JSON, bad query string).
    #[error("{0}")]
    BadRequest(String),
    /// Fields failed validation.
    #[error("the report has invalid fields")]
    Validation(Vec<FieldError>),
    /// Well-formed but unacceptable (unknown action, bad target...).
    #[error("{0}")]
    Unprocessable(String),
    /// No or bad credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Credentials fine, permission not.
    #[error("{0}")]
    Forbidden(String),
    /// A write carried a session cookie but did not come from our own pages
    /// (foreign or missing Origin, missing or wrong CSRF token).
    #[error("{0}")]
    CrossSite(String),
    /// Nothing there.
    #[error("{0}")]
    NotFound(String),
    /// Wrong method.
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// The state does not allow it.
    #[error("{0}")]
    Conflict(String),
    /// Too big.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Not a content type we take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Slow down.
    #[error("too many requests; try again in {retry_after} seconds")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Temporarily unable.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// A photo's public copy is not made yet (faces and plates are being blurred).
    #[error("{0}")]
    PhotoProcessing(String),
    /// A bug or an outage; the cause goes to the log only.
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FieldError]>,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Malformed request"),
            Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid fields",
            ),
            Unprocessable(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                "Request cannot be carried out",
            ),
            Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Sign-in required"),
            Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not permitted"),
            CrossSite(_) => (
                StatusCode::FORBIDDEN,
                "cross-site",
                "Cross-site request refused",
            ),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Conflict(_) => (
                StatusCode::CONFLICT,
                "conflict",
                "Not allowed in the current state",
            ),
            PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request too large",
            ),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            ),
            Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            PhotoProcessing(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "photo-processing",
                "Photo being prepared for the public",
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let kind = format!("/problems/{slug}");
        let problem = Problem {
            kind: &kind,
            title,
            status: status.as_u16(),
            detail: self.to_string(),
            errors: match &self {
                ApiError::Validation(e) => Some(e),
                _ => None,
            },
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::TooManyRequests { retry_after } = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if let ApiError::PhotoProcessing(_) = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("3"));
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if let ApiError::Unavailable = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("no such record".into()),
            StoreError::AlreadyExists(what) => ApiError::Conflict(format!("{what} already exists")),
            StoreError::IdempotencyMismatch => ApiError::Unprocessable(e.to_string()),
            StoreError::Lifecycle(l) => l.into(),
            StoreError::Dispatch(d) => match d {
                DispatchError::NotAllowed(why) => ApiError::Forbidden(why),
                other => ApiError::Conflict(other.to_string()),
            },
            StoreError::InvalidTarget(why) => ApiError::Unprocessable(why),
            StoreError::Unavailable => ApiError::Unavailable,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::RoleNotAllowed { .. } | LifecycleError::OutOfScope => {
                ApiError::Forbidden(e.to_string())
            }
            LifecycleError::ReasonRequired { action } => {
                ApiError::Validation(vec![FieldError::new(
                    "note",
                    format!("{action} needs a reason or note"),
                )])
            }
            LifecycleError::InvalidRating => {
                ApiError::Validation(vec![FieldError::new("score", e.to_string())])
            }
            other => ApiError::Conflict(other.to_string()),
        }
    }
}

impl From<PhotoError> for ApiError {
    fn from(e: PhotoError) -> Self {
        match e {
            PhotoError::TooLarge { .. } => ApiError::PayloadTooLarge(e.to_string()),
            PhotoError::UnsupportedType => ApiError::UnsupportedMediaType(e.to_string()),
            other => ApiError::Validation(vec![FieldError::new("photo", other.to_string())]),
        }
    }
}

/// Shorthand for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
