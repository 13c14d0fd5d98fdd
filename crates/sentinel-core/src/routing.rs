//! Routing: which department leads a report (主办), who helps (协办), and why.
//!
//! A rule matches by matter (a category, a category group, or anything) and by
//! place (a jurisdiction, a level, or anywhere). The most specific matching rule
//! wins, judged matter first (category > group > any), then place (a named
//! jurisdiction > a level > anywhere; deeper is more specific), then file order.
//! A category's own `default_department` acts as a rule "this category, anywhere"
//! after the explicit ones. Nothing matching: the dispatch queue.

use crate::catalog::Catalog;
use sentinel_geo::Level;
use serde::{Deserialize, Serialize};

/// One routing rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRule {
    /// This category only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Any category of this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Inside this jurisdiction (by code), at any depth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// Inside any jurisdiction of this level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Lead department (主办).
    pub department: String,
    /// Co-handling departments (协办).
    #[serde(default)]
    pub co_departments: Vec<String>,
}

/// A jurisdiction a report lies in, as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place<'a> {
    /// Its code.
    pub code: &'a str,
    /// Its level.
    pub level: Level,
}

/// The outcome, recorded on the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Routing {
    /// Lead department.
    pub department: String,
    /// Co-handling departments.
    pub co_departments: Vec<String>,
    /// Index of the rule that fired (`None` for a category default or the queue).
    pub rule: Option<usize>,
    /// Why, in a sentence (English, for logs and the API; screens use `basis`).
    pub reason: String,
    /// Why, as a screen words it in the reader's language: a rule, the category's
    /// own department, or the dispatch queue. Reports routed before this was kept
    /// have none; [`Routing::basis`] works it out for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<RoutingBasis>,
}

/// What decided a report's department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingBasis {
    /// A routing rule (its index is `rule`).
    Rule,
    /// The category's default department; no more specific rule.
    CategoryDefault,
    /// No rule and no default: the dispatch queue.
    DispatchQueue,
}

impl Routing {
    /// What decided the department, for reports routed before `basis` was kept too.
    pub fn basis(&self) -> RoutingBasis {
        self.basis.unwrap_or(if self.rule.is_some() {
            RoutingBasis::Rule
        } else if self.reason.starts_with("no rule") {
            RoutingBasis::DispatchQueue
        } else {
            RoutingBasis::CategoryDefault
        })
    }
}

fn depth(level: Level) -> u8 {
    level as u8
}

/// How specifically `rule` matches, or `None` if it does not.
fn specificity(
    rule: &RoutingRule,
    category: &str,
    group: &str,
    places: &[Place<'_>],
) -> Option<(u8, u8)> {
    let matter = match (&rule.category, &rule.group) {
        (Some(c), _) if c == category => 2,
        (Some(_), _) => return None,
        (None, Some(g)) if g == group => 1,
        (None, Some(_)) => return None,
        (None, None) => 0,
    };
    let place = match (&rule.jurisdiction, rule.level) {
        (Some(code), _) => 10 + depth(places.iter().find(|p| p.code == code)?.level),
        (None, Some(level)) => {
            places.iter().find(|p| p.level == level)?;
            5 + depth(level)
        }
        (None, None) => 0,
    };
    Some((matter, place))
}

/// Routes a report of `category` lying in `places` (largest first).
pub fn route(catalog: &Catalog, category: &str, places: &[Place<'_>]) -> Routing {
    let cat = catalog.category(category);
    let group = cat.map_or("", |c| c.group.as_str());
    let best = catalog
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| specificity(r, category, group, places).map(|s| (s, i, r)))
        // Highest specificity; among equals, the earliest rule.
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let where_ = places.last().map_or_else(
        || "outside every jurisdiction".to_owned(),
        |p| format!("in {}", p.code),
    );
    match (best, cat) {
        // An explicit rule beats the category default unless it only matches "anything anywhere".
        (Some(((matter, place), i, r)), _)
            if matter > 0 || place > 0 || cat.is_none_or(|c| c.default_department.is_empty()) =>
        {
            Routing {
                department: r.department.clone(),
                co_departments: r.co_departments.clone(),
                rule: Some(i),
                basis: Some(RoutingBasis::Rule),
                reason: format!(
                    "rule {i} ({} {}) for {category} {where_}",
                    r.category
                        .as_ref()
                        .map(|c| format!("category {c}"))
                        .or(r.group.as_ref().map(|g| format!("group {g}")))
                        .unwrap_or("any matter".into()),
                    r.jurisdiction
                        .as_ref()
                        .map(|j| format!("in {j}"))
                        .or(r.level.map(|l| format!("in any {l}")))
                        .unwrap_or("anywhere".into()),
                ),
            }
        }
        (_, Some(c)) if !c.default_department.is_empty() => Routing {
            department: c.default_department.clone(),
            co_departments: vec![],
            rule: None,
            basis: Some(RoutingBasis::CategoryDefault),
            reason: format!(
                "the default department of {category} (no more specific rule) {where_}"
            ),
        },
        _ => Routing {
            department: catalog.dispatch_queue.clone(),
            co_departments: vec![],
            rule: None,
            basis: Some(RoutingBasis::DispatchQueue),
            reason: format!("no rule covers {category} {where_}: the dispatch queue"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        category: Option<&str>,
        group: Option<&str>,
        jurisdiction: Option<&str>,
        level: Option<Level>,
        department: &str,
    ) -> RoutingRule {
        RoutingRule {
            category: category.map(Into::into),
            group: group.map(Into::into),
            jurisdiction: jurisdiction.map(Into::into),
            level,
            department: department.into(),
            co_departments: vec![],
        }
    }

    fn catalog(rules: Vec<RoutingRule>) -> Catalog {
        let mut c = Catalog::builtin();
        c.rules = rules;
        c
    }

    const CITY: Place<'static> = Place {
        code: "371500",
        level: Level::City,
    };
    const DCF: Place<'static> = Place {
        code: "371502",
        level: Level::District,
    };
    const TOWN: Place<'static> = Place {
        code: "371502001",
        level: Level::Town,
    };

    #[test]
    fn precedence_follows_the_documented_table() {
        use Level::*;
        // (rules, category, places, expected department): the most specific wins.
        let cases: Vec<(Vec<RoutingRule>, &str, Vec<Place<'static>>, &str)> = vec![
            // Category beats group beats any matter.
            (
                vec![
                    rule(None, None, None, None, "a"),
                    rule(None, Some("roads"), None, None, "b"),
                    rule(Some("pothole"), None, None, None, "c"),
                ],
                "pothole",
                vec![CITY],
                "c",
            ),
            (
                vec![
                    rule(None, None, None, None, "a"),
                    rule(None, Some("roads"), None, None, "b"),
                ],
                "pothole",
                vec![CITY],
                "b",
            ),
            // For the same matter, a named jurisdiction beats a level beats anywhere.
            (
                vec![
                    rule(Some("pothole"), None, None, None, "a"),
                    rule(Some("pothole"), None, None, Some(District), "b"),
                    rule(Some("pothole"), None, Some("371502"), None, "c"),
                ],
                "pothole",
                vec![CITY, DCF],
                "c",
            ),
            (
                vec![
                    rule(Some("pothole"), None, None, None, "a"),
                    rule(Some("pothole"), None, None, Some(District), "b"),
                ],
                "pothole",
                vec![CITY, DCF],
                "b",
            ),
            // Deeper jurisdictions are more specific.
            (
                vec![
                    rule(Some("pothole"), None, Some("371502001"), None, "town"),
                    rule(Some("pothole"), None, Some("371502"), None, "district"),
                ],
                "pothole",
                vec![CITY, DCF, TOWN],
                "town",
            ),
            // Matter comes before place: a category rule anywhere beats an area-only rule.
            (
                vec![
                    rule(None, None, Some("371502"), None, "area"),
                    rule(Some("pothole"), None, None, None, "matter"),
                ],
                "pothole",
                vec![CITY, DCF],
                "matter",
            ),
            // Rules for elsewhere or for other matters do not fire; the category default does.
            (
                vec![
                    rule(Some("pothole"), None, Some("371521"), None, "x"),
                    rule(Some("gas_leak"), None, None, None, "y"),
                ],
                "pothole",
                vec![CITY, DCF],
                "housing",
            ),
            // Equal specificity: the earlier rule.
            (
                vec![
                    rule(Some("pothole"), None, None, None, "first"),
                    rule(Some("pothole"), None, None, None, "second"),
                ],
                "pothole",
                vec![CITY],
                "first",
            ),
            // A level rule needs the point to be inside something of that level.
            (
                vec![rule(Some("pothole"), None, None, Some(Grid), "grid")],
                "pothole",
                vec![CITY, DCF],
                "housing",
            ),
        ];
        for (i, (rules, category, places, want)) in cases.into_iter().enumerate() {
            let got = route(&catalog(rules), category, &places);
            assert_eq!(got.department, want, "case {i}: {}", got.reason);
        }
    }

    #[test]
    fn nothing_matching_goes_to_the_dispatch_queue_with_a_reason() {
        let mut c = catalog(vec![]);
        for cat in &mut c.categories {
            cat.default_department.clear();
        }
        let r = route(&c, "pothole", &[CITY]);
        assert_eq!((r.department.as_str(), r.rule), ("dispatch", None));
        assert!(r.reason.contains("dispatch queue"));
        let fired = route(
            &catalog(vec![rule(
                Some("pothole"),
                None,
                Some("371500"),
                None,
                "housing",
            )]),
            "pothole",
            &[CITY],
        );
        assert_eq!(fired.rule, Some(0));
        assert!(fired.reason.contains("rule 0"), "{}", fired.reason);
    }
}
