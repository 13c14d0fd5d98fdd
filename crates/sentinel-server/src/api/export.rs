//! `GET /api/v1/analysis/export`: any filtered set of reports as CSV, GeoJSON or
//! XLSX, streamed page by page so a million rows never sit in memory. Each export is
//! logged with who asked, the filter and the row count. Reporter contact details
//! come only with `contact=true`, only for the command centre (admin, dispatcher),
//! and every row that carries them is written to the personal-data access log
//! before it is sent.

use crate::AppState;
use crate::api::analysis::READERS;
use crate::api::reports::ListQuery;
use crate::auth::Staff;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::views::ts;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sentinel_core::{Report, ReportId, Reporter, Role};
use sentinel_store::{AccessLogEntry, ReportQuery, Store};
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Reports read from the store per page.
const PAGE: u32 = 5_000;

/// The columns, in order.
pub const COLUMNS: [&str; 20] = [
    "id",
    "tracking_code",
    "category",
    "category_name",
    "status",
    "priority",
    "department",
    "jurisdiction",
    "channel",
    "lat",
    "lon",
    "address",
    "description",
    "supporters",
    "created_at",
    "updated_at",
    "closed_at",
    "due_at",
    "rating",
    "merged_into",
];

/// The columns `contact=true` adds.
pub const CONTACT_COLUMNS: [&str; 4] =
    ["reporter", "contact_name", "contact_phone", "contact_email"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportParams {
    format: Option<String>,
    bbox: Option<String>,
    status: Option<String>,
    category: Option<String>,
    department: Option<String>,
    since: Option<String>,
    until: Option<String>,
    contact: Option<bool>,
}

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated, UTF-8 with a byte-order mark so spreadsheet programs read
    /// Chinese correctly.
    Csv,
    /// A GeoJSON FeatureCollection of points.
    GeoJson,
    /// An Excel workbook (a new sheet every 1,000,000 rows).
    Xlsx,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(Format::Csv),
            "geojson" => Ok(Format::GeoJson),
            "xlsx" => Ok(Format::Xlsx),
            other => Err(format!(
                "format must be csv, geojson or xlsx, not {other:?}"
            )),
        }
    }
}

impl Format {
    fn content_type(&self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::GeoJson => "application/geo+json",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    fn extension(&self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::GeoJson => "geojson",
            Format::Xlsx => "xlsx",
        }
    }
}

/// One report as export cells, in [`COLUMNS`] order, then [`CONTACT_COLUMNS`]
/// when `contact` (the caller logged the access).
pub fn cells(r: &Report, category_name: &str, contact: bool) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let mut c = vec![
        r.id.to_string(),
        r.tracking_code.to_string(),
        r.category.clone(),
        category_name.to_owned(),
        r.status.to_string(),
        r.priority.to_string(),
        opt(r.department.clone()),
        opt(r.jurisdiction.clone()),
        r.channel.to_string(),
        format!("{:.7}", r.location.lat()),
        format!("{:.7}", r.location.lon()),
        opt(r.address.clone()),
        r.description.clone(),
        r.supporters.to_string(),
        ts(r.created_at),
        ts(r.updated_at),
        opt(r.closed_at.map(ts)),
        opt(r.due.map(|d| ts(d.0))),
        opt(r.rating.map(|x| x.0.to_string())),
        opt(r.merged_into.map(|m| m.to_string())),
    ];
    if contact {
        match &r.reporter {
            Reporter::Contact(p) => c.extend([
                "contact".into(),
                opt(p.name.clone()),
                opt(p.phone.clone()),
                opt(p.email.clone()),
            ]),
            Reporter::Account(h) => c.extend([
                format!("account:{h}"),
                String::new(),
                String::new(),
                String::new(),
            ]),
            Reporter::Anonymous => c.extend([
                "anonymous".into(),
                String::new(),
                String::new(),
                String::new(),
            ]),
        }
    }
    c
}

/// The header of an export.
pub fn columns(contact: bool) -> Vec<&'static str> {
    let mut h = COLUMNS.to_vec();
    if contact {
        h.extend(CONTACT_COLUMNS);
    }
    h
}

/// Whether a report carries contact details worth logging a read of.
fn has_contact(r: &Report) -> bool {
    matches!(r.reporter, Reporter::Contact(_) | Reporter::Account(_))
}

/// A cell as a spreadsheet may read it: text starting with `=`, `+`, `-`, `@`, tab
/// or carriage return would run as a formula (OWASP's CSV injection), so it gets a
/// leading apostrophe. Numbers (a negative longitude) stay as they are.
pub fn csv_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Writes pages of reports in one format; `finish` closes the document.
pub struct Writer {
    format: Format,
    contact: bool,
    rows: u64,
}

impl Writer {
    /// A writer; `start` gives the document's opening bytes.
    pub fn new(format: Format, contact: bool) -> (Writer, Vec<u8>) {
        let start = match format {
            Format::Csv => {
                let mut b = "\u{feff}".as_bytes().to_vec();
                b.extend_from_slice(columns(contact).join(",").as_bytes());
                b.extend_from_slice(b"\r\n");
                b
            }
            Format::GeoJson => br#"{"type":"FeatureCollection","features":["#.to_vec(),
            Format::Xlsx => Vec::new(),
        };
        (
            Writer {
                format,
                contact,
                rows: 0,
            },
            start,
        )
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Appends one page.
    pub fn page(&mut self, reports: &[Report], name: &dyn Fn(&str) -> String, out: &mut Vec<u8>) {
        match self.format {
            Format::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(std::mem::take(out));
                for r in reports {
                    let row = cells(r, &name(&r.category), self.contact);
                    let _ = w.write_record(row.iter().map(|c| csv_cell(c).into_owned()));
                }
                *out = w.into_inner().unwrap_or_default();
            }
            Format::GeoJson => {
                for r in reports {
                    // Every feature but the document's first follows a comma.
                    if self.rows > 0 {
                        out.push(b',');
                    }
                    let c = cells(r, &name(&r.category), self.contact);
                    let mut props = serde_json::Map::new();
                    for (k, v) in columns(self.contact).iter().zip(c) {
                        if *k != "lat" && *k != "lon" {
                            props.insert((*k).into(), serde_json::Value::String(v));
                        }
                    }
                    let f = serde_json::json!({
                        "type": "Feature",
                        "geometry": { "type": "Point", "coordinates": [r.location.lon(), r.location.lat()] },
                        "properties": props,
                    });
                    let _ = serde_json::to_writer(&mut *out, &f);
                    self.rows += 1;
                }
                return;
            }
            Format::Xlsx => {}
        }
        self.rows += reports.len() as u64;
    }

    /// The document's closing bytes.
    pub fn finish(&self) -> Vec<u8> {
        match self.format {
            Format::GeoJson => b"]}".to_vec(),
            _ => Vec::new(),
        }
    }
}

/// Every report matching a query, newest first, a page at a time.
pub struct Pages {
    query: ReportQuery,
    done: bool,
    /// Who reads contact details (user, role): each page's reports with contact
    /// details go to the access log before the page is handed out.
    reader: Option<(String, String)>,
}

impl Pages {
    /// The pages of `query` (its limit and cursor are replaced).
    pub fn new(mut query: ReportQuery) -> Pages {
        query.limit = PAGE;
        query.before_id = None;
        Pages {
            query,
            done: false,
            reader: None,
        }
    }

    /// The same pages, each logged as read with contact details by `user`.
    pub fn logged_for(mut self, user: &str, role: &str) -> Pages {
        self.reader = Some((user.to_owned(), role.to_owned()));
        self
    }

    /// The next page; `None` after the last.
    pub async fn next(
        &mut self,
        store: &dyn Store,
    ) -> Result<Option<Vec<Report>>, sentinel_store::StoreError> {
        if self.done {
            return Ok(None);
        }
        let page = store.reports(&self.query).await?;
        self.done = page.len() < PAGE as usize;
        if let Some((user, role)) = &self.reader {
            let at = time::OffsetDateTime::now_utc();
            let entries: Vec<AccessLogEntry> = page
                .iter()
                .filter(|r| has_contact(r))
                .map(|r| AccessLogEntry {
                    at,
                    user: user.clone(),
                    role: role.clone(),
                    report_id: r.id,
                    fields: "contact".into(),
                    purpose: "export".into(),
                })
                .collect();
            if !entries.is_empty() {
                store.log_personal_data_access_many(entries).await?;
            }
        }
        match page.last() {
            Some(last) => {
                self.query.before_id = Some(ReportId(last.id.0));
                Ok(Some(page))
            }
            None => Ok(None),
        }
    }
}

/// `GET /api/v1/analysis/export?format=csv|geojson|xlsx&status=&category=&department=&since=&until=&bbox=`
pub(crate) async fn export(
    State(s): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    staff.require(&READERS)?;
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or("csv")
        .parse()
        .map_err(ApiError::BadRequest)?;
    let contact = q.contact.unwrap_or(false);
    if contact && !matches!(staff.user.role, Role::Admin | Role::Dispatcher) {
        return Err(ApiError::Forbidden(
            "contact details in exports are for the command centre (admin, dispatcher)".into(),
        ));
    }
    let filter = format!(
        "status={} category={} department={} since={} until={} bbox={} contact={contact}",
        q.status.as_deref().unwrap_or("*"),
        q.category.as_deref().unwrap_or("*"),
        q.department.as_deref().unwrap_or("*"),
        q.since.as_deref().unwrap_or("*"),
        q.until.as_deref().unwrap_or("*"),
        q.bbox.as_deref().unwrap_or("*"),
    );
    let query = ListQuery {
        bbox: q.bbox,
        status: q.status,
        category: q.category,
        department: q.department,
        since: q.since,
        until: q.until,
        limit: None,
        cursor: None,
        queue: None,
    }
    .into_query(&s)?;
    let catalog = s.catalog();
    let names: Arc<dyn Fn(&str) -> String + Send + Sync> = Arc::new(move |code: &str| {
        catalog
            .category(code)
            .map_or_else(|| code.to_owned(), |c| c.name.clone())
    });
    let user = staff.user.name.clone();
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let disposition = format!(
        "attachment; filename=\"sentinel-reports-{stamp}.{}\"",
        format.extension()
    );
    let mut pages = Pages::new(query);
    if contact {
        pages = pages.logged_for(&user, staff.user.role.as_str());
    }
    if format == Format::Xlsx {
        let bytes = xlsx_of(&*s.store, pages, names, contact, |_| {})
            .await
            .map_err(ApiError::Internal)?;
        tracing::info!(user = %user, format = "xlsx", %filter, bytes = bytes.len(), "reports exported");
        return Ok((
            [
                (header::CONTENT_TYPE, format.content_type().to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            bytes,
        )
            .into_response());
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let store = s.store.clone();
    tokio::spawn(async move {
        let (mut w, start) = Writer::new(format, contact);
        if tx.send(Ok(Bytes::from(start))).await.is_err() {
            return;
        }
        let (page_tx, mut page_rx) = mpsc::channel::<Result<Vec<Report>, String>>(2);
        // The store is read ahead of the encoder by up to two pages.
        tokio::spawn(async move {
            let mut pages = pages;
            loop {
                match pages.next(&*store).await {
                    Ok(Some(p)) => {
                        if page_tx.send(Ok(p)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        let _ = page_tx.send(Err(e.to_string())).await;
                        return;
                    }
                }
            }
        });
        let mut ok = true;
        while let Some(page) = page_rx.recv().await {
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    // Abort the body: the client sees a broken transfer, never a
                    // complete-looking file with rows missing.
                    tracing::error!(error = %e, "export stopped: the store failed");
                    let _ = tx.send(Err(std::io::Error::other(e))).await;
                    ok = false;
                    break;
                }
            };
            let mut out = Vec::with_capacity(page.len() * 200);
            w.page(&page, &*names, &mut out);
            if tx.send(Ok(Bytes::from(out))).await.is_err() {
                ok = false;
                break;
            }
        }
        if ok {
            let _ = tx.send(Ok(Bytes::from(w.finish()))).await;
        }
        tracing::info!(user = %user, format = ?format, %filter, rows = w.rows(), complete = ok, "reports exported");
    });
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (b, rx))
    }));
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// Rows per sheet (Excel holds 1,048,576 with the header).
const SHEET_ROWS: u32 = 1_000_000;

/// Writes the workbook from pages as `next` gives them (call it on a blocking
/// thread): each sheet's rows go to a temporary file, so memory stays flat.
pub fn write_xlsx(
    mut next: impl FnMut() -> Option<Vec<Report>>,
    names: &dyn Fn(&str) -> String,
    contact: bool,
    mut progress: impl FnMut(u64),
) -> Result<Vec<u8>, String> {
    let head = columns(contact);
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let mut row: u32 = 0;
    let mut rows: u64 = 0;
    let mut sheets: usize = 0;
    let err = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let header = |ws: &mut rust_xlsxwriter::Worksheet| -> Result<(), String> {
        for (c, h) in head.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(err)?;
        }
        Ok(())
    };
    while let Some(page) = next() {
        for r in &page {
            if sheets == 0 || row > SHEET_ROWS {
                sheets += 1;
                let ws = book.add_worksheet_with_constant_memory().map_err(err)?;
                ws.set_name(format!("reports {sheets}")).map_err(err)?;
                header(ws)?;
                row = 1;
            }
            let ws = book.worksheet_from_index(sheets - 1).map_err(err)?;
            for (c, v) in cells(r, &names(&r.category), contact).iter().enumerate() {
                let col = c as u16;
                match head[c] {
                    "id" | "lat" | "lon" | "supporters" => {
                        ws.write_number(row, col, v.parse::<f64>().unwrap_or(0.0))
                            .map_err(err)?;
                    }
                    _ if v.is_empty() => {}
                    _ => {
                        ws.write_string(row, col, v).map_err(err)?;
                    }
                }
            }
            row += 1;
        }
        rows += page.len() as u64;
        progress(rows);
    }
    if sheets == 0 {
        header(book.add_worksheet())?;
    }
    book.save_to_buffer().map_err(err)
}

/// Feeds `pages` to [`write_xlsx`] on a blocking thread.
pub async fn xlsx_of(
    store: &dyn Store,
    mut pages: Pages,
    names: Arc<dyn Fn(&str) -> String + Send + Sync>,
    contact: bool,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<Vec<u8>, String> {
    let (page_tx, mut page_rx) = mpsc::channel::<Vec<Report>>(2);
    let writer = tokio::task::spawn_blocking(move || {
        write_xlsx(|| page_rx.blocking_recv(), &*names, contact, progress)
    });
    let mut failed = None;
    loop {
        match pages.next(store).await {
            Ok(Some(p)) => {
                if page_tx.send(p).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                failed = Some(e.to_string());
                break;
            }
        }
    }
    drop(page_tx);
    let book = writer.await.map_err(|e| e.to_string())?;
    match failed {
        Some(e) => Err(e),
        None => book,
    }
}

#[cfg(test)]
mod csv_tests {
    use super::csv_cell;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for risky in [
            "=1+1",
            "+SUM(A1)",
            "-2+3",
            "@cmd",
            "\tx",
            "\rx",
            "=HYPERLINK(\"http://x\")",
        ] {
            assert_eq!(csv_cell(risky), format!("'{risky}"), "{risky:?}");
        }
        for safe in ["-116.5", "+3", "a=b", "路面塌陷", ""] {
            assert_eq!(csv_cell(safe), safe);
        }
    }
}
