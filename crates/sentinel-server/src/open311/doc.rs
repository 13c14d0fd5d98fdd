//! Open311 documents: one tree, written as XML (the required format: a declaration,
//! no namespace, one element per field) or as JSON (the Spark convention: the root
//! list becomes an array, each element an object).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// The response format, from the resource's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `.xml`: `text/xml`.
    Xml,
    /// `.json`: `application/json`.
    Json,
}

impl Format {
    /// Splits `requests.json` into `("requests", Json)`; an unknown or missing
    /// extension is an error answered in XML, the format every client reads.
    pub(crate) fn split(file: &str) -> Result<(&str, Format), Open311Error> {
        match file.rsplit_once('.') {
            Some((stem, "xml")) => Ok((stem, Format::Xml)),
            Some((stem, "json")) => Ok((stem, Format::Json)),
            _ => Err(Open311Error::new(
                Format::Xml,
                StatusCode::NOT_FOUND,
                format!("no resource {file:?}: name a resource with its format, .xml or .json"),
            )),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
        }
    }
}

/// A value in a document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// Text.
    Text(String),
    /// A number (kept as written).
    Number(String),
    /// `true` / `false`.
    Bool(bool),
    /// Nothing: an empty element, JSON `null`.
    Null,
    /// Named fields, in order.
    Record(Vec<(&'static str, Node)>),
    /// A list whose XML items are named `item`.
    List(&'static str, Vec<Node>),
}

impl Node {
    /// Text, or nothing when absent.
    pub(crate) fn opt_text(s: Option<impl Into<String>>) -> Node {
        s.map_or(Node::Null, |s| Node::Text(s.into()))
    }

    /// A number.
    pub(crate) fn num(n: impl std::fmt::Display) -> Node {
        Node::Number(n.to_string())
    }

    fn to_json(&self) -> Value {
        match self {
            Node::Text(s) => Value::String(s.clone()),
            Node::Number(n) => serde_json::from_str(n).unwrap_or_else(|_| Value::String(n.clone())),
            Node::Bool(b) => Value::Bool(*b),
            Node::Null => Value::Null,
            Node::Record(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_json()))
                    .collect::<Map<_, _>>(),
            ),
            Node::List(_, items) => Value::Array(items.iter().map(Node::to_json).collect()),
        }
    }

    fn write_xml(&self, name: &str, out: &mut String) {
        match self {
            Node::Null => {
                out.push('<');
                out.push_str(name);
                out.push_str("/>");
            }
            _ => {
                out.push('<');
                out.push_str(name);
                out.push('>');
                match self {
                    Node::Text(s) | Node::Number(s) => {
                        out.push_str(&quick_xml::escape::escape(xml_chars(s).as_ref()));
                    }
                    Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                    Node::Record(fields) => {
                        for (k, v) in fields {
                            v.write_xml(k, out);
                        }
                    }
                    Node::List(item, items) => {
                        for v in items {
                            v.write_xml(item, out);
                        }
                    }
                    Node::Null => {}
                }
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    }
}

/// Characters XML 1.0 may carry: one stored string it cannot (a control character
/// or U+FFFE from before input refused them) must not break the document for every
/// client, so the writer drops them itself.
fn xml_chars(s: &str) -> std::borrow::Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}'
    };
    if s.chars().all(allowed) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.chars().filter(|&c| allowed(c)).collect())
    }
}

fn respond(format: Format, status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    res
}

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

/// A list document: `<root><item>…</item>…</root>`, or a JSON array.
pub(crate) fn list(format: Format, root: &str, item: &'static str, items: Vec<Node>) -> Response {
    list_with_status(format, StatusCode::OK, root, item, items)
}

fn list_with_status(
    format: Format,
    status: StatusCode,
    root: &str,
    item: &'static str,
    items: Vec<Node>,
) -> Response {
    let doc = Node::List(item, items);
    let body = match format {
        Format::Json => doc.to_json().to_string(),
        Format::Xml => {
            let mut out = String::from(DECLARATION);
            doc.write_xml(root, &mut out);
            out
        }
    };
    respond(format, status, body)
}

/// A single-record document: `<root>fields</root>`, or a JSON object.
pub(crate) fn one(format: Format, root: &str, record: Node) -> Response {
    let body = match format {
        Format::Json => record.to_json().to_string(),
        Format::Xml => {
            let mut out = String::from(DECLARATION);
            record.write_xml(root, &mut out);
            out
        }
    };
    respond(format, StatusCode::OK, body)
}

/// A spec-shaped failure: `<errors><error><code/><description/></error></errors>`
/// with the HTTP status the spec asks for (404 missing, 403 key, 400 the rest).
#[derive(Debug)]
pub(crate) struct Open311Error {
    pub(crate) format: Format,
    pub(crate) status: StatusCode,
    pub(crate) descriptions: Vec<String>,
    pub(crate) retry_after: Option<u64>,
}

impl Open311Error {
    pub(crate) fn new(format: Format, status: StatusCode, description: impl Into<String>) -> Self {
        Open311Error {
            format,
            status,
            descriptions: vec![description.into()],
            retry_after: None,
        }
    }

    pub(crate) fn bad(format: Format, description: impl Into<String>) -> Self {
        Self::new(format, StatusCode::BAD_REQUEST, description)
    }

    pub(crate) fn not_found(format: Format, description: impl Into<String>) -> Self {
        Self::new(format, StatusCode::NOT_FOUND, description)
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let code = self.status.as_u16();
        let items = self
            .descriptions
            .into_iter()
            .map(|d| {
                Node::Record(vec![
                    ("code", Node::num(code)),
                    ("description", Node::Text(d)),
                ])
            })
            .collect();
        let mut res = list_with_status(self.format, self.status, "errors", "error", items);
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Node> {
        vec![Node::Record(vec![
            ("service_code", Node::Text("fire_lane".into())),
            ("metadata", Node::Bool(true)),
            ("lat", Node::num(36.45)),
            ("note", Node::Text("a < b & \"c\"".into())),
            ("zipcode", Node::Null),
            (
                "groups",
                Node::List("group", vec![Node::Text("safety".into())]),
            ),
        ])]
    }

    #[test]
    fn xml_has_one_element_per_field_and_escapes_text() {
        let mut out = String::new();
        Node::List("service", sample()).write_xml("services", &mut out);
        assert_eq!(
            out,
            "<services><service><service_code>fire_lane</service_code><metadata>true</metadata>\
             <lat>36.45</lat><note>a &lt; b &amp; &quot;c&quot;</note><zipcode/>\
             <groups><group>safety</group></groups></service></services>"
        );
    }

    #[test]
    fn xml_drops_characters_xml_cannot_carry() {
        let mut out = String::new();
        Node::Text("a\u{FFFE}b\u{FFFF}c\u{1}d\te\u{1F600}".into()).write_xml("t", &mut out);
        assert_eq!(out, "<t>abcd\te\u{1F600}</t>");
    }

    #[test]
    fn json_follows_the_spark_convention() {
        let v = Node::List("service", sample()).to_json();
        assert_eq!(v[0]["lat"], 36.45);
        assert_eq!(v[0]["metadata"], true);
        assert!(v[0]["zipcode"].is_null());
        assert_eq!(v[0]["groups"][0], "safety");
    }

    #[test]
    fn the_format_comes_from_the_extension() {
        assert_eq!(
            Format::split("requests.json").unwrap(),
            ("requests", Format::Json)
        );
        assert_eq!(
            Format::split("SB-1234.xml").unwrap(),
            ("SB-1234", Format::Xml)
        );
        assert_eq!(
            Format::split("requests").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
    }
}
