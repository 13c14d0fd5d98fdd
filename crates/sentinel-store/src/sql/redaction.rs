//! Redaction jobs. A photo row is its own job: `redaction_state` starts at
//! `pending` when the row is written, so a report and the promise to redact its
//! photos commit together; workers claim rows for a lease, so a crashed worker's
//! photos are taken up again, and a version number keeps a late result from
//! overwriting a newer staff correction.

use super::queries::{from_ms, insert_event, ms};
use super::{Conn, args, for_update};
use crate::{
    Redaction, RedactionCounts, RedactionEdit, RedactionJob, RedactionOutcome, RedactionState,
    Result, StoreError,
};
use sentinel_core::Event;
use time::OffsetDateTime;

/// Attempts before a photo is marked failed.
const ATTEMPTS: i64 = 3;

pub(crate) fn get(conn: &dyn Conn, photo: &str) -> Result<Option<Redaction>> {
    conn.opt(
        "SELECT id, redaction_state, redaction_version, redacted_id, redacted_mime, redaction_regions, \
         redaction_edits, hidden, redaction_attempts, redaction_error, redacted_at FROM photos WHERE id = ?1",
        args![photo],
        |r| {
            Ok(Redaction {
                photo_id: r.get(0)?,
                state: RedactionState::parse(&r.get::<String>(1)?),
                version: r.get(2)?,
                redacted_id: r.get(3)?,
                redacted_mime: r.get(4)?,
                regions: r.get(5)?,
                edits: r.get(6)?,
                hidden: r.get::<i64>(7)? != 0,
                attempts: r.get(8)?,
                error: r.get(9)?,
                redacted_at: r.get::<Option<i64>>(10)?.map(from_ms),
            })
        },
    )
}

pub(crate) fn claim(
    conn: &dyn Conn,
    limit: u32,
    now: OffsetDateTime,
    lease: time::Duration,
) -> Result<Vec<RedactionJob>> {
    let sql = format!(
        "SELECT id, redaction_version, redaction_edits FROM photos \
         WHERE redaction_state = 'pending' AND (redaction_claimed_until IS NULL OR redaction_claimed_until < ?1) \
         ORDER BY created_at, id LIMIT ?2{}",
        for_update(conn, "")
    );
    let jobs = conn.all(&sql, args![ms(now), limit], |r| {
        Ok(RedactionJob {
            photo_id: r.get(0)?,
            version: r.get(1)?,
            edits: r.get(2)?,
        })
    })?;
    for j in &jobs {
        conn.execute(
            "UPDATE photos SET redaction_claimed_until = ?1 WHERE id = ?2",
            args![ms(now + lease), j.photo_id],
        )?;
    }
    Ok(jobs)
}

pub(crate) fn finish(
    conn: &dyn Conn,
    job: &RedactionJob,
    outcome: &RedactionOutcome,
    now: OffsetDateTime,
) -> Result<bool> {
    let changed = match outcome {
        RedactionOutcome::Done {
            redacted_id,
            mime,
            regions,
        } => conn.execute(
            "UPDATE photos SET redaction_state = 'done', redacted_id = ?1, redacted_mime = ?2, \
             redaction_regions = ?3, redaction_error = NULL, redacted_at = ?4, redaction_claimed_until = NULL \
             WHERE id = ?5 AND redaction_version = ?6",
            args![redacted_id, mime, regions, ms(now), job.photo_id, job.version],
        )?,
        RedactionOutcome::Failed { error } => conn.execute(
            // Retried after a minute, or given up after the last attempt.
            "UPDATE photos SET redaction_attempts = redaction_attempts + 1, redaction_error = ?1, \
             redaction_state = CASE WHEN redaction_attempts + 1 >= ?2 THEN 'failed' ELSE redaction_state END, \
             redaction_claimed_until = ?3 WHERE id = ?4 AND redaction_version = ?5",
            args![error, ATTEMPTS, ms(now + time::Duration::minutes(1)), job.photo_id, job.version],
        )?,
    };
    Ok(changed > 0)
}

pub(crate) fn edit(conn: &dyn Conn, e: &RedactionEdit) -> Result<Event> {
    let sql = format!(
        "SELECT redaction_version FROM photos WHERE id = ?1{}",
        for_update(conn, "")
    );
    if conn
        .opt(&sql, args![e.photo_id], |r| r.get::<i64>(0))?
        .is_none()
    {
        return Err(StoreError::NotFound);
    }
    if let Some(edits) = &e.edits {
        conn.execute(
            "UPDATE photos SET redaction_edits = ?1, redaction_version = redaction_version + 1, \
             redaction_state = 'pending', redaction_attempts = 0, redaction_claimed_until = NULL WHERE id = ?2",
            args![edits, e.photo_id],
        )?;
    }
    if let Some(hidden) = e.hidden {
        conn.execute(
            "UPDATE photos SET hidden = ?1 WHERE id = ?2",
            args![i64::from(hidden), e.photo_id],
        )?;
    }
    let action = match e.hidden {
        Some(true) => "hide_photo",
        Some(false) => "show_photo",
        None => "redact_photo",
    };
    insert_event(
        conn,
        e.report,
        e.now,
        &e.actor,
        Some(&e.role),
        action,
        None,
        None,
        e.note.as_deref(),
        e.data.clone(),
    )
}

pub(crate) fn requeue(conn: &dyn Conn, all: bool) -> Result<u64> {
    let filter = if all {
        ""
    } else {
        " WHERE redaction_state = 'failed'"
    };
    Ok(conn.execute(
        &format!(
            "UPDATE photos SET redaction_state = 'pending', redaction_version = redaction_version + 1, \
             redaction_attempts = 0, redaction_claimed_until = NULL{filter}"
        ),
        args![],
    )?)
}

pub(crate) fn release(conn: &dyn Conn) -> Result<u64> {
    Ok(conn.execute(
        "UPDATE photos SET redaction_claimed_until = NULL \
         WHERE redaction_state = 'pending' AND redaction_claimed_until IS NOT NULL",
        args![],
    )?)
}

pub(crate) fn counts(conn: &dyn Conn) -> Result<RedactionCounts> {
    let mut c = RedactionCounts::default();
    for (state, n) in conn.all(
        "SELECT redaction_state, COUNT(*) FROM photos GROUP BY redaction_state",
        args![],
        |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?)),
    )? {
        match RedactionState::parse(&state) {
            RedactionState::Pending => c.pending += n as u64,
            RedactionState::Done => c.done += n as u64,
            RedactionState::Failed => c.failed += n as u64,
        }
    }
    c.hidden = conn.one(
        "SELECT COUNT(*) FROM photos WHERE hidden <> 0",
        args![],
        |r| r.get::<i64>(0),
    )? as u64;
    Ok(c)
}

pub(crate) fn hidden(conn: &dyn Conn) -> Result<Vec<String>> {
    conn.all("SELECT id FROM photos WHERE hidden <> 0", args![], |r| {
        r.get(0)
    })
}
