//! Compaction over HTTP: the horizon the acks allow, `410 behind_horizon` below it, the snapshot pages
//! and their digest, duplicates recognised after their rows are gone, and a device inside its TTL
//! holding the horizon back.

use std::time::Duration;

use hearth_core::wire::{PeerState, SnapshotPage};
use serde_json::json;

use crate::common::{TestHub, expect_error};

/// Every page of the current snapshot, `limit` entries at a time.
async fn snapshot_pages(dev: &crate::common::Device, limit: usize) -> Vec<SnapshotPage> {
    let mut pages = Vec::new();
    let mut after = 0;
    let mut seq: Option<u64> = None;
    loop {
        let path = match seq {
            Some(s) => format!("snapshot?seq={s}&after={after}&limit={limit}"),
            None => format!("snapshot?after={after}&limit={limit}"),
        };
        let res = dev.get(&path).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let page: SnapshotPage = res.json().await.unwrap();
        seq = Some(page.seq);
        let next = page.next;
        pages.push(page);
        match next {
            Some(n) => after = n,
            None => return pages,
        }
    }
}

#[tokio::test]
async fn compaction_removes_acked_rows_and_sends_devices_behind_it_to_the_snapshot() {
    let hub = TestHub::start().await;
    let laptop = hub.pair("default", "laptop").await;
    let phone = hub.pair("default", "phone").await;
    // 30 ops over 10 nodes: 3 writes per node, the last one wins.
    let mut ops = Vec::new();
    for round in 0..3 {
        for n in 0..10 {
            ops.push(laptop.op(&format!("n{n}"), &format!("v{round}")));
        }
    }
    assert_eq!(laptop.push(&ops).await.head, 30);
    // The phone acks 20, the laptop 30: the horizon is 20.
    for (dev, seq) in [(&laptop, 30), (&phone, 20)] {
        let res = dev.post_json("ack", &json!({"seq": seq})).await;
        assert_eq!(res.status(), 204);
    }
    let report = hub.state.compact("default").await.unwrap();
    assert_eq!(
        (
            report.horizon,
            report.snapshot_seq,
            report.log_rows_before,
            report.log_rows_after
        ),
        (20, 30, 30, 10)
    );
    // Every field winner with its stamp: 10 titles (no node.create: no type fields).
    assert_eq!(report.snapshot_entries, 10);

    let view = laptop.peers().await;
    assert_eq!(
        (
            view.head,
            view.horizon,
            view.compacted,
            view.snapshot_seq,
            view.log_rows
        ),
        (30, 20, 20, 30, 10)
    );
    assert!(view.peers.iter().all(|p| p.state == PeerState::Active));

    // At and above the horizon, pulls go on as before: the rows after 20 are all there.
    let page = phone.pull(20, 100).await;
    assert_eq!(
        page.ops.iter().map(|s| s.seq).collect::<Vec<_>>(),
        (21..=30).collect::<Vec<_>>()
    );
    assert_eq!(page.horizon, 20);

    // Below it: 410 with the horizon, the snapshot to restore from, and no caching.
    let res = phone.pull_raw(5, 100).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body = expect_error(res, 410, "behind_horizon").await;
    assert_eq!(
        (body["horizon"].as_u64(), body["snapshot_seq"].as_u64()),
        (Some(20), Some(30))
    );
    assert!(body["message"].as_str().unwrap().contains("snapshot"), "{body}");

    // The snapshot, paged 3 at a time: 10 entries, in order, with the digest of the hub's export at 30.
    let pages = snapshot_pages(&phone, 3).await;
    assert_eq!(
        pages.iter().map(|p| p.entries.len()).collect::<Vec<_>>(),
        vec![3, 3, 3, 1]
    );
    assert!(pages.iter().all(|p| (p.seq, p.epoch, p.total) == (30, 1, 10)));
    let entries: Vec<_> = pages.iter().flat_map(|p| p.entries.clone()).collect();
    let mut fresh = hearth_core::Store::open_in_memory(
        std::sync::Arc::new(hearth_core::SystemEnv),
        hearth_core::Options::default(),
    )
    .unwrap();
    fresh.merge_snapshot_entries(&entries).unwrap();
    assert_eq!(
        hearth_core::snapshot::digest(fresh.conn()).unwrap(),
        pages[0].digest,
        "the merged pages rebuild exactly the state the digest names"
    );
    let space = hub.state.space("default").await.unwrap();
    let hub_export = {
        let path = hub.dir.path().join("spaces/default.db");
        let conn = rusqlite::Connection::open(path).unwrap();
        hearth_core::query::export(&conn).unwrap()
    };
    assert_eq!(fresh.export().unwrap(), hub_export);
    drop(space);

    // A retried push of ops whose rows are gone is still a duplicate: nothing is logged twice.
    let again = laptop.push(&ops[..15]).await;
    assert_eq!((again.accepted, again.duplicates, again.head), (0, 15, 30));
    assert!(again.seqs.iter().all(|s| *s <= 20), "{:?}", again.seqs);
    assert_eq!(laptop.peers().await.log_rows, 10);

    // A new snapshot replaces the old one; asking for a replaced one by seq says so.
    laptop.push(&laptop.ops(3, "more")).await;
    for dev in [&laptop, &phone] {
        dev.post_json("ack", &json!({"seq": 33})).await;
    }
    let report = hub.state.compact("default").await.unwrap();
    assert_eq!(
        (report.horizon, report.snapshot_seq, report.log_rows_after),
        (33, 33, 0)
    );
    laptop.push(&laptop.ops(1, "later")).await;
    for dev in [&laptop, &phone] {
        dev.post_json("ack", &json!({"seq": 34})).await;
    }
    hub.state.compact("default").await.unwrap();
    // 33 is the previous snapshot: still kept for devices paging it; 30 is gone.
    assert_eq!(phone.get("snapshot?seq=33&limit=1").await.status(), 200);
    let res = phone.get("snapshot?seq=30").await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    expect_error(res, 410, "snapshot_gone").await;
    expect_error(phone.get("snapshot?limit=0").await, 400, "malformed").await;
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn a_space_never_compacted_has_no_snapshot_and_pulls_from_zero() {
    let hub = TestHub::start().await;
    let dev = hub.pair("default", "laptop").await;
    dev.push(&dev.ops(2, "a")).await;
    let body = expect_error(dev.get("snapshot").await, 404, "not_found").await;
    assert!(
        body["message"].as_str().unwrap().contains("pull from seq 0"),
        "{body}"
    );
    assert_eq!(dev.pull(0, 10).await.ops.len(), 2);
    hub.stop().await.unwrap();
}

#[tokio::test]
async fn a_device_inside_its_ttl_holds_the_horizon_and_an_inactive_one_does_not() {
    let hub = TestHub::start_with(|c| c.limits.peer_ttl = Duration::from_secs(2)).await;
    let laptop = hub.pair("default", "laptop").await;
    let phone = hub.pair("default", "phone").await;
    laptop.push(&laptop.ops(40, "a")).await;
    laptop.post_json("ack", &json!({"seq": 40})).await;
    phone.post_json("ack", &json!({"seq": 10})).await;

    // The phone was seen just now: nothing it has not acked is compacted.
    let report = hub.state.compact("default").await.unwrap();
    assert_eq!((report.horizon, report.log_rows_after), (10, 30));
    assert_eq!(
        phone.pull(10, 100).await.ops.len(),
        30,
        "everything after its ack is still there"
    );

    // Past its TTL, the phone no longer holds the horizon back (the laptop keeps being seen).
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    laptop.post_json("ack", &json!({"seq": 40})).await;
    let report = hub.state.compact("default").await.unwrap();
    assert_eq!((report.horizon, report.log_rows_after), (40, 0));
    let view = laptop.peers().await;
    let phone_state = view
        .peers
        .iter()
        .find(|p| p.device == phone.device)
        .unwrap()
        .state;
    assert_eq!(phone_state, PeerState::BehindHorizon);
    // When it comes back it is sent to the snapshot, and once restored it is active again.
    expect_error(phone.pull_raw(10, 100).await, 410, "behind_horizon").await;
    phone.post_json("ack", &json!({"seq": 40})).await;
    let view = laptop.peers().await;
    let phone_state = view
        .peers
        .iter()
        .find(|p| p.device == phone.device)
        .unwrap()
        .state;
    assert_eq!(phone_state, PeerState::Active);
    hub.stop().await.unwrap();
}
