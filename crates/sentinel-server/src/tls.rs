//! TLS for our outgoing HTTP clients (media links, the code gateway): rustls on
//! ring with Mozilla's roots, the provider named explicitly because the build also
//! holds another (object storage's client), and rustls then picks no default.

use hyper_rustls::ConfigBuilderExt;

/// An HTTPS-or-HTTP connector builder ready for its schemes.
pub(crate) fn connector()
-> Result<hyper_rustls::HttpsConnectorBuilder<hyper_rustls::builderstates::WantsSchemes>, String> {
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS set-up: {e}"))?
    .with_webpki_roots()
    .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config))
}
