//! One space on the hub: a writer thread that group-commits pushes, a pool of read connections for
//! pulls, and a watch channel that tells live listeners the new head.
//!
//! **Live events carry small commits.** One task per space (started by the first live listener) turns
//! each new head into the event every listener is sent: when the ops since the previous event are few
//! ([`LIVE_OPS`], and [`LogPage::live_event`] says when they fit), it reads them once and the event
//! carries them as the pull answer after the previous event's head, so a device that is up to date
//! applies them without pulling.
//!
//! The space's log is a [`HubLog`] (SQLite, one file per space, or PostgreSQL): the writer thread holds it, and
//! readers are the log's own [`LogRead`]ers, so a second backend changes nothing here.
//!
//! **Seq order is commit order.** Only the writer thread appends, and the log assigns seqs inside the
//! write transaction, so a reader (which sees only committed snapshots) that has seen seq N never later
//! sees a new op with a seq below N.
//!
//! **Group commit.** Pushes queue on a channel. The writer takes everything queued (up to a bound),
//! validates each push on its own, and commits all the valid ones in one durable transaction
//! (`synchronous = FULL`): one fsync for many pushes. Each push is answered only after that commit.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use hearth_core::store::{
    CompactReport, Compactor, HubLog, HubOptions, LIVE_OPS, LogPage, LogPosition, LogRead, Readers,
    SqliteHubLog,
};
use hearth_core::{AppendOutcome, Op, SystemEnv};
use tokio::sync::{mpsc, oneshot, watch};

use crate::devices::now_ms;
use crate::error::{ApiError, Result};

/// Most ops the writer puts in one transaction.
const MAX_GROUP_OPS: usize = 20_000;
/// Pushes that may wait for the writer before senders wait too.
const QUEUE: usize = 1024;
/// Idle read connections kept per space.
const MAX_IDLE_READERS: usize = 8;

struct Job {
    ops: Vec<Op>,
    reply: oneshot::Sender<Result<AppendOutcome>>,
}

/// An open space.
pub struct Space {
    name: String,
    jobs: mpsc::Sender<Job>,
    head: watch::Receiver<u64>,
    head_tx: Arc<watch::Sender<u64>>,
    /// Opens another reader of the log (called when the pool is empty).
    open_reader: Readers,
    readers: Mutex<Vec<Box<dyn LogRead>>>,
    compactor: Compactor,
    compacting: Mutex<()>,
    /// The live event for the latest head, once a listener asked ([`Space::live`]).
    live: OnceLock<watch::Receiver<Arc<str>>>,
}

impl std::fmt::Debug for Space {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Space")
            .field("name", &self.name)
            .field("head", &*self.head.borrow())
            .finish_non_exhaustive()
    }
}

impl Space {
    /// Open (or create) the space's SQLite database and start its writer thread.
    pub fn open(name: &str, path: &Path, max_drift_ms: u64) -> Result<Arc<Space>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ApiError::internal(format!("create {}: {e}", dir.display())))?;
        }
        let log = SqliteHubLog::open(path, Arc::new(SystemEnv), HubOptions { max_drift_ms })?;
        tracing::info!(space = name, path = %path.display(), "opening space");
        Space::start(name, Box::new(log))
    }

    /// Start the writer thread of a space over any [`HubLog`].
    pub fn start(name: &str, mut log: Box<dyn HubLog>) -> Result<Arc<Space>> {
        let head = log.head()?;
        let open_reader = log.readers()?;
        let compactor = log.compactor()?;
        let head_tx = Arc::new(watch::Sender::new(head));
        let head_rx = head_tx.subscribe();
        let (jobs, rx) = mpsc::channel(QUEUE);
        let thread_name = format!("writer-{name}");
        let writer_head = head_tx.clone();
        std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || writer(log, rx, &writer_head))
            .map_err(|e| ApiError::internal(format!("spawn writer: {e}")))?;
        tracing::info!(space = name, head, "opened space");
        Ok(Arc::new(Space {
            name: name.to_owned(),
            jobs,
            head: head_rx,
            head_tx,
            open_reader,
            readers: Mutex::new(Vec::new()),
            compactor,
            compacting: Mutex::new(()),
            live: OnceLock::new(),
        }))
    }

    /// Another hub on the same database committed up to `head`: wake this hub's live listeners.
    pub fn saw_head(&self, head: u64) {
        raise(&self.head_tx, head);
    }

    /// The space's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The latest committed head.
    pub fn head(&self) -> u64 {
        *self.head.borrow()
    }

    /// A receiver that sees every new head.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.head.clone()
    }

    /// A receiver of the live event (JSON) for the latest head: `{"head":N}`, or, after a small
    /// commit, `{"head":N,"after":A,"page":{…}}` with the pull answer after `A`. Starts the space's
    /// announcing task on first use (inside the hub's runtime).
    pub fn live(self: &Arc<Self>) -> watch::Receiver<Arc<str>> {
        self.live
            .get_or_init(|| {
                let (tx, rx) = watch::channel(head_event(self.head()));
                tokio::spawn(announce(Arc::downgrade(self), self.subscribe(), tx));
                rx
            })
            .clone()
    }

    /// Append one push; answered once its transaction is durable.
    pub async fn push(&self, ops: Vec<Op>) -> Result<AppendOutcome> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job { ops, reply })
            .await
            .map_err(|_| ApiError::internal(format!("the writer of space {} has stopped", self.name)))?;
        rx.await
            .map_err(|_| ApiError::internal(format!("the writer of space {} dropped a push", self.name)))?
    }

    /// Run `f` on a reader of the log (from the pool) on a blocking thread.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut dyn LogRead) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let space = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = space.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut reader = match pooled {
                Some(r) => r,
                None => (space.open_reader)()?,
            };
            let out = f(reader.as_mut());
            let mut pool = space.readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < MAX_IDLE_READERS {
                pool.push(reader);
            }
            out
        })
        .await?
    }

    /// Up to `limit` ops after `after`, with head, horizon and epoch, from one consistent snapshot.
    pub async fn page(self: &Arc<Self>, after: u64, limit: usize) -> Result<LogPage> {
        self.read(move |log| Ok(log.page(after, limit)?)).await
    }

    /// How many ops the space's log holds.
    pub async fn log_rows(self: &Arc<Self>) -> Result<u64> {
        self.read(|log| Ok(log.log_rows()?)).await
    }

    /// A page of the snapshot at `seq` (the current one when None); None when there is none.
    pub async fn snapshot_page(
        self: &Arc<Self>,
        seq: Option<u64>,
        after: u64,
        limit: usize,
    ) -> Result<Option<hearth_core::store::SnapshotChunk>> {
        self.read(move |log| Ok(log.snapshot_page(seq, after, limit)?))
            .await
    }

    /// Compact the log up to `horizon`, beside the writer (pushes keep flowing), on a blocking thread.
    /// Compactions of one space run one at a time.
    pub async fn compact(self: &Arc<Self>, horizon: u64) -> Result<CompactReport> {
        let space = self.clone();
        tokio::task::spawn_blocking(move || {
            let _one = space.compacting.lock().unwrap_or_else(|p| p.into_inner());
            let report = (space.compactor)(horizon)?;
            tracing::info!(
                space = %space.name,
                horizon = report.horizon,
                snapshot_seq = report.snapshot_seq,
                log_rows_before = report.log_rows_before,
                log_rows_after = report.log_rows_after,
                longest_step_ms = report.longest_step_ms,
                "compacted"
            );
            Ok(report)
        })
        .await?
    }

    /// Head, horizon and epoch, read from the log together.
    pub async fn position(self: &Arc<Self>) -> Result<LogPosition> {
        self.read(|log| Ok(log.position()?)).await
    }
}

/// The writer: drain queued pushes, append them as one group, answer each, publish the new head.
fn writer(mut log: Box<dyn HubLog>, mut rx: mpsc::Receiver<Job>, head: &watch::Sender<u64>) {
    while let Some(first) = rx.blocking_recv() {
        let mut ops = first.ops.len();
        let mut jobs = vec![first];
        while ops < MAX_GROUP_OPS {
            match rx.try_recv() {
                Ok(job) => {
                    ops += job.ops.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        tracing::debug!(pushes = jobs.len(), ops, "group commit");
        let batches: Vec<&[Op]> = jobs.iter().map(|j| j.ops.as_slice()).collect();
        let result = log.append_batches(&batches);
        let outcomes: Vec<Result<AppendOutcome>> = match result {
            Ok(outcomes) => outcomes
                .into_iter()
                .map(|r| r.map_err(|e| ApiError::from_core(e, now_ms())))
                .collect(),
            Err(e) if jobs.len() > 1 => {
                // One push's storage failure must not fail the others: retry each on its own.
                tracing::warn!(error = %e, pushes = jobs.len(), "group commit failed; retrying pushes one by one");
                jobs.iter()
                    .map(|j| match log.append_batches(&[&j.ops]) {
                        Ok(o) => match o.into_iter().next() {
                            Some(r) => r.map_err(|e| ApiError::from_core(e, now_ms())),
                            None => Err(ApiError::internal("append returned no outcome")),
                        },
                        Err(e) => Err(e.into()),
                    })
                    .collect()
            }
            // A storage failure: a full or read-only disk is said as such (507/503), else a 500.
            Err(e) => vec![Err(e.into())],
        };
        if let Ok(h) = log.head() {
            raise(head, h);
        }
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            // The pusher may have gone away (client disconnected); its ops are committed regardless.
            let _ = job.reply.send(outcome);
        }
    }
}

/// The live event with the head alone.
pub fn head_event(head: u64) -> Arc<str> {
    Arc::from(format!("{{\"head\":{head}}}"))
}

/// The space's announcing task: one event per new head, with the ops since the previous event when
/// they are few. Ends when the space is gone.
async fn announce(space: Weak<Space>, mut heads: watch::Receiver<u64>, events: watch::Sender<Arc<str>>) {
    let mut last = *heads.borrow_and_update();
    while heads.changed().await.is_ok() {
        let head = *heads.borrow_and_update();
        if head <= last {
            continue;
        }
        let Some(space) = space.upgrade() else { return };
        let mut event = None;
        if head - last <= LIVE_OPS as u64 {
            match space.page(last, LIVE_OPS).await {
                Ok(page) => {
                    if let Some(carried) = page.live_event(last) {
                        event = Some(Arc::from(carried));
                        last = last.max(page.next(last));
                    }
                }
                // Listeners then pull, as they would without the ops.
                Err(e) => tracing::warn!(space = space.name(), error = %e, "live event without ops"),
            }
        }
        drop(space);
        last = last.max(head);
        events.send_replace(event.unwrap_or_else(|| head_event(head)));
    }
}

/// Publish `h` as the head if it is past the one published (heads never move back).
fn raise(head: &watch::Sender<u64>, h: u64) {
    head.send_if_modified(|old| {
        let moved = h > *old;
        if moved {
            *old = h;
        }
        moved
    });
}
