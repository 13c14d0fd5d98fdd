//! `GET /api/v1/events/stream`: Server-Sent Events of report changes, unit
//! positions and dispatch steps, scoped by role. A client that reconnects with
//! `Last-Event-ID` first gets everything after that id from the store's feed, then
//! the live messages. A slow client holds at most a small buffer: when it falls
//! behind the shared ring it catches up from the store instead.

use crate::AppState;
use crate::auth::Staff;
use crate::error::{ApiError, ApiResult};
use crate::live::{Message, Viewer, message};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use sentinel_core::Role;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// Messages buffered per subscriber before it is made to catch up from the store.
const PER_CLIENT: usize = 64;

fn event(m: &Message) -> Event {
    Event::default()
        .id(m.seq.to_string())
        .event(m.kind)
        .data(&m.data)
}

/// `GET /api/v1/events/stream`
pub(crate) async fn stream(
    State(s): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let last: Option<i64> = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|v| *v >= 0)
                .ok_or_else(|| {
                    ApiError::BadRequest("Last-Event-ID must be an id this stream sent".into())
                })?,
        ),
    };
    let unit = if staff.user.role == Role::Unit {
        s.store.unit_for_user(&staff.user.name).await?.map(|u| u.id)
    } else {
        None
    };
    let viewer = Viewer::new(&staff, unit);
    // Subscribe before reading the backlog, so nothing falls between the two.
    let rx = s.live.subscribe();
    let from = last.unwrap_or_else(|| s.live.head());
    let (tx, out) = mpsc::channel::<Event>(PER_CLIENT);
    tokio::spawn(pump(s, viewer, rx, from, tx));
    let body = futures_util::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|e| (Ok(e), out))
    });
    Ok(Sse::new(body).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Sends the backlog after `cursor` from the store, then live messages; goes back
/// to the store whenever the client lagged behind the ring. Ends when the client
/// goes away.
async fn pump(
    s: AppState,
    viewer: Viewer,
    mut rx: broadcast::Receiver<Arc<Message>>,
    mut cursor: i64,
    tx: mpsc::Sender<Event>,
) {
    loop {
        // Catch up from the store.
        loop {
            let Ok(page) = s.store.feed(cursor, 500).await else {
                return;
            };
            if page.next <= cursor {
                break;
            }
            for e in &page.entries {
                let m = message(e, s.config.unit_stale_secs);
                if viewer.sees(&m) && tx.send(event(&m)).await.is_err() {
                    return;
                }
            }
            cursor = page.next;
        }
        // Then live.
        loop {
            match rx.recv().await {
                Ok(m) => {
                    if m.seq <= cursor {
                        continue;
                    }
                    cursor = m.seq;
                    if viewer.sees(&m) && tx.send(event(&m)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => break,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
        rx = rx.resubscribe();
    }
}
