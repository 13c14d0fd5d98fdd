//! Parse, don't validate: a client's report becomes a [`NewReport`] here or is
//! refused with one message per faulty field. Only `NewReport` travels inward.

use crate::catalog::Catalog;
use crate::report::{Channel, Contact, Priority, Reporter};
use sentinel_geo::{Crs, GeoError, Point};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Longest description accepted (the Open311 limit).
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
const MAX_ADDRESS_CHARS: usize = 500;
const MAX_NAME_CHARS: usize = 100;
const MAX_ATTRIBUTES: usize = 50;
const MAX_ATTRIBUTE_CHARS: usize = 2000;

/// A report as a client sends it; every field optional so that each problem can
/// be named instead of failing on the first.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ReportInput {
    /// Category code.
    pub category: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Latitude in `crs`.
    pub lat: Option<f64>,
    /// Longitude in `crs`.
    pub lon: Option<f64>,
    /// `wgs84` (default), `gcj02` or `bd09`.
    pub crs: Option<String>,
    /// Accuracy radius in metres.
    pub accuracy_m: Option<f64>,
    /// Street address.
    pub address: Option<String>,
    /// Answers to the category's extra questions.
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
    /// How to reach the reporter.
    pub contact: Option<ContactInput>,
    /// The reporter wants no contact details kept.
    pub anonymous: Option<bool>,
    /// When the hazard was seen (RFC 3339).
    pub observed_at: Option<String>,
    /// `web` or `api`; `phone` for staff taking a call. Defaults to the endpoint's channel.
    pub channel: Option<Channel>,
}

/// Contact details as sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ContactInput {
    /// Name.
    pub name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// What the input is parsed against.
#[derive(Debug, Clone)]
pub struct ParseContext<'a> {
    /// Categories in force.
    pub catalog: &'a Catalog,
    /// Photos that came with the report.
    pub photo_count: usize,
    /// Position from the first photo's EXIF, used when none is given.
    pub exif_location: Option<Point>,
    /// Capture time from the first photo's EXIF, used when none is given.
    pub exif_time: Option<OffsetDateTime>,
    /// Channel it arrived on.
    pub channel: Channel,
    /// A signed-in reporter account, if any.
    pub account: Option<String>,
    /// Whether a staff member is filing (only staff take phone reports).
    pub staff: bool,
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON name of the field (`contact.email`).
    pub field: String,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A report that passed every check, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    /// Category code (known to the catalogue).
    pub category: String,
    /// Description, trimmed.
    pub description: String,
    /// WGS-84 position.
    pub location: Point,
    /// Accuracy radius.
    pub accuracy_m: Option<f64>,
    /// Address.
    pub address: Option<String>,
    /// Extra answers.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Who reported.
    pub reporter: Reporter,
    /// Channel.
    pub channel: Channel,
    /// Starting priority (the category's default).
    pub priority: Priority,
    /// When seen.
    pub observed_at: Option<OffsetDateTime>,
    /// Innermost jurisdiction code (set by the caller after locating the point).
    pub jurisdiction: Option<String>,
    /// Routing decision (set by the caller).
    pub routing: Option<crate::routing::Routing>,
    /// The first deadline (set by the caller from the category's limits).
    pub due: Option<(OffsetDateTime, crate::calendar::DueKind)>,
    /// Links to media the reporter's app holds (Open311 `media_url`), kept as links.
    pub media_urls: Vec<String>,
    /// SHA-256 (hex) of the secret given to whoever filed it, if one was given.
    pub reporter_key_hash: Option<String>,
}

fn optional_text(
    value: Option<String>,
    field: &str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let v = value?.trim().to_owned();
    if v.is_empty() {
        return None;
    }
    if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
        return None;
    }
    if v.chars().any(unprintable) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
        return None;
    }
    Some(v)
}

/// A character no text field may carry: control characters (but tab and line
/// breaks) and the noncharacters U+FFFE/U+FFFF, which XML 1.0 cannot carry, so one
/// such report would break an Open311 XML list for every client.
pub fn unprintable(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

fn json_unprintable(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.chars().any(unprintable),
        serde_json::Value::Array(a) => a.iter().any(json_unprintable),
        serde_json::Value::Object(o) => o
            .iter()
            .any(|(k, v)| k.chars().any(unprintable) || json_unprintable(v)),
        _ => false,
    }
}

impl ContactInput {
    /// Checks contact details as sent: trimmed, bounded, free of control characters,
    /// a plausible phone and e-mail. Errors name `{prefix}.name` and so on. The same
    /// rule serves reports and "me too", so neither stores what the other refuses.
    pub fn parse(self, prefix: &str, errors: &mut Vec<FieldError>) -> Contact {
        let mut c = Contact {
            name: optional_text(self.name, &format!("{prefix}.name"), MAX_NAME_CHARS, errors),
            phone: optional_text(self.phone, &format!("{prefix}.phone"), 32, errors),
            email: optional_text(self.email, &format!("{prefix}.email"), 254, errors),
        };
        if c.phone.as_deref().is_some_and(|p| !plausible_phone(p)) {
            errors.push(FieldError::new(
                format!("{prefix}.phone"),
                "is not a phone number",
            ));
        } else {
            c.phone = c.phone.as_deref().map(normalize_phone);
        }
        if c.email.as_deref().is_some_and(|e| !plausible_email(e)) {
            errors.push(FieldError::new(
                format!("{prefix}.email"),
                "is not an e-mail address",
            ));
        }
        c
    }
}

fn plausible_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !e.contains(char::is_whitespace)
}

/// A phone number as it is kept and searched: its digits, with a leading `+` if
/// it had one ("138 0013-8000" and "13800138000" are one number).
pub fn normalize_phone(p: &str) -> String {
    let p = p.trim();
    let digits = p.chars().filter(char::is_ascii_digit);
    if p.starts_with('+') {
        std::iter::once('+').chain(digits).collect()
    } else {
        digits.collect()
    }
}

/// The forms one number may have been kept in: as given, and with or without
/// China's country code (+86).
pub fn phone_variants(p: &str) -> Vec<String> {
    let n = normalize_phone(p);
    let national = n
        .strip_prefix("+86")
        .or_else(|| n.strip_prefix("0086"))
        .map(str::to_owned);
    let mut out = vec![n.clone()];
    match national {
        Some(national) => out.push(national),
        None if !n.starts_with('+') => out.push(format!("+86{n}")),
        None => {}
    }
    out
}

pub(crate) fn plausible_phone(p: &str) -> bool {
    let digits = p.chars().filter(char::is_ascii_digit).count();
    (5..=20).contains(&digits) && p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
}

/// Checks answers against the category's extra questions (Open311 datatypes) and
/// normalises them: numbers given as text become numbers, a single answer to a
/// multi-value question becomes a list.
pub fn check_attributes(
    cat: &crate::Category,
    given: serde_json::Map<String, serde_json::Value>,
    errors: &mut Vec<FieldError>,
) -> serde_json::Map<String, serde_json::Value> {
    use crate::catalog::AttributeType as T;
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    for key in given.keys() {
        if !cat.attributes.iter().any(|a| &a.code == key) {
            errors.push(FieldError::new(
                format!("attributes.{key}"),
                format!("{} asks no question {key:?}", cat.code),
            ));
        }
    }
    for a in &cat.attributes {
        let field = format!("attributes.{}", a.code);
        let value = given.get(&a.code).filter(|v| {
            !v.is_null() && v.as_str() != Some("") && v.as_array().is_none_or(|l| !l.is_empty())
        });
        let Some(v) = value else {
            if a.required {
                errors.push(FieldError::new(field, "is required"));
            }
            continue;
        };
        let keys = || {
            a.values
                .iter()
                .map(|x| x.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let in_list = |k: &str| a.values.iter().any(|x| x.key == k);
        let checked = match (a.datatype, v) {
            (T::String, Value::String(t)) if t.chars().count() <= 500 => Some(v.clone()),
            (T::Text, Value::String(t)) if t.chars().count() <= MAX_DESCRIPTION_CHARS => {
                Some(v.clone())
            }
            (T::Number, Value::Number(_)) => Some(v.clone()),
            (T::Number, Value::String(t)) => t
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|n| serde_json::json!(n)),
            (T::Datetime, Value::String(t)) => {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(|_| v.clone())
            }
            (T::Singlevaluelist, Value::String(k)) if in_list(k) => Some(v.clone()),
            (T::Multivaluelist, Value::String(k)) if in_list(k) => {
                Some(Value::Array(vec![v.clone()]))
            }
            (T::Multivaluelist, Value::Array(items))
                if items.iter().all(|i| i.as_str().is_some_and(in_list)) =>
            {
                Some(v.clone())
            }
            _ => None,
        };
        match checked {
            Some(c) => {
                out.insert(a.code.clone(), c);
            }
            None => {
                let want = match a.datatype {
                    T::String => "text of at most 500 characters".to_owned(),
                    T::Text => format!("text of at most {MAX_DESCRIPTION_CHARS} characters"),
                    T::Number => "a number".to_owned(),
                    T::Datetime => "an RFC 3339 date-time".to_owned(),
                    T::Singlevaluelist => format!("one of: {}", keys()),
                    T::Multivaluelist => format!("a list of: {}", keys()),
                };
                errors.push(FieldError::new(field, format!("must be {want}")));
            }
        }
    }
    out
}

impl ReportInput {
    /// Parses the input, or names every faulty field.
    pub fn parse(self, ctx: &ParseContext<'_>) -> Result<NewReport, Vec<FieldError>> {
        let mut errors = Vec::new();

        let category = match self.category.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push(FieldError::new("category", "is required"));
                None
            }
            Some(code) => match ctx.catalog.category(code) {
                Some(c) => Some(c),
                None => {
                    errors.push(FieldError::new(
                        "category",
                        format!("unknown category {code:?}"),
                    ));
                    None
                }
            },
        };

        let description = optional_text(
            self.description,
            "description",
            MAX_DESCRIPTION_CHARS,
            &mut errors,
        )
        .unwrap_or_default();
        if description.is_empty()
            && ctx.photo_count == 0
            && !errors.iter().any(|e| e.field == "description")
        {
            errors.push(FieldError::new(
                "description",
                "describe the hazard or attach a photo",
            ));
        }

        let crs = match self.crs.as_deref() {
            None => Some(Crs::Wgs84),
            Some(s) => match s.parse::<Crs>() {
                Ok(c) => Some(c),
                Err(e) => {
                    errors.push(FieldError::new("crs", e.to_string()));
                    None
                }
            },
        };
        let location = match (self.lat, self.lon, crs) {
            (Some(lat), Some(lon), Some(crs)) => match Point::from_crs(lat, lon, crs) {
                Ok(p) => Some(p),
                Err(GeoError::InvalidLatitude) => {
                    errors.push(FieldError::new(
                        "lat",
                        GeoError::InvalidLatitude.to_string(),
                    ));
                    None
                }
                Err(e @ GeoError::InvalidLongitude) => {
                    errors.push(FieldError::new("lon", e.to_string()));
                    None
                }
                Err(e) => {
                    errors.push(FieldError::new("crs", e.to_string()));
                    None
                }
            },
            (None, None, _) => match ctx.exif_location {
                Some(p) => Some(p),
                None => {
                    errors.push(FieldError::new(
                        "lat",
                        "a location is required (lat and lon, or a photo with GPS data)",
                    ));
                    None
                }
            },
            (None, Some(_), _) => {
                errors.push(FieldError::new("lat", "is required when lon is given"));
                None
            }
            (Some(_), None, _) => {
                errors.push(FieldError::new("lon", "is required when lat is given"));
                None
            }
            (_, _, None) => None,
        };

        let accuracy_m = match self.accuracy_m {
            Some(a) if !(a.is_finite() && (0.0..=100_000.0).contains(&a)) => {
                errors.push(FieldError::new(
                    "accuracy_m",
                    "must be between 0 and 100000 metres",
                ));
                None
            }
            other => other,
        };

        let address = optional_text(self.address, "address", MAX_ADDRESS_CHARS, &mut errors);

        let mut attributes = self.attributes.unwrap_or_default();
        if let Some(cat) = category {
            attributes = check_attributes(cat, attributes, &mut errors);
        }
        if attributes.len() > MAX_ATTRIBUTES {
            errors.push(FieldError::new(
                "attributes",
                format!("at most {MAX_ATTRIBUTES} attributes"),
            ));
        }
        for (k, v) in &attributes {
            let size = v.to_string().chars().count();
            if k.is_empty() || k.chars().count() > 100 || size > MAX_ATTRIBUTE_CHARS {
                errors.push(FieldError::new(
                    format!("attributes.{k}"),
                    format!("attribute names must be 1-100 characters and values at most {MAX_ATTRIBUTE_CHARS}"),
                ));
            } else if k.chars().any(unprintable) || json_unprintable(v) {
                errors.push(FieldError::new(
                    format!("attributes.{k}"),
                    "must not contain control characters",
                ));
            }
        }

        let contact = self.contact.map(|c| c.parse("contact", &mut errors));
        let contact = contact.filter(|c| !c.is_empty());
        let anonymous = self.anonymous.unwrap_or(false);
        let reporter = match (&ctx.account, anonymous, contact) {
            (_, true, Some(_)) => {
                errors.push(FieldError::new(
                    "anonymous",
                    "an anonymous report cannot carry contact details",
                ));
                Reporter::Anonymous
            }
            (Some(account), false, _) => Reporter::Account(account.clone()),
            (_, _, Some(c)) => Reporter::Contact(c),
            (_, _, None) => Reporter::Anonymous,
        };
        if let (Reporter::Anonymous, Some(cat)) = (&reporter, category)
            && !cat.allow_anonymous
        {
            errors.push(FieldError::new(
                "contact",
                "this category needs a way to contact you",
            ));
        }

        let observed_at = match self.observed_at.as_deref() {
            None => ctx.exif_time,
            Some(s) => {
                match OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
                    Ok(t) => Some(t),
                    Err(_) => {
                        errors.push(FieldError::new(
                            "observed_at",
                            "must be an RFC 3339 date-time",
                        ));
                        None
                    }
                }
            }
        };

        let channel = match self.channel {
            None => ctx.channel,
            Some(c @ (Channel::Web | Channel::Api)) => c,
            Some(Channel::Phone) if ctx.staff => Channel::Phone,
            Some(Channel::Phone) => {
                errors.push(FieldError::new(
                    "channel",
                    "only staff can file phone reports",
                ));
                ctx.channel
            }
            Some(other) => {
                errors.push(FieldError::new(
                    "channel",
                    format!("{other} reports use their own endpoint"),
                ));
                ctx.channel
            }
        };

        match (category, location, errors.is_empty()) {
            (Some(cat), Some(location), true) => Ok(NewReport {
                category: cat.code.clone(),
                description,
                location,
                accuracy_m,
                address,
                attributes,
                reporter,
                channel,
                priority: cat.default_priority,
                observed_at,
                jurisdiction: None,
                routing: None,
                due: None,
                media_urls: Vec::new(),
                reporter_key_hash: None,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(catalog: &Catalog) -> ParseContext<'_> {
        ParseContext {
            catalog,
            photo_count: 0,
            exif_location: None,
            exif_time: None,
            channel: Channel::Api,
            account: None,
            staff: false,
        }
    }

    fn input() -> ReportInput {
        ReportInput {
            category: Some("pothole".into()),
            description: Some("Deep hole by the bus stop".into()),
            lat: Some(36.45),
            lon: Some(115.98),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_report_parses() {
        let c = Catalog::builtin();
        let r = input().parse(&ctx(&c)).unwrap();
        assert_eq!(r.category, "pothole");
        assert_eq!(r.reporter, Reporter::Anonymous);
        assert_eq!(r.priority, Priority::Normal);
    }

    #[test]
    fn every_faulty_field_is_named() {
        let c = Catalog::builtin();
        let bad = ReportInput {
            category: Some("volcano".into()),
            description: Some("x".repeat(100_000)),
            lat: Some(f64::NAN),
            lon: Some(10.0),
            contact: Some(ContactInput {
                email: Some("not-an-email".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let errs = bad.parse(&ctx(&c)).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["category", "description", "lat", "contact.email"]);
    }

    #[test]
    fn missing_location_falls_back_to_exif_then_fails() {
        let c = Catalog::builtin();
        let no_loc = ReportInput {
            lat: None,
            lon: None,
            ..input()
        };
        let errs = no_loc.clone().parse(&ctx(&c)).unwrap_err();
        assert_eq!(errs[0].field, "lat");
        let mut with_exif = ctx(&c);
        with_exif.exif_location = Some(Point::new(36.4, 116.0).unwrap());
        assert_eq!(no_loc.parse(&with_exif).unwrap().location.lat(), 36.4);
    }

    #[test]
    fn gcj02_input_is_stored_as_wgs84() {
        let c = Catalog::builtin();
        let r = ReportInput {
            crs: Some("gcj02".into()),
            ..input()
        }
        .parse(&ctx(&c))
        .unwrap();
        assert!((r.location.lon() - 115.98).abs() > 1e-4, "converted");
    }

    #[test]
    fn extra_questions_are_checked_by_datatype_and_normalised() {
        let c = Catalog::builtin();
        let elevator = |attrs: serde_json::Value| ReportInput {
            category: Some("elevator_fault".into()),
            attributes: attrs.as_object().cloned(),
            ..input()
        };
        let errs = elevator(serde_json::json!({})).parse(&ctx(&c)).unwrap_err();
        assert_eq!(
            (errs[0].field.as_str(), errs[0].message.as_str()),
            ("attributes.people_trapped", "is required")
        );
        let errs = elevator(serde_json::json!({"people_trapped": "maybe", "colour": "red"}))
            .parse(&ctx(&c))
            .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["attributes.colour", "attributes.people_trapped"]);
        assert!(errs[1].message.contains("yes, no"));
        let ok = elevator(serde_json::json!({"people_trapped": "yes", "floor": "12"}))
            .parse(&ctx(&c))
            .unwrap();
        assert_eq!(ok.attributes["floor"], serde_json::json!(12.0));
        let food = ReportInput {
            category: Some("food_safety".into()),
            attributes: serde_json::json!({"problems": "pests"})
                .as_object()
                .cloned(),
            ..input()
        };
        assert_eq!(
            food.parse(&ctx(&c)).unwrap().attributes["problems"],
            serde_json::json!(["pests"])
        );
    }

    #[test]
    fn anonymous_with_contact_is_contradictory() {
        let c = Catalog::builtin();
        let r = ReportInput {
            anonymous: Some(true),
            contact: Some(ContactInput {
                phone: Some("13800138000".into()),
                ..Default::default()
            }),
            ..input()
        };
        assert_eq!(r.parse(&ctx(&c)).unwrap_err()[0].field, "anonymous");
    }

    #[test]
    fn a_phone_is_kept_as_its_digits_and_found_with_or_without_the_country_code() {
        assert_eq!(normalize_phone(" 138 0013-8000 "), "13800138000");
        assert_eq!(normalize_phone("+86 (138) 0013 8000"), "+8613800138000");
        assert_eq!(
            phone_variants("138 0013 8000"),
            ["13800138000", "+8613800138000"]
        );
        assert_eq!(
            phone_variants("+86 13800138000"),
            ["+8613800138000", "13800138000"]
        );
        assert_eq!(phone_variants("+44 20 7946 0000"), ["+442079460000"]);
        let mut errors = vec![];
        let c = ContactInput {
            phone: Some("138-0013-8000".into()),
            ..Default::default()
        }
        .parse("contact", &mut errors);
        assert!(errors.is_empty());
        assert_eq!(c.phone.as_deref(), Some("13800138000"));
    }
}
