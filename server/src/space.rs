//! One space on the hub: a writer thread that group-commits pushes, a pool of read connections for
//! pulls, and a watch channel that tells live listeners the new head.
//!
//! **Seq order is commit order.** Only the writer thread writes the space's database, and
//! [`Store::append_batches`] assigns seqs inside the write transaction, so a reader (which sees only
//! committed snapshots) that has seen seq N never later sees a new op with a seq below N.
//!
//! **Group commit.** Pushes queue on a channel. The writer takes everything queued (up to a bound),
//! validates each push on its own, and commits all the valid ones in one durable transaction
//! (`synchronous = FULL`): one fsync for many pushes. Each push is answered only after that commit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_core::store::{self, Role};
use hearth_core::{AppendOutcome, Op, Options, Store, SystemEnv};
use rusqlite::Connection;
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

/// A page of the log, already as JSON.
#[derive(Debug)]
pub struct Page {
    /// The ops, a JSON array.
    pub json: String,
    /// How many.
    pub count: usize,
    /// The last seq in the page.
    pub last: Option<u64>,
    /// The head when the page was read.
    pub head: u64,
}

/// An open space.
#[derive(Debug)]
pub struct Space {
    name: String,
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
    head: watch::Receiver<u64>,
    readers: Mutex<Vec<Connection>>,
}

impl Space {
    /// Open (or create) the space's database and start its writer thread.
    pub fn open(name: &str, path: &Path, max_drift_ms: u64) -> Result<Arc<Space>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ApiError::internal(format!("create {}: {e}", dir.display())))?;
        }
        let opts = Options {
            role: Role::Hub,
            max_drift_ms,
            ..Options::default()
        };
        let store = Store::open_path(path, Arc::new(SystemEnv), opts)?;
        let head = store::head(store.conn())?;
        let (head_tx, head_rx) = watch::channel(head);
        let (jobs, rx) = mpsc::channel(QUEUE);
        let thread_name = format!("writer-{name}");
        std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || writer(store, rx, head_tx))
            .map_err(|e| ApiError::internal(format!("spawn writer: {e}")))?;
        tracing::info!(space = name, head, path = %path.display(), "opened space");
        Ok(Arc::new(Space {
            name: name.to_owned(),
            path: path.to_owned(),
            jobs,
            head: head_rx,
            readers: Mutex::new(Vec::new()),
        }))
    }

    /// The space's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The latest committed head.
    pub fn head(&self) -> u64 {
        *self.head.borrow()
    }

    /// A receiver that sees every new head (live events).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.head.clone()
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

    /// Run `f` on a read connection (from the pool) on a blocking thread.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let space = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = space.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => open_reader(&space.path)?,
            };
            let out = f(&mut conn);
            let mut pool = space.readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < MAX_IDLE_READERS {
                pool.push(conn);
            }
            out
        })
        .await?
    }

    /// Up to `limit` ops after `after`, and the head, from one consistent snapshot.
    pub async fn page(self: &Arc<Self>, after: u64, limit: usize) -> Result<Page> {
        self.read(move |conn| {
            let tx = conn.transaction()?;
            let (json, count, last) = store::log_page_json(&tx, after, limit)?;
            let head = store::head(&tx)?;
            tx.commit()?;
            Ok(Page {
                json,
                count,
                last,
                head,
            })
        })
        .await
    }

    /// The committed head, read from the database.
    pub async fn read_head(self: &Arc<Self>) -> Result<u64> {
        self.read(|conn| Ok(store::head(conn)?)).await
    }
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// The writer: drain queued pushes, append them as one group, answer each, publish the new head.
fn writer(mut store: Store, mut rx: mpsc::Receiver<Job>, head: watch::Sender<u64>) {
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
        let result = store.append_batches(&batches);
        let outcomes: Vec<Result<AppendOutcome>> = match result {
            Ok(outcomes) => outcomes
                .into_iter()
                .map(|r| r.map_err(|e| ApiError::from_core(e, now_ms())))
                .collect(),
            Err(e) if jobs.len() > 1 => {
                // One push's storage failure must not fail the others: retry each on its own.
                tracing::warn!(error = %e, pushes = jobs.len(), "group commit failed; retrying pushes one by one");
                jobs.iter()
                    .map(|j| match store.append_batches(&[&j.ops]) {
                        Ok(o) => match o.into_iter().next() {
                            Some(r) => r.map_err(|e| ApiError::from_core(e, now_ms())),
                            None => Err(ApiError::internal("append returned no outcome")),
                        },
                        Err(e) => Err(ApiError::internal(e)),
                    })
                    .collect()
            }
            Err(e) => vec![Err(ApiError::internal(e))],
        };
        if let Ok(h) = store::head(store.conn()) {
            head.send_if_modified(|old| {
                let moved = h > *old;
                if moved {
                    *old = h;
                }
                moved
            });
        }
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            // The pusher may have gone away (client disconnected); its ops are committed regardless.
            let _ = job.reply.send(outcome);
        }
    }
}
