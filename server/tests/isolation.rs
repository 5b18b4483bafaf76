//! Two spaces, two devices: no reads or writes across spaces, and separate databases.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestHub, expect_error, expect_forbidden_everywhere};

#[tokio::test]
async fn spaces_are_isolated() {
    let hub = TestHub::start().await;
    let home = hub.pair("default", "home laptop").await;
    let work = hub.pair("work", "work laptop").await;
    assert_eq!((home.space.as_str(), work.space.as_str()), ("default", "work"));

    let home_ops = home.ops(3, "home");
    let work_ops = work.ops(2, "work");
    assert_eq!(home.push(&home_ops).await.seqs, vec![1, 2, 3]);
    assert_eq!(
        work.push(&work_ops).await.seqs,
        vec![1, 2],
        "each space has its own seqs"
    );

    // Each reads only its own space.
    let mine: Vec<_> = home.pull_all(0).await.into_iter().map(|o| o.op).collect();
    assert_eq!(mine, home_ops);
    let theirs: Vec<_> = work.pull_all(0).await.into_iter().map(|o| o.op).collect();
    assert_eq!(theirs, work_ops);

    // No cross reads or writes, with either token, on any endpoint.
    for (dev, other_space) in [(&home, "work"), (&work, "default")] {
        expect_forbidden_everywhere(dev, &hub.url, other_space).await;
    }
    // A device cannot smuggle the other device's ops into its own space either.
    let forged = work.op("x", "forged");
    let res = home.push_raw(&[forged]).await;
    expect_error(res, 403, "forbidden").await;

    // Nothing leaked: heads and logs unchanged.
    assert_eq!(home.pull(0, 100).await.head, 3);
    assert_eq!(work.pull(0, 100).await.head, 2);
    // Each space's peers list only its devices.
    let peers = home.peers().await;
    assert_eq!(
        peers.peers.iter().map(|p| p.device).collect::<Vec<_>>(),
        vec![home.device]
    );
    let peers = work.peers().await;
    assert_eq!(
        peers.peers.iter().map(|p| p.device).collect::<Vec<_>>(),
        vec![work.device]
    );

    // One database file per space, each with only its own ops.
    for (space, n) in [("default", 3), ("work", 2)] {
        let conn = rusqlite::Connection::open(hub.dir.path().join(format!("spaces/{space}.db"))).unwrap();
        let count: i64 = conn
            .query_row("SELECT count(*) FROM ops", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, n, "{space}");
    }
    hub.stop().await.unwrap();
}
