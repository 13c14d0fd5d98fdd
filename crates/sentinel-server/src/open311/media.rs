//! Fetching Open311 `media_url` links, when the city turns it on: only from hosts
//! on its allow-list, only to public addresses (the name is resolved once, checked,
//! and the connection pinned to what was checked, so a second lookup cannot point
//! it elsewhere), no redirects, bounded in time and size, and the bytes go through
//! the same checks as an upload before they join the report.

use super::mapping::is_public as public;
use crate::AppState;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use sentinel_core::ReportId;
use std::net::SocketAddr;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const FETCH_TIMEOUT: Duration = Duration::from_secs(20);

/// Whether `host` is on the allow-list: the name itself or a subdomain of an entry.
pub(crate) fn allowed(hosts: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    hosts.iter().any(|h| {
        let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
        !h.is_empty() && (host == h || host.ends_with(&format!(".{h}")))
    })
}

/// Fetches one link and returns its bytes, or why not.
async fn fetch(s: &AppState, raw: &str) -> Result<Bytes, String> {
    let url = url::Url::parse(raw).map_err(|e| e.to_string())?;
    let host = url
        .host_str()
        .ok_or("no host")?
        .trim_matches(['[', ']'])
        .to_owned();
    if !allowed(&s.config.media_fetch_hosts, &host) {
        return Err(format!("{host} is not on the media allow-list"));
    }
    let port = url.port_or_known_default().ok_or("no port")?;
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    if !s.config.media_fetch_allow_private && addrs.iter().any(|a| !public(a.ip())) {
        return Err(format!("{host} resolves to a local or private address"));
    }
    // Connect only to the addresses just checked.
    let pinned = tower::service_fn(move |_: Name| {
        let addrs = addrs.clone();
        async move { Ok::<_, std::io::Error>(addrs.into_iter()) }
    });
    let mut http = HttpConnector::new_with_resolver(pinned);
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let https = crate::tls::connector()?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let req = hyper::Request::get(raw)
        .header(hyper::header::USER_AGENT, "Sentinel media fetch")
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let max = s.config.photo_limits.max_bytes;
    let body = tokio::time::timeout(FETCH_TIMEOUT, async {
        let res = client.request(req).await.map_err(|e| e.to_string())?;
        if res.status() != hyper::StatusCode::OK {
            return Err(format!(
                "the server answered {} (redirects are not followed)",
                res.status()
            ));
        }
        if let Some(len) = res
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            && len > max
        {
            return Err(format!(
                "{len} bytes is more than the {max} a photo may have"
            ));
        }
        Limited::new(res.into_body(), max)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|e| format!("reading the body: {e}"))
    })
    .await
    .map_err(|_| "timed out".to_owned())??;
    Ok(body)
}

/// Fetches a report's media links in the background and adds what passes the
/// upload checks to its photos. Failures are logged and leave the link as it is.
pub(crate) async fn fetch_all(s: AppState, report: ReportId, client: String, urls: Vec<String>) {
    for url in urls {
        let outcome = async {
            let bytes = fetch(&s, &url).await?;
            let photos = crate::api::reports::process_photos(&s, vec![bytes])
                .await
                .map_err(|e| e.to_string())?;
            let records = crate::api::reports::store_photos(&s, photos)
                .await
                .map_err(|e| e.to_string())?;
            s.store
                .add_photos(
                    report,
                    records,
                    &format!("open311:{client}"),
                    &url,
                    time::OffsetDateTime::now_utc(),
                )
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        match outcome {
            Ok(_) => tracing::info!(%report, %url, "media_url fetched"),
            Err(error) => tracing::warn!(%report, %url, %error, "media_url not fetched"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_takes_a_host_and_its_subdomains_only() {
        let hosts = vec![
            "photos.example.org".to_owned(),
            "cdn.city.gov.cn.".to_owned(),
        ];
        assert!(allowed(&hosts, "photos.example.org"));
        assert!(allowed(&hosts, "a.cdn.city.gov.cn"));
        assert!(allowed(&hosts, "PHOTOS.EXAMPLE.ORG."));
        assert!(!allowed(&hosts, "evilphotos.example.org"));
        assert!(!allowed(&hosts, "example.org"));
        assert!(!allowed(&[], "photos.example.org"));
    }

    #[test]
    fn only_public_addresses_pass() {
        assert!(
            !public("203.0.113.9".parse().unwrap()),
            "documentation range"
        );
        assert!(public("1.1.1.1".parse().unwrap()));
        assert!(!public("127.0.0.1".parse().unwrap()));
        assert!(!public("10.1.2.3".parse().unwrap()));
        assert!(!public("::1".parse().unwrap()));
        assert!(public("2606:4700::1111".parse().unwrap()));
    }
}
