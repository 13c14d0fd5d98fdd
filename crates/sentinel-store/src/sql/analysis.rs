//! What analysis reads: each report's facts, folded from its row and its
//! timeline in one pass over a page of ids.

use super::{Conn, Param, Row, args};
use crate::Result;
use sentinel_analysis::ReportFacts;

/// Reports with their facts in id order after `after`, `limit` at a time.
pub(crate) fn report_facts(conn: &dyn Conn, after: i64, limit: u32) -> Result<Vec<ReportFacts>> {
    let mut out: Vec<ReportFacts> = conn.all(
        "SELECT id, created_at, category, department, jurisdiction, channel, status, lat, lon, rating \
         FROM reports WHERE id > ?1 ORDER BY id LIMIT ?2",
        args![after, limit],
        base,
    )?;
    let (Some(first), Some(last)) = (out.first().map(|r| r.id), out.last().map(|r| r.id)) else {
        return Ok(out);
    };
    fold_events(
        conn,
        &mut out,
        "report_id BETWEEN ?1 AND ?2",
        args![first, last],
    )?;
    Ok(out)
}

/// The facts of these reports (those that exist), in id order: two queries per
/// 500 ids, whatever the backend (a round trip costs more on a database server).
/// Ids that lie close together (new reports, mostly) are read as a range.
pub(crate) fn report_facts_for(conn: &dyn Conn, ids: &[i64]) -> Result<Vec<ReportFacts>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let (Some(&first), Some(&last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        if last - first < 2 * chunk.len() as i64 {
            let mut rows = report_facts_between(conn, first, last)?;
            rows.retain(|r| chunk.binary_search(&r.id).is_ok());
            out.extend(rows);
            continue;
        }
        let marks = (1..=chunk.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let params: Vec<Param<'_>> = chunk.iter().map(|&id| Param::Int(id)).collect();
        let mut rows = conn.all(
            &format!(
                "SELECT id, created_at, category, department, jurisdiction, channel, status, lat, lon, rating \
                 FROM reports WHERE id IN ({marks}) ORDER BY id"
            ),
            &params,
            base,
        )?;
        fold_events(conn, &mut rows, &format!("report_id IN ({marks})"), &params)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The facts of the reports with ids in `[first, last]`.
fn report_facts_between(conn: &dyn Conn, first: i64, last: i64) -> Result<Vec<ReportFacts>> {
    let mut rows = conn.all(
        "SELECT id, created_at, category, department, jurisdiction, channel, status, lat, lon, rating \
         FROM reports WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
        args![first, last],
        base,
    )?;
    fold_events(
        conn,
        &mut rows,
        "report_id BETWEEN ?1 AND ?2",
        args![first, last],
    )?;
    Ok(rows)
}

fn base(r: &Row<'_>) -> Result<ReportFacts> {
    let status: String = r.get(6)?;
    Ok(ReportFacts {
        id: r.get(0)?,
        created_ms: r.get(1)?,
        category: r.get(2)?,
        department: r.get(3)?,
        jurisdiction: r.get(4)?,
        channel: r.get(5)?,
        excluded: status == "merged" || status == "rejected",
        lat: r.get(7)?,
        lon: r.get(8)?,
        rating: r.get::<Option<i64>>(9)?.map(|v| v.clamp(0, 5) as u8),
        accepted_ms: None,
        accept_late: None,
        resolved_ms: None,
        resolve_late: None,
        reopened: false,
        returned_by: None,
    })
}

/// Folds the timeline of the reports that `which` selects (a WHERE clause on
/// `report_id`) into `rows` (sorted by id): the first 受理 and 办结 with whether each met its deadline,
/// reopenings, and which department last sent the report back.
fn fold_events(
    conn: &dyn Conn,
    rows: &mut [ReportFacts],
    which: &str,
    params: &[Param<'_>],
) -> Result<()> {
    let sql = format!(
        "SELECT report_id, at, action, {}, {} \
         FROM events WHERE {which} \
           AND action IN ('accept', 'assign', 'return', 'resolve', 'reopen') \
         ORDER BY report_id, id",
        conn.json_number("data", &["due", "late"]),
        conn.json_text("data", &["department"]),
    );
    let mut k = 0;
    // The department the report was with, as the timeline goes.
    let mut holder: Option<String> = None;
    let mut current = i64::MIN;
    conn.each(&sql, params, &mut |e| {
        let id: i64 = e.get(0)?;
        if id != current {
            current = id;
            holder = None;
            while k < rows.len() && rows[k].id < id {
                k += 1;
            }
        }
        let Some(r) = rows.get_mut(k).filter(|r| r.id == id) else {
            return Ok(());
        };
        let at: i64 = e.get(1)?;
        let action: String = e.get(2)?;
        let late: Option<bool> = e.get::<Option<f64>>(3)?.map(|v| v != 0.0);
        match action.as_str() {
            "accept" if r.accepted_ms.is_none() => {
                r.accepted_ms = Some(at);
                r.accept_late = late;
            }
            "assign" => holder = e.get(4)?,
            "return" => r.returned_by = holder.take(),
            "resolve" if r.resolved_ms.is_none() => {
                r.resolved_ms = Some(at);
                r.resolve_late = late;
            }
            "reopen" => r.reopened = true,
            _ => {}
        }
        Ok(())
    })
}
