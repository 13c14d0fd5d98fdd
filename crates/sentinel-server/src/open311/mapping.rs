//! How Sentinel's work-order lifecycle reads in Open311, both ways, and which
//! media links may be kept. The table is in docs/OPEN311.md.

use sentinel_core::Status;
use std::net::{Ipv4Addr, Ipv6Addr};

/// GeoReport `open` / `closed`: closed means dealt with (resolved, verified,
/// closed), refused or merged into another.
pub(crate) fn open_or_closed(s: Status) -> &'static str {
    match s {
        Status::Resolved
        | Status::Verified
        | Status::Closed
        | Status::Rejected
        | Status::Merged => "closed",
        _ => "open",
    }
}

/// The statuses behind `open` or `closed`.
pub(crate) fn statuses(open311: &str) -> Option<Vec<Status>> {
    let want = match open311.trim().to_ascii_lowercase().as_str() {
        "open" => "open",
        "closed" => "closed",
        _ => return None,
    };
    Some(
        Status::ALL
            .iter()
            .copied()
            .filter(|s| open_or_closed(*s) == want)
            .collect(),
    )
}

/// The FixMyStreet extended status of a state.
pub(crate) fn extended(s: Status) -> &'static str {
    match s {
        Status::Submitted => "OPEN",
        Status::Accepted => "INVESTIGATING",
        Status::Assigned => "ACTION_SCHEDULED",
        Status::InProgress => "IN_PROGRESS",
        Status::Returned => "INTERNAL_REFERRAL",
        Status::Resolved | Status::Verified => "FIXED",
        Status::Closed => "CLOSED",
        Status::Rejected => "NO_FURTHER_ACTION",
        Status::Merged => "DUPLICATE",
        Status::Reopened => "REOPEN",
    }
}

/// What a client's update asks of the work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asked {
    /// The reporter says it is dealt with: close a resolved order.
    Done,
    /// The reporter says it is not: reopen a resolved or closed order.
    NotDone,
    /// Anything else a client may say (its own workflow's states): a note only;
    /// a client never moves a work order.
    Note,
}

/// Reads a client's status (basic or extended, any case).
pub(crate) fn asked(status: &str) -> Option<Asked> {
    Some(match status.trim().to_ascii_uppercase().as_str() {
        "FIXED" | "CLOSED" => Asked::Done,
        "OPEN" | "REOPEN" => Asked::NotDone,
        "IN_PROGRESS"
        | "ACTION_SCHEDULED"
        | "INVESTIGATING"
        | "DUPLICATE"
        | "NOT_COUNCILS_RESPONSIBILITY"
        | "NO_FURTHER_ACTION"
        | "INTERNAL_REFERRAL"
        | "FOR_TRIAGE"
        | "CANCELLED" => Asked::Note,
        _ => return None,
    })
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240)
}

/// The IPv4 addresses an IPv6 address carries and may reach: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96` and the
/// local-use `64:ff9b:1::/48`), 6to4 (`2002:AABB:CCDD::`) and Teredo (server and
/// client). Each must pass the IPv4 check as well, or `[::127.0.0.1]` would reach
/// this machine.
fn embedded_v4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let seg = ip.segments();
    let o = ip.octets();
    let low = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    let mut out = Vec::new();
    if let Some(v4) = ip.to_ipv4_mapped() {
        out.push(v4);
    }
    if seg[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        out.push(low); // IPv4-compatible (deprecated, still routed by some stacks)
    }
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1)
    {
        out.push(low);
    }
    if seg[0] == 0x2002 {
        out.push(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    if seg[0] == 0x2001 && seg[1] == 0 {
        out.push(Ipv4Addr::new(o[4], o[5], o[6], o[7]));
        out.push(Ipv4Addr::new(!o[12], !o[13], !o[14], !o[15]));
    }
    out
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let embedded = embedded_v4(ip);
    if !embedded.is_empty() {
        return embedded.into_iter().all(public_v4);
    }
    let seg = ip.segments();
    let first = seg[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link local
        || (first & 0xffc0) == 0xfec0 // site local (deprecated)
        || seg[..4] == [0x100, 0, 0, 0] // discard-only
        || first == 0x2001 && (seg[1] & 0xfff0) == 0x0010 // ORCHID
        || first == 0x2001 && seg[1] == 0x0db8) // documentation
}

/// Whether an address is on the public internet (not loopback, private,
/// link-local, shared, reserved...).
pub(crate) fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => public_v4(v4),
        std::net::IpAddr::V6(v6) => public_v6(v6),
    }
}

/// Checks a `media_url`: http or https, a host that is not this machine or a
/// private network (no SSRF through a link we might one day fetch), at most 2,000
/// characters. Returns the URL as normalised.
pub(crate) fn check_media_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.chars().count() > 2000 {
        return Err("media_url is longer than 2,000 characters".into());
    }
    let u = url::Url::parse(raw).map_err(|e| format!("media_url {raw:?} is not a URL: {e}"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("media_url {raw:?} must be http or https"));
    }
    let private = || format!("media_url {raw:?} points at a local or private address");
    match u.host() {
        None => return Err(format!("media_url {raw:?} has no host")),
        Some(url::Host::Ipv4(ip)) if !public_v4(ip) => return Err(private()),
        Some(url::Host::Ipv6(ip)) if !public_v6(ip) => return Err(private()),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") || !d.contains('.') {
                return Err(private());
            }
        }
        _ => {}
    }
    Ok(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_an_open311_and_an_extended_status() {
        for s in Status::ALL {
            let basic = open_or_closed(*s);
            assert!(statuses(basic).unwrap().contains(s));
            assert!(asked(extended(*s)).is_some(), "{s}");
        }
        assert_eq!(
            statuses("OPEN").unwrap().len() + statuses("closed").unwrap().len(),
            Status::ALL.len()
        );
        assert!(statuses("pending").is_none());
        assert_eq!(asked("fixed"), Some(Asked::Done));
        assert_eq!(asked("Reopen"), Some(Asked::NotDone));
        assert_eq!(asked("IN_PROGRESS"), Some(Asked::Note));
        assert_eq!(asked("DONE-ISH"), None);
    }

    #[test]
    fn media_urls_on_local_or_private_hosts_are_refused() {
        assert!(check_media_url("https://photos.example.org/a.jpg").is_ok());
        // Public addresses in the same forms still pass.
        assert!(check_media_url("http://[64:ff9b::808:808]/a.jpg").is_ok());
        assert!(check_media_url("http://[2002:808:808::1]/a.jpg").is_ok());
        assert!(check_media_url("http://[2606:4700::1111]/a.jpg").is_ok());
        for bad in [
            "http://127.0.0.1/x.jpg",
            "http://10.0.0.1/x.jpg",
            "http://192.168.1.2/x.jpg",
            "http://172.20.0.1/x.jpg",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/x.jpg",
            "http://[fd00::1]/x.jpg",
            "http://[::ffff:127.0.0.1]/x.jpg",
            "http://[::127.0.0.1]/x.jpg",
            "http://[::7f00:1]/x.jpg",
            "http://[64:ff9b::7f00:1]/x.jpg",
            "http://[64:ff9b::10.0.0.1]/x.jpg",
            "http://[64:ff9b:1::a9fe:a9fe]/x.jpg",
            "http://[2002:7f00:1::]/x.jpg",
            "http://[2002:c0a8:0101::1]/x.jpg",
            "http://[2001:0:7f00:1::]/x.jpg",
            "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x.jpg",
            "http://[fec0::1]/x.jpg",
            "http://localhost:8080/x.jpg",
            "http://intranet/x.jpg",
            "http://0.0.0.0/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "not a url",
        ] {
            assert!(check_media_url(bad).is_err(), "{bad}");
        }
    }
}
