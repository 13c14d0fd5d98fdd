//! Who the client is. Behind a reverse proxy every connection comes from the
//! proxy, so rate limits and sign-in throttles would put everyone in one bucket;
//! but a header naming the client is only as true as whoever wrote it. Policy:
//!
//! - `Forwarded` (RFC 7239), else `X-Forwarded-For`, else `X-Real-IP` is believed
//!   only when the TCP peer is a trusted proxy (`--trusted-proxies`, loopback by
//!   default). The client is the rightmost address in the chain that is not a
//!   trusted proxy (a client can prepend anything, but not what its proxies append).
//! - From any other peer these headers, and `X-Forwarded-Proto`/`-Host`, are
//!   removed before any handler sees the request, so nothing downstream (the
//!   `Secure` cookie flag, HSTS, the CSRF origin check) believes a spoofed one.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The client's address, as worked out by [`resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The proxies trusted when none are configured: this machine.
pub fn default_trusted() -> Vec<IpNet> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect()
}

fn trusted(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    nets.iter().any(|n| n.contains(&ip))
}

/// One address as a forwarding header writes it: `1.2.3.4`, `1.2.3.4:80`,
/// `[2001:db8::1]:4711`, `"[2001:db8::1]"`, `2001:db8::1`. Anything else
/// (`unknown`, `_hidden`) is `None`.
fn address(raw: &str) -> Option<IpAddr> {
    let v = raw.trim().trim_matches('"');
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    v.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// The chain of addresses the proxies report, leftmost first.
fn chain(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let all = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    };
    let forwarded = all("forwarded");
    if !forwarded.is_empty() {
        return Some(
            forwarded
                .iter()
                .flat_map(|h| h.split(','))
                .map(|element| {
                    element.split(';').find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        k.trim().eq_ignore_ascii_case("for").then(|| address(v))?
                    })
                })
                .collect(),
        );
    }
    let xff = all("x-forwarded-for");
    if !xff.is_empty() {
        return Some(xff.iter().flat_map(|h| h.split(',')).map(address).collect());
    }
    all("x-real-ip").first().map(|v| vec![address(v)])
}

/// The client behind `peer`, given the request's headers and the trusted proxies.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    if !trusted(proxies, peer) {
        return peer;
    }
    let Some(chain) = chain(headers) else {
        return peer;
    };
    // Walk back from the proxy nearest us; the first hop it does not trust is the
    // client. An unreadable hop ends the walk at the last address we could trust.
    let mut last = peer;
    for hop in chain.iter().rev() {
        match hop {
            Some(ip) if trusted(proxies, *ip) => last = *ip,
            Some(ip) => return *ip,
            None => return last,
        }
    }
    last
}

const FORWARDING: [&str; 6] = [
    "forwarded",
    "x-forwarded-for",
    "x-real-ip",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
];

/// Works out the client once per request (an extension [`ClientIp`] reads) and
/// drops forwarding headers an untrusted peer sent.
pub(crate) async fn resolve(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer {
        let proxies = &s.config.trusted_proxies;
        let ip = client_ip(peer, req.headers(), proxies);
        if !trusted(proxies, peer) {
            for name in FORWARDING {
                req.headers_mut().remove(name);
            }
        }
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = crate::error::ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<ClientIp>() {
            return Ok(*c);
        }
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| ClientIp(c.0.ip()))
            .ok_or_else(|| crate::error::ApiError::Internal("no peer address".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        m
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let proxies = default_trusted();
        let spoof = h(&[("x-forwarded-for", "9.9.9.9"), ("x-real-ip", "8.8.8.8")]);
        assert_eq!(
            client_ip(ip("203.0.113.7"), &spoof, &proxies),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn the_rightmost_untrusted_address_is_the_client() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // The client prepended a lie; our two proxies appended the truth.
        let headers = h(&[("x-forwarded-for", "1.1.1.1, 198.51.100.4, 10.0.0.5")]);
        assert_eq!(
            client_ip(ip("10.0.0.9"), &headers, &proxies),
            ip("198.51.100.4")
        );
        // Forwarded wins over X-Forwarded-For, with quotes, brackets and ports.
        let headers = h(&[
            (
                "forwarded",
                r#"for=1.1.1.1, for="[2001:db8:cafe::17]:4711";proto=https"#,
            ),
            ("forwarded", "for=10.0.0.5"),
            ("x-forwarded-for", "7.7.7.7"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.9"), &headers, &proxies),
            ip("2001:db8:cafe::17")
        );
        // X-Real-IP as the last resort; no header: the peer.
        let headers = h(&[("x-real-ip", "198.51.100.8")]);
        assert_eq!(
            client_ip(ip("10.0.0.9"), &headers, &proxies),
            ip("198.51.100.8")
        );
        assert_eq!(client_ip(ip("10.0.0.9"), &h(&[]), &proxies), ip("10.0.0.9"));
        // An unreadable hop: the last trusted address, never a guess.
        let headers = h(&[("x-forwarded-for", "198.51.100.4, unknown, 10.0.0.5")]);
        assert_eq!(
            client_ip(ip("10.0.0.9"), &headers, &proxies),
            ip("10.0.0.5")
        );
        // Every hop trusted: the leftmost.
        let headers = h(&[("x-forwarded-for", "10.1.1.1, 10.0.0.5")]);
        assert_eq!(
            client_ip(ip("10.0.0.9"), &headers, &proxies),
            ip("10.1.1.1")
        );
    }

    #[test]
    fn an_ipv4_peer_seen_as_ipv6_is_still_trusted() {
        let headers = h(&[("x-forwarded-for", "198.51.100.4")]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &headers, &default_trusted()),
            ip("198.51.100.4")
        );
    }
}
