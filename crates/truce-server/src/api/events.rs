//! `GET /v1/events`: server-sent events that tell a page its findings may
//! have changed, so it reads them again without being reloaded.
//!
//! The stream opens with the current log size and then sends a new
//! `applied` event whenever more entries are in the store and the live
//! findings, at most one every [`COALESCE`] (sizes in between are skipped:
//! a page only needs the latest). It carries no data beyond the log size,
//! which `/v1/log/checkpoint` publishes anyway, so it needs no signature
//! and shows the same to every role. A comment line every 15 seconds keeps
//! proxies from closing an idle stream; the stream ends when the service
//! shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;

use crate::error::ApiError;
use crate::state::AppState;

/// The shortest time between two events of one stream.
pub(crate) const COALESCE: Duration = Duration::from_millis(500);

/// How many event streams may be open at once; beyond, 503.
pub(crate) const MAX_STREAMS: usize = 1024;

/// The event announcing that entries `0 .. size` are applied.
fn applied_event(size: u64) -> Event {
    Event::default()
        .event("applied")
        .id(size.to_string())
        .data(format!("{{\"size\":{size}}}"))
}

/// A stream of `applied` events.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "incidents",
    responses(
        (status = 200, description = "Server-sent events: `event: applied` with `data: {\"size\": N}` (log entries 0..N are in the store and the findings), first at once, then whenever it grows, at most twice a second", content_type = "text/event-stream", body = String),
        (status = 503, description = "Too many event streams are open", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn events(State(state): State<AppState>) -> Response {
    let feed = state.shared.live.changes();
    let (applied, closing) = feed.watch();
    // The receivers just made count themselves.
    if feed.watchers() > MAX_STREAMS {
        return ApiError::Overloaded {
            retry_after_s: state.config().retry_after_s,
        }
        .into_response();
    }
    let events = stream::unfold(
        (applied, closing, true),
        |(mut applied, mut closing, first)| async move {
            if !first {
                tokio::select! {
                    () = tokio::time::sleep(COALESCE) => {}
                    _ = closing.wait_for(|closed| *closed) => return None,
                }
                tokio::select! {
                    changed = applied.changed() => changed.ok()?,
                    _ = closing.wait_for(|closed| *closed) => return None,
                }
            } else if *closing.borrow() {
                return None;
            }
            let size = *applied.borrow_and_update();
            Some((
                Ok::<_, Infallible>(applied_event(size)),
                (applied, closing, false),
            ))
        },
    );
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
