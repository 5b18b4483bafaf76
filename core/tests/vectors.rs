//! Golden vectors: op files in `tests/vectors/` with the export they must produce, in any delivery order.
//! Every platform runs the same files, so they agree on the same bytes. `HEARTH_BLESS=1` writes the
//! current export into a file that has none (review it before committing).

use std::sync::Arc;

use hearth_core::{ManualEnv, Op, Options, Store};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::Value;

fn export_of(ops: &[Op]) -> String {
    let env = Arc::new(ManualEnv::new(0x0190_0000_0000 + 60_000, 7));
    let mut store = Store::open_in_memory(env, Options::default()).expect("open");
    store.apply(ops).expect("apply");
    store.export().expect("export")
}

#[test]
fn vectors_give_their_export_in_every_order() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("vectors dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 6, "vectors missing from {}", dir.display());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read vector");
        let mut vector: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ops: Vec<Op> = serde_json::from_value(vector["ops"].clone()).expect("ops");
        let got = export_of(&ops);
        let Some(expected) = vector.get("export") else {
            if std::env::var_os("HEARTH_BLESS").is_some() {
                vector["export"] = serde_json::from_str(&got).expect("export is JSON");
                std::fs::write(&path, serde_json::to_string_pretty(&vector).expect("json") + "\n")
                    .expect("write");
                continue;
            }
            panic!(
                "{} has no export; run with HEARTH_BLESS=1 and review it",
                path.display()
            );
        };
        let expected = serde_json::to_string_pretty(expected).expect("json") + "\n";
        assert_eq!(got, expected, "{}: in file order", path.display());
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let mut shuffled = ops.clone();
        shuffled.reverse();
        for round in 0..20 {
            let mut twice = shuffled.clone();
            twice.extend(ops.iter().take(round % ops.len()).cloned());
            assert_eq!(export_of(&twice), expected, "{}: shuffle {round}", path.display());
            shuffled.shuffle(&mut rng);
        }
    }
}
