//! `GET /v1/spaces/{space}/events`: Server-Sent Events, `{"head":N}` on connect and after each commit;
//! after a small commit the event also carries its ops (`after`, `page`; see [`crate::space`]).
//! Browsers' `EventSource` cannot set headers, so the token may also come as `?token=`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use tokio_stream::wrappers::WatchStream;

use crate::AppState;
use crate::auth::Caller;
use crate::error::Result;

/// Stream the space's head (and small commits' ops).
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(space): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    caller.check_space(&space)?;
    let open = state.space(&space).await?;
    // On connect, the head alone: the last event's ops may have been compacted away since, and a
    // device that was away pulls (or restores from the snapshot) as it would without them.
    let live = open.live();
    let first = futures_util::stream::once(std::future::ready(crate::space::head_event(open.head())));
    let stream = first
        .chain(WatchStream::from_changes(live))
        .map(|event| Ok(Event::default().data(&*event)))
        .take_until(state.shutting_down());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
