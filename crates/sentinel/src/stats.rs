//! `sentinel stats` (the trend table in the terminal, as CSV or JSON) and
//! `sentinel export` (any filtered set of reports to a file, with progress).

use crate::progress::counter;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use sentinel_analysis::{GroupBy, Period, PeriodKind, Trends};
use sentinel_core::{Catalog, Status};
use sentinel_server::api::export::{Format, Pages, Writer};
use sentinel_store::{ReportQuery, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How `sentinel stats` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatsFormat {
    /// An aligned table.
    Table,
    /// Comma-separated.
    Csv,
    /// The API's JSON.
    Json,
}

#[derive(Args)]
pub struct StatsArgs {
    #[command(flatten)]
    data: crate::DataArg,
    /// category, group, department, jurisdiction or channel.
    #[arg(long, default_value = "category")]
    group_by: String,
    /// For jurisdictions: city, district, town or grid.
    #[arg(long)]
    level: Option<String>,
    /// day, week, month, quarter or year.
    #[arg(long, default_value = "month")]
    period: String,
    /// The period: 2026-10-31, 2026-W44, 2026-10, 2026-Q4 or 2026 (default: the
    /// last complete one).
    #[arg(long)]
    at: Option<String>,
    /// table, csv or json.
    #[arg(long, value_enum, default_value = "table")]
    format: StatsFormat,
    #[command(flatten)]
    offset: crate::progress::OffsetArg,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    data: crate::DataArg,
    /// csv, geojson or xlsx.
    #[arg(long, default_value = "csv")]
    format: String,
    /// The file to write (`-` for standard output; csv and geojson only).
    #[arg(long)]
    out: PathBuf,
    /// Statuses, comma-separated.
    #[arg(long)]
    status: Option<String>,
    /// Categories, comma-separated.
    #[arg(long)]
    category: Option<String>,
    /// Lead department.
    #[arg(long)]
    department: Option<String>,
    /// Filed at or after (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Filed before (RFC 3339).
    #[arg(long)]
    until: Option<String>,
}

async fn catalog(store: &dyn Store) -> Result<Catalog> {
    Ok(match store.config().await? {
        Some(doc) => Catalog::parse(&doc).context("the stored configuration")?,
        None => Catalog::builtin(),
    })
}

/// `sentinel stats`.
pub async fn stats(args: StatsArgs) -> Result<()> {
    let offset = args.offset.offset()?;
    let group = GroupBy::parse(&args.group_by, args.level.as_deref())?;
    let kind: PeriodKind = args.period.parse()?;
    let period = match &args.at {
        Some(at) => Period::parse(kind, at)?,
        None => {
            Period::containing(kind, OffsetDateTime::now_utc().to_offset(offset).date()).previous()
        }
    };
    let store = crate::open_database(&args.data)?;
    let dims = sentinel_server::analysis::dimensions(&store, &catalog(&store).await?).await?;
    let pb = counter("reading reports");
    let facts =
        sentinel_server::analysis::load_facts(&store, &dims, offset, |n| pb.set_position(n as u64))
            .await?;
    pb.finish_and_clear();
    let today =
        sentinel_analysis::period::day_number(OffsetDateTime::now_utc().to_offset(offset).date());
    let t = facts.trends(&group, period, today)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        StatsFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&t)?)?,
        StatsFormat::Csv => write_csv(&t, &mut out)?,
        StatsFormat::Table => write_table(&t, &mut out)?,
    }
    Ok(())
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{v:+.1}%"))
}

fn p(v: Option<f64>) -> String {
    v.map_or_else(
        || "–".into(),
        |v| {
            if v < 0.0001 {
                "<0.0001".into()
            } else {
                format!("{v:.4}")
            }
        },
    )
}

fn write_csv(t: &Trends, out: &mut impl Write) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "key",
        "label",
        "label_en",
        "count",
        "yoy_previous",
        "yoy_change",
        "yoy_change_pct",
        "yoy_p_value",
        "yoy_verdict",
        "mom_previous",
        "mom_change",
        "mom_change_pct",
        "mom_p_value",
        "mom_verdict",
        "double_decline",
    ])?;
    let s = |v: Option<String>| v.unwrap_or_default();
    for it in std::iter::once(&t.total).chain(&t.items) {
        w.write_record([
            it.key.clone(),
            it.label.clone(),
            it.label_en.clone(),
            it.count.to_string(),
            s(it.yoy.previous.map(|v| v.to_string())),
            s(it.yoy.change.map(|v| v.to_string())),
            s(it.yoy.change_pct.map(|v| v.to_string())),
            s(it.yoy.p_adjusted.map(|v| v.to_string())),
            it.yoy.verdict_en.into(),
            s(it.mom.previous.map(|v| v.to_string())),
            s(it.mom.change.map(|v| v.to_string())),
            s(it.mom.change_pct.map(|v| v.to_string())),
            s(it.mom.p_adjusted.map(|v| v.to_string())),
            it.mom.verdict_en.into(),
            it.double_decline.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn write_table(t: &Trends, out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "{} by {} ({} to {}{}); 同比 against {}, 环比 against {}; p adjusted (Benjamini–Hochberg), α = {}",
        t.at,
        t.group_by,
        t.from,
        t.until,
        if t.partial {
            format!(
                ", running: its first {} days against the same days then",
                t.days
            )
        } else {
            String::new()
        },
        t.yoy_at,
        t.mom_at,
        t.alpha
    )?;
    // Terminal columns: Chinese characters take two.
    let cols = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii() { 1 } else { 2 })
            .sum::<usize>()
    };
    let width = std::iter::once(&t.total)
        .chain(&t.items)
        .map(|i| cols(&format!("{} ({})", i.label, i.key)))
        .max()
        .unwrap_or(10)
        .max(12);
    writeln!(
        out,
        "{:<width$} {:>8}  {:>9} {:>8} {:>8}  {:<18} {:>9} {:>8} {:>8}",
        "", "count", "prev/同比", "change", "p", "同比/环比", "prev/环比", "change", "p",
    )?;
    for it in std::iter::once(&t.total).chain(&t.items) {
        let name = format!("{} ({})", it.label, it.key);
        let pad = width - cols(&name) + name.chars().count();
        let verdicts = format!("{}/{}", it.yoy.verdict_zh, it.mom.verdict_zh);
        let vpad = 22usize.saturating_sub(cols(&verdicts)) + verdicts.chars().count();
        writeln!(
            out,
            "{:<pad$} {:>8}  {:>9} {:>8} {:>8}  {:<vpad$} {:>9} {:>8} {:>8}  {}",
            name,
            it.count,
            it.yoy.previous.map_or("–".into(), |v| v.to_string()),
            pct(it.yoy.change_pct),
            p(it.yoy.p_adjusted),
            verdicts,
            it.mom.previous.map_or("–".into(), |v| v.to_string()),
            pct(it.mom.change_pct),
            p(it.mom.p_adjusted),
            if it.double_decline {
                "双下降 double decline"
            } else {
                ""
            },
        )?;
    }
    Ok(())
}

/// `sentinel export`.
pub async fn export(args: ExportArgs) -> Result<()> {
    let format: Format = args.format.parse().map_err(anyhow::Error::msg)?;
    let time = |name: &str, v: &Option<String>| -> Result<Option<OffsetDateTime>> {
        v.as_deref()
            .map(|t| {
                OffsetDateTime::parse(t, &Rfc3339)
                    .with_context(|| format!("--{name} must be an RFC 3339 time"))
            })
            .transpose()
    };
    let list = |v: &Option<String>| -> Vec<String> {
        v.iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let statuses = list(&args.status)
        .iter()
        .map(|s| s.parse::<Status>().map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    let store = crate::open_database(&args.data)?;
    let catalog = catalog(&store).await?;
    let categories = list(&args.category);
    if let Some(c) = categories.iter().find(|c| catalog.category(c).is_none()) {
        bail!("unknown category {c:?}");
    }
    let query = ReportQuery {
        statuses,
        categories,
        department: args.department.clone(),
        since: time("since", &args.since)?,
        until: time("until", &args.until)?,
        ..ReportQuery::default()
    };
    let catalog = std::sync::Arc::new(catalog);
    let names = {
        let catalog = catalog.clone();
        move |code: &str| {
            catalog
                .category(code)
                .map_or_else(|| code.to_owned(), |c| c.name.clone())
        }
    };
    let pb = counter("exporting");
    if format == Format::Xlsx {
        if args.out == Path::new("-") {
            bail!("an xlsx export needs --out FILE");
        }
        let bar = pb.clone();
        let book = sentinel_server::api::export::xlsx_of(
            &store,
            Pages::new(query),
            std::sync::Arc::new(names),
            false,
            move |n| bar.set_position(n),
        )
        .await
        .map_err(anyhow::Error::msg)?;
        pb.finish_and_clear();
        let partial = args.out.with_extension("xlsx.part");
        std::fs::write(&partial, &book)
            .with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, &args.out)?;
        eprintln!("written to {}", args.out.display());
        return Ok(());
    }
    let mut pages = Pages::new(query);
    let (mut w, start) = Writer::new(format, false);
    let to_stdout = args.out == Path::new("-");
    // Written to a temporary name and renamed at the end: a half-written export
    // never sits under the name asked for.
    let partial = args.out.with_extension(format!(
        "{}.part",
        args.out
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("out")
    ));
    let mut file: Box<dyn Write> = if to_stdout {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(std::io::BufWriter::new(
            std::fs::File::create(&partial)
                .with_context(|| format!("creating {}", partial.display()))?,
        ))
    };
    file.write_all(&start)?;
    // The store is read ahead of the encoder by up to two pages.
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let reader = tokio::spawn(async move {
        loop {
            match pages.next(&store).await {
                Ok(Some(p)) => {
                    if tx.send(p).await.is_err() {
                        return Ok(());
                    }
                }
                Ok(None) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    });
    let mut buf = Vec::new();
    while let Some(page) = rx.recv().await {
        buf.clear();
        w.page(&page, &names, &mut buf);
        file.write_all(&buf)?;
        pb.set_position(w.rows());
    }
    reader.await??;
    file.write_all(&w.finish())?;
    file.flush()?;
    drop(file);
    pb.finish_and_clear();
    if !to_stdout {
        std::fs::rename(&partial, &args.out)?;
        eprintln!("{} reports written to {}", w.rows(), args.out.display());
    }
    Ok(())
}
