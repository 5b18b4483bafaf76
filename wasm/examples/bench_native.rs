//! The native half of `cargo xtask bench wasm`: the workload of [`hearth_wasm::bench`] applied with
//! `Store::apply_pulled` in pages of 10,000 into a fresh file database with the native settings (WAL,
//! synchronous=FULL), exactly as `core/benches/apply.rs` does; `HEARTH_BENCH_RUNS` runs (default 3), each
//! on a fresh file. Prints each run, then `native: ops_per_s=<median> runs=R checksum=X`.

#[cfg(not(target_arch = "wasm32"))]
fn runs() -> usize {
    std::env::var("HEARTH_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1)
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::sync::Arc;
    use std::time::Instant;

    use hearth_core::bench;
    use hearth_core::{ManualEnv, Options, Store};

    let ops = bench::ops();
    let checksum = bench::checksum(&ops);
    let pages = bench::pages(&ops);
    let runs = runs();
    let mut rates = Vec::new();
    for run in 0..runs {
        let dir = std::env::temp_dir().join(format!("hearth-bench-native-{}-{run}", std::process::id()));
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
        println!("native run {}: {seconds:.3} s", run + 1);
        rates.push(bench::OPS as f64 / seconds);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "native: ops_per_s={:.0} runs={runs} checksum={checksum} ops={}",
        rates[rates.len() / 2],
        bench::OPS
    );
    Ok(())
}

#[cfg(target_arch = "wasm32")]
fn main() {}
