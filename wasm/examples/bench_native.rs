//! The native half of `cargo xtask bench wasm`: the workload of [`hearth_wasm::bench`] applied with
//! `Store::apply_pulled` in pages of 10,000 into a fresh file database with the native settings (WAL,
//! synchronous=FULL), exactly as `core/benches/apply.rs` does. Prints
//! `native: ops_per_s=N seconds=S checksum=X`.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::sync::Arc;
    use std::time::Instant;

    use hearth_core::{ManualEnv, Options, Store};
    use hearth_wasm::bench;

    let ops = bench::ops();
    let checksum = bench::checksum(&ops);
    let pages = bench::pages(&ops);
    let dir = std::env::temp_dir().join(format!("hearth-bench-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("apply.sqlite");
    let env = Arc::new(ManualEnv::new(bench::T0 + 200_000, 1));
    let mut store = Store::open_path(&path, env, Options::default())?;
    let start = Instant::now();
    for page in &pages {
        let cursor = page.last().map(|s| s.seq).unwrap_or(0);
        store.apply_pulled(page, cursor)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "native: ops_per_s={:.0} seconds={seconds:.3} checksum={checksum} ops={}",
        bench::OPS as f64 / seconds,
        bench::OPS
    );
    Ok(())
}

#[cfg(target_arch = "wasm32")]
fn main() {}
