//! The OpenAPI 3.1 description of the native API, kept beside the handlers and
//! checked by a test that every route appears in it.

/// The document served at `/api/v1/openapi.json`.
pub(crate) const DOCUMENT: &str = include_str!("openapi.json");
