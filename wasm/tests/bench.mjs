// The browser half of `cargo xtask bench wasm`: serve the bundle from a real hub, open the test page in
// headless Chromium, and apply the benchmark's 100,000 ops into a fresh OPFS store inside the owner's
// dedicated worker (Client.benchApply). Prints `wasm: ops_per_s=N seconds=S checksum=X storage=K`.
import { startHub, launch, openPage, call, cleanup } from './e2e/helpers.mjs';

const hub = await startHub();
const browser = await launch();
try {
  const page = await openPage(browser.context, hub.url, 'bench-page');
  const r = await call(page, 'benchApply', `bench-${Date.now()}`);
  if (browser.problems.length) throw new Error(browser.problems.join('\n'));
  console.log(`wasm: ops_per_s=${Math.round(r.opsPerSec)} seconds=${r.seconds.toFixed(3)} checksum=${r.checksum} storage=${r.storage.kind} ops=${r.ops} export_bytes=${r.exportBytes}`);
} finally {
  await browser.context.close();
  await hub.stop();
  cleanup(browser.profile, hub.data);
}
