//! Open311 arguments: `application/x-www-form-urlencoded` bodies and query
//! strings, with repeated keys, `attribute[code]` and `attribute[code][]`, and
//! W3C-DTF dates. An empty argument counts as absent, as the spec says.

use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

/// All arguments of a call, body and query together, in order.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Reads the query string and, for a form post, the body.
    pub fn parse(query: Option<&str>, body: &[u8]) -> Params {
        let mut all: Vec<(String, String)> = Vec::new();
        if let Some(q) = query {
            all.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
        }
        all.extend(form_urlencoded::parse(body).into_owned());
        Params(all)
    }

    /// The first non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `attribute[code]=v` and `attribute[code][]=v`, each code with all its values.
    pub fn attributes(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix("attribute[") else {
                continue;
            };
            let code = rest
                .strip_suffix("][]")
                .or_else(|| rest.strip_suffix(']'))
                .unwrap_or(rest);
            if code.is_empty() || v.trim().is_empty() {
                continue;
            }
            out.entry(code.to_owned()).or_default().push(v.clone());
        }
        out
    }

    /// A comma-separated list argument, each item trimmed, empties dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.all(key)
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Parses a W3C-DTF date-time with its zone (`2010-01-01T00:00:00Z`,
/// `2010-01-01T08:00:00+08:00`, with or without seconds or fractions); a bare date
/// (`2010-01-01`) means its start in UTC.
pub fn w3c_datetime(s: &str) -> Result<OffsetDateTime, String> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    // hh:mm without seconds: insert them.
    if let Some((date, rest)) = s.split_once('T')
        && rest.len() >= 5
        && rest.is_char_boundary(5)
        && rest.as_bytes().get(2) == Some(&b':')
        && !rest[5..].starts_with(':')
    {
        let with_seconds = format!("{date}T{}:00{}", &rest[..5], &rest[5..]);
        if let Ok(t) = OffsetDateTime::parse(&with_seconds, &Rfc3339) {
            return Ok(t);
        }
    }
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(s, &date_only) {
        return Ok(d.midnight().assume_utc());
    }
    Err(format!(
        "{s:?} is not a W3C date-time with a time zone, e.g. 2010-01-01T00:00:00Z"
    ))
}

/// Writes a time as the spec shows it, in UTC.
pub fn w3c(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_both_attribute_spellings_are_collected() {
        let p = Params::parse(
            Some("api_key=k&status=open,closed"),
            b"service_code=fire_lane&description=a%0D%0Ab&attribute%5Bkinds%5D=car&attribute%5Bkinds%5D%5B%5D=van&attribute%5Bfloor%5D=3&media_url=http%3A%2F%2Fa&media_url=http%3A%2F%2Fb&email=",
        );
        assert_eq!(p.get("api_key"), Some("k"));
        assert_eq!(p.get("description"), Some("a\r\nb"));
        assert_eq!(p.get("email"), None, "empty means absent");
        assert_eq!(p.all("media_url"), ["http://a", "http://b"]);
        assert_eq!(p.list("status"), ["open", "closed"]);
        let a = p.attributes();
        assert_eq!(a["kinds"], ["car", "van"]);
        assert_eq!(a["floor"], ["3"]);
    }

    #[test]
    fn w3c_dates_with_wide_characters_are_refused_not_a_panic() {
        assert!(w3c_datetime("2020-01-01T12:aé").is_err());
        assert!(w3c_datetime("2020-01-01T1é:00Z").is_err());
    }

    #[test]
    fn w3c_dates_need_a_zone_and_may_omit_seconds() {
        let t = w3c_datetime("2026-11-01T08:00:00+08:00").unwrap();
        assert_eq!(w3c(t), "2026-11-01T00:00:00Z");
        assert_eq!(
            w3c(w3c_datetime("2026-11-01T08:30Z").unwrap()),
            "2026-11-01T08:30:00Z"
        );
        assert_eq!(
            w3c(w3c_datetime("2026-11-01").unwrap()),
            "2026-11-01T00:00:00Z"
        );
        for bad in ["2026-11-01T08:00:00", "yesterday", "2026-13-01T00:00:00Z"] {
            assert!(w3c_datetime(bad).is_err(), "{bad}");
        }
    }
}
