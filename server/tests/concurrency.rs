//! 16 devices push batches while 4 others pull in a loop: every reader sees seqs strictly increasing with
//! no gap (a gap that a later pull fills would be the cursor race of seed 004), and the final log holds every
//! accepted op exactly once, at the seq its push was told.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::TestHub;
use rand::Rng;

const PUSHERS: usize = 16;
const READERS: usize = 4;
const BATCHES: usize = 30;
const OPS_PER_BATCH: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pushers_and_pullers_see_commit_order() {
    let hub = TestHub::start().await;
    let mut pushers = Vec::new();
    for i in 0..PUSHERS {
        pushers.push(Arc::new(hub.pair("default", &format!("pusher {i}")).await));
    }
    let mut readers = Vec::new();
    for i in 0..READERS {
        readers.push(Arc::new(hub.pair("default", &format!("reader {i}")).await));
    }
    let done = Arc::new(AtomicBool::new(false));

    let reader_tasks: Vec<_> = readers
        .iter()
        .cloned()
        .map(|dev| {
            let done = done.clone();
            tokio::spawn(async move {
                let mut seen: Vec<(u64, String)> = Vec::new();
                let mut cursor = 0u64;
                let mut pulls = 0usize;
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let limit = rand::rng().random_range(1..=300);
                    let page = dev.pull(cursor, limit).await;
                    pulls += 1;
                    assert!(page.head >= cursor, "the head never goes back");
                    for op in &page.ops {
                        // Strictly increasing and dense: a gap here could only be filled by a later
                        // commit with a lower seq, which must never happen.
                        assert_eq!(op.seq, cursor + 1, "reader skipped from {cursor} to {}", op.seq);
                        cursor = op.seq;
                        seen.push((op.seq, op.op.id.to_string()));
                    }
                    assert_eq!(page.next, cursor);
                    if finished && page.ops.is_empty() && cursor == page.head {
                        return (seen, pulls);
                    }
                }
            })
        })
        .collect();

    let pusher_tasks: Vec<_> = pushers
        .iter()
        .cloned()
        .map(|dev| {
            tokio::spawn(async move {
                let mut accepted: Vec<(u64, String)> = Vec::new();
                for b in 0..BATCHES {
                    let ops = dev.ops(OPS_PER_BATCH, &format!("{}-{b}", dev.device));
                    let out = dev.push(&ops).await;
                    assert_eq!((out.accepted, out.duplicates), (OPS_PER_BATCH, 0));
                    assert!(
                        out.seqs.windows(2).all(|w| w[0] < w[1]),
                        "a batch's seqs follow its order"
                    );
                    assert!(out.head >= *out.seqs.last().unwrap());
                    if b % 5 == 0 {
                        // A retry (as after a lost answer) gets the same seqs, as duplicates.
                        let again = dev.push(&ops).await;
                        assert_eq!((again.accepted, again.duplicates), (0, OPS_PER_BATCH));
                        assert_eq!(again.seqs, out.seqs);
                    }
                    accepted.extend(out.seqs.iter().copied().zip(ops.iter().map(|o| o.id.to_string())));
                }
                accepted
            })
        })
        .collect();

    let mut accepted: BTreeMap<u64, String> = BTreeMap::new();
    for t in pusher_tasks {
        for (seq, id) in t.await.unwrap() {
            assert!(accepted.insert(seq, id).is_none(), "seq {seq} given to two ops");
        }
    }
    done.store(true, Ordering::SeqCst);
    let total = PUSHERS * BATCHES * OPS_PER_BATCH;
    assert_eq!(accepted.len(), total);
    assert_eq!(
        accepted.keys().copied().collect::<Vec<_>>(),
        (1..=total as u64).collect::<Vec<_>>()
    );

    for t in reader_tasks {
        let (seen, pulls) = t.await.unwrap();
        assert!(
            pulls > 10,
            "readers pulled while pushes were landing ({pulls} pulls)"
        );
        let seen: BTreeMap<u64, String> = seen.into_iter().collect();
        assert_eq!(
            seen, accepted,
            "every reader saw exactly the accepted ops at their seqs"
        );
    }

    // The final log: every accepted op exactly once.
    let log = readers[0].pull_all(0).await;
    assert_eq!(log.len(), total);
    let mut ids: HashMap<String, u64> = HashMap::new();
    for op in &log {
        assert!(
            ids.insert(op.op.id.to_string(), op.seq).is_none(),
            "op {} twice in the log",
            op.op.id
        );
        assert_eq!(accepted.get(&op.seq), Some(&op.op.id.to_string()));
    }
    hub.stop().await.unwrap();
}

/// Compaction running in a loop while 6 devices push and 2 pull: readers still see every seq above
/// their cursor exactly once (they read horizon and page in one snapshot), no pull is sent behind the
/// horizon (it never passes a reader's cursor), and a retried push after compaction stays a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compaction_while_clients_push_and_pull_skips_and_repeats_nothing() {
    use std::sync::atomic::AtomicU64;
    const PUSHERS: usize = 6;
    const READERS: usize = 2;
    let hub = TestHub::start().await;
    let mut pushers = Vec::new();
    for i in 0..PUSHERS {
        pushers.push(Arc::new(hub.pair("default", &format!("pusher {i}")).await));
    }
    let mut readers = Vec::new();
    for i in 0..READERS {
        readers.push(Arc::new(hub.pair("default", &format!("reader {i}")).await));
    }
    let cursors: Arc<Vec<AtomicU64>> = Arc::new((0..READERS).map(|_| AtomicU64::new(0)).collect());
    let done = Arc::new(AtomicBool::new(false));

    let reader_tasks: Vec<_> = readers
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, dev)| {
            let (done, cursors) = (done.clone(), cursors.clone());
            tokio::spawn(async move {
                let mut seen: Vec<(u64, String)> = Vec::new();
                let mut cursor = 0u64;
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let limit = rand::rng().random_range(1..=300);
                    let res = dev.pull_raw(cursor, limit).await;
                    assert_eq!(
                        res.status(),
                        200,
                        "a reader at or above the horizon is served: {}",
                        res.text().await.unwrap()
                    );
                    let page: hearth_core::wire::PullResponse = res.json().await.unwrap();
                    assert!(page.horizon <= cursor, "the horizon never passes a reader");
                    for op in &page.ops {
                        assert_eq!(op.seq, cursor + 1, "reader skipped from {cursor} to {}", op.seq);
                        cursor = op.seq;
                        seen.push((op.seq, op.op.id.to_string()));
                    }
                    cursors[i].store(cursor, Ordering::SeqCst);
                    if finished && page.ops.is_empty() && cursor == page.head {
                        return seen;
                    }
                }
            })
        })
        .collect();

    // Progress of the compactor, which the pushers wait for, so that compaction really runs in the
    // middle of the pushes on a fast machine as on a slow one.
    let progress: Arc<(AtomicU64, AtomicU64)> = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let compactor = {
        let (done, cursors, space, progress) = (
            done.clone(),
            cursors.clone(),
            hub.state.space("default").await.unwrap(),
            progress.clone(),
        );
        tokio::spawn(async move {
            let mut runs = 0usize;
            let mut removed = 0u64;
            while !done.load(Ordering::SeqCst) {
                let horizon = cursors
                    .iter()
                    .map(|c| c.load(Ordering::SeqCst))
                    .min()
                    .unwrap_or(0);
                let r = space.compact(horizon).await.unwrap();
                assert!(r.horizon <= horizon.max(r.horizon));
                removed += r.log_rows_before.saturating_sub(r.log_rows_after);
                runs += 1;
                progress.0.store(runs as u64, Ordering::SeqCst);
                progress.1.store(removed, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            (runs, removed)
        })
    };

    let pusher_tasks: Vec<_> = pushers
        .iter()
        .cloned()
        .map(|dev| {
            let progress = progress.clone();
            tokio::spawn(async move {
                let mut accepted: Vec<(u64, String)> = Vec::new();
                let mut sent = Vec::new();
                for b in 0..BATCHES {
                    // From the middle on, wait for the compactor to have run and removed rows.
                    let waited = std::time::Instant::now();
                    while b >= BATCHES / 2
                        && (progress.0.load(Ordering::SeqCst) < 3 || progress.1.load(Ordering::SeqCst) == 0)
                    {
                        assert!(
                            waited.elapsed() < std::time::Duration::from_secs(60),
                            "the compactor made no progress"
                        );
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    }
                    let ops = dev.ops(OPS_PER_BATCH, &format!("{}-{b}", dev.device));
                    let out = dev.push(&ops).await;
                    assert_eq!((out.accepted, out.duplicates), (OPS_PER_BATCH, 0));
                    accepted.extend(out.seqs.iter().copied().zip(ops.iter().map(|o| o.id.to_string())));
                    sent.push(ops);
                }
                // Every batch again, as after lost answers: all duplicates, whether compacted or not.
                for ops in &sent {
                    let again = dev.push(ops).await;
                    assert_eq!((again.accepted, again.duplicates), (0, OPS_PER_BATCH));
                }
                accepted
            })
        })
        .collect();

    let mut accepted: BTreeMap<u64, String> = BTreeMap::new();
    for t in pusher_tasks {
        for (seq, id) in t.await.unwrap() {
            assert!(accepted.insert(seq, id).is_none(), "seq {seq} given to two ops");
        }
    }
    done.store(true, Ordering::SeqCst);
    let total = PUSHERS * BATCHES * OPS_PER_BATCH;
    assert_eq!(
        accepted.keys().copied().collect::<Vec<_>>(),
        (1..=total as u64).collect::<Vec<_>>()
    );
    for t in reader_tasks {
        let seen: BTreeMap<u64, String> = t.await.unwrap().into_iter().collect();
        assert_eq!(
            seen, accepted,
            "every reader saw exactly the accepted ops at their seqs"
        );
    }
    let (runs, removed) = compactor.await.unwrap();
    eprintln!(
        "{runs} compactions removed {removed} rows while {PUSHERS} devices pushed and {READERS} pulled"
    );
    assert!(
        runs >= 3 && removed > 0,
        "compaction really ran alongside ({runs} runs, {removed} rows)"
    );
    let view = readers[0].peers().await;
    assert_eq!(view.head, total as u64, "no retried op was logged again");
    hub.stop().await.unwrap();
}
