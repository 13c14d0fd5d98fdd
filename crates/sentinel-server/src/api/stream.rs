//! `GET /api/v1/events/stream`: Server-Sent Events of report changes, unit
//! positions and dispatch steps, scoped by role. A client that reconnects with
//! `Last-Event-ID` first gets everything after that id from the store's feed, then
//! the live messages. A slow client holds at most a small buffer: when it falls
//! behind the shared ring it catches up from the store instead; one that stops
//! reading altogether is disconnected after `stream_stall_secs`, so a stalled client
//! holds a bounded buffer for a bounded time.

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
    tokio::spawn(async move {
        let metrics = s.metrics.clone();
        metrics.streams_open.inc();
        let stall = Duration::from_secs(s.config.stream_stall_secs);
        if pump(s, viewer, rx, from, Outbox { tx, stall }).await == End::Stalled {
            metrics.streams_stalled.inc();
        }
        metrics.streams_open.dec();
    });
    let body = futures_util::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|e| (Ok(e), out))
    });
    Ok(Sse::new(body).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Why a stream ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The client went away, or the server is stopping.
    Gone,
    /// The client stopped taking messages.
    Stalled,
}

/// The client's side of a stream: a bounded buffer and how long a message may wait
/// for room in it.
struct Outbox {
    tx: mpsc::Sender<Event>,
    stall: Duration,
}

impl Outbox {
    async fn send(&self, e: Event) -> Result<(), End> {
        match tokio::time::timeout(self.stall, self.tx.send(e)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::Stalled),
        }
    }
}

/// Sends the backlog after `cursor` from the store, then live messages; goes back
/// to the store whenever the client lagged behind the ring. Ends when the client
/// goes away.
async fn pump(
    s: AppState,
    mut viewer: Viewer,
    mut rx: broadcast::Receiver<Arc<Message>>,
    mut cursor: i64,
    out: Outbox,
) -> End {
    loop {
        // Catch up from the store.
        loop {
            let Ok(page) = s.store.feed(cursor, 500).await else {
                return End::Gone;
            };
            if page.next <= cursor {
                break;
            }
            for e in &page.entries {
                let m = message(e, s.config.unit_stale_secs);
                if viewer.sees(&m)
                    && let Err(end) = out.send(event(&m)).await
                {
                    return end;
                }
            }
            cursor = page.next;
        }
        // Then live.
        loop {
            // A client that left is noticed at once, not at the next message.
            let next = tokio::select! {
                next = rx.recv() => next,
                () = out.tx.closed() => return End::Gone,
            };
            match next {
                Ok(m) => {
                    if m.seq <= cursor {
                        continue;
                    }
                    cursor = m.seq;
                    if viewer.sees(&m)
                        && let Err(end) = out.send(event(&m)).await
                    {
                        return end;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => break,
                Err(broadcast::error::RecvError::Closed) => return End::Gone,
            }
        }
        rx = rx.resubscribe();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_that_stops_reading_is_let_go_and_one_that_left_is_noticed() {
        let (tx, mut rx) = mpsc::channel::<Event>(2);
        let out = Outbox {
            tx,
            stall: Duration::from_millis(50),
        };
        assert_eq!(out.send(Event::default().data("1")).await, Ok(()));
        assert_eq!(out.send(Event::default().data("2")).await, Ok(()));
        // The buffer is full and nobody reads: the third waits, then gives up.
        assert_eq!(
            out.send(Event::default().data("3")).await,
            Err(End::Stalled)
        );
        // A reader makes room again.
        assert!(rx.recv().await.is_some());
        assert_eq!(out.send(Event::default().data("4")).await, Ok(()));
        drop(rx);
        assert_eq!(out.send(Event::default().data("5")).await, Err(End::Gone));
    }
}
