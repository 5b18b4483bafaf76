//! `cargo xtask bench apply`: 100,000 last-writer-wins sets (3 devices, 10,000 records × 5 fields) in
//! shuffled order, applied through the one apply path in the sync engine's apply batches (10,000 ops, one transaction
//! each) into a fresh file database (WAL, synchronous=FULL); then the raw floor: the same 100,000 rows
//! upserted into a plain table with one prepared statement in one transaction, same settings.

use std::sync::Arc;
use std::time::Instant;

use hearth_core::bench::{self, FIELDS, OPS, PAGE, RECORDS, T0};
use hearth_core::{ManualEnv, Options, Store};

fn file_size(path: &std::path::Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|s| {
            std::fs::metadata(format!("{}{s}", path.display()))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ops = bench::ops();
    let payload_bytes: usize = ops
        .iter()
        .map(|o| serde_json::to_string(o).map(|s| s.len()).unwrap_or(0))
        .sum();
    let pages = bench::pages(&ops);
    let dir = tempfile::tempdir()?;

    let path = dir.path().join("apply.sqlite");
    let env = Arc::new(ManualEnv::new(T0 + 200_000, 1));
    let mut store = Store::open_path(&path, env, Options::default())?;
    let start = Instant::now();
    for page in &pages {
        let cursor = page.last().map(|s| s.seq).unwrap_or(0);
        store.apply_pulled(page, cursor)?;
    }
    let apply_s = start.elapsed().as_secs_f64();
    let apply_bytes = file_size(&path);
    drop(store);

    let floor_path = dir.path().join("floor.sqlite");
    let conn = rusqlite::Connection::open(&floor_path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch("CREATE TABLE floor (node TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, op TEXT NOT NULL, PRIMARY KEY (node, field))")?;
    let rows: Vec<(String, String, String, String)> = ops
        .iter()
        .map(|o| {
            let p = &o.payload;
            (
                p["node"].as_str().unwrap_or("").to_owned(),
                p["field"].as_str().unwrap_or("").to_owned(),
                p["value"].to_string(),
                o.id.to_string(),
            )
        })
        .collect();
    let start = Instant::now();
    let tx = conn.unchecked_transaction()?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO floor (node, field, value, op) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (node, field) DO UPDATE SET value = excluded.value, op = excluded.op",
        )?;
        for (n, f, v, o) in &rows {
            stmt.execute((n, f, v, o))?;
        }
    }
    tx.commit()?;
    let floor_s = start.elapsed().as_secs_f64();
    let floor_bytes = file_size(&floor_path);

    let apply_rate = OPS as f64 / apply_s;
    let floor_rate = OPS as f64 / floor_s;
    println!(
        "ops: {OPS} ({RECORDS} records x {} fields, 3 devices, shuffled; checksum {}), {payload_bytes} bytes as JSON",
        FIELDS.len(),
        bench::checksum(&ops)
    );
    println!(
        "apply: {apply_s:.3} s in {} pages of {PAGE}, database {apply_bytes} bytes",
        pages.len()
    );
    println!("floor: {floor_s:.3} s in one transaction, database {floor_bytes} bytes");
    println!(
        "apply: {} ops/s  floor: {} ops/s  ratio: {:.2}",
        apply_rate.round() as u64,
        floor_rate.round() as u64,
        apply_rate / floor_rate
    );
    Ok(())
}
