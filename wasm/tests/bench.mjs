// The browser half of `cargo xtask bench wasm`: serve the bundle from a real hub, open the test page in
// headless Chromium, and apply the benchmark's 100,000 ops into a fresh OPFS store inside the owner's
// dedicated worker (Client.benchApply), HEARTH_BENCH_RUNS times (default 3, each on a fresh store).
// Prints each run, then `wasm: ops_per_s=<median> runs=R checksum=X storage=K`.
import { startHub, launch, openPage, call, cleanup } from './e2e/helpers.mjs';

const runs = Math.max(1, Number(process.env.HEARTH_BENCH_RUNS || 3));
const hub = await startHub();
const browser = await launch();
try {
  const page = await openPage(browser.context, hub.url, 'bench-page');
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = await call(page, 'benchApply', `bench-${Date.now()}-${i}`);
    console.log(`wasm run ${i + 1}: ${r.seconds.toFixed(3)} s (${r.storage.kind})`);
    results.push(r);
  }
  if (browser.problems.length) throw new Error(browser.problems.join('\n'));
  const rates = results.map((r) => r.opsPerSec).sort((a, b) => a - b);
  const { checksum, storage, ops } = results[0];
  console.log(`wasm: ops_per_s=${Math.round(rates[Math.floor(rates.length / 2)])} runs=${runs} checksum=${checksum} storage=${storage.kind} ops=${ops}`);
} finally {
  await browser.context.close();
  await hub.stop();
  cleanup(browser.profile, hub.data);
}
