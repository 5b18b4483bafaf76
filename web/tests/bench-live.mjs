// The browser half of `cargo xtask bench live`: how long a change takes to show on another device, on
// loopback against a real hub (env HEARTH_BIN, HEARTH_DIST, CHROMIUM; HEARTH_BENCH_CHANGES, default 200).
//
// Each browser device is its own browser with its own persistent profile, as an installed PWA is: an
// incognito context (Playwright's `browser.newContext()`) keeps OPFS in memory behind the browser
// process, and every file read and write of the store's worker there is a round trip to it (about
// 0.7 ms each, ~10 ms per commit against ~1 ms on disk). `HEARTH_BENCH_INCOGNITO=1` measures in two
// incognito contexts of one browser instead, for comparison.
//
// Device A is the PWA in one browser: a task is typed into quick add and Enter pressed (the
// clock starts at the key press), and the app's worker pushes it as it does any edit. Two devices watch:
//   * the CLI, `hearth sync --watch` (it hears the hub's event stream and pulls): a change is there
//     when the watch prints the round that pulled it (printed after the pull's transaction commits);
//   * the PWA in a second browser, showing the same list: a change is there when its row is
//     in the DOM (a MutationObserver in that page notes the time).
// Every time is wall-clock milliseconds with sub-millisecond precision (`performance.timeOrigin +
// performance.now()` in the pages and here), all on this machine. One change at a time: the next is
// made once both devices show the last, so the two figures come from the same changes, interleaved.
// Prints a line per 50 changes, then the medians and 99th percentiles; the last line is
// `live-cli: p50 <ms> ms p99 <ms> ms  live-web: p50 <ms> ms p99 <ms> ms`.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  startHub, cliReplica, launchBrowser, launchPersistent, newContext, openPaired, expectSynced, cleanup, HEARTH, until,
} from './e2e/helpers.mjs';

const CHANGES = Math.max(10, Number(process.env.HEARTH_BENCH_CHANGES || 200));
const INCOGNITO = process.env.HEARTH_BENCH_INCOGNITO === '1';
const now = () => performance.timeOrigin + performance.now();
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const fmt = (ms) => ms.toFixed(1);

const hub = await startHub();
const watcher = cliReplica(hub, 'bench-live-cli');
const browser = INCOGNITO ? await launchBrowser() : null;
const devices = [];
let watch;
try {
  const device = async () => {
    const viewport = { width: 1280, height: 800 };
    const d = INCOGNITO ? await newContext(browser, { viewport }) : await launchPersistent({ viewport });
    devices.push(d);
    return d;
  };
  const a = await device();
  const b = await device();
  const writer = await openPaired(a.context, hub, 'bench-live-writer');
  const viewer = await openPaired(b.context, hub, 'bench-live-viewer');
  await expectSynced(writer);
  await expectSynced(viewer);
  // The viewer notes when each task title first appears in its list.
  await viewer.evaluate(() => {
    window.__seen = new Map();
    const look = () => {
      for (const el of document.querySelectorAll('ul.tasks li.task .task-title')) {
        const t = el.textContent;
        if (!window.__seen.has(t)) window.__seen.set(t, performance.timeOrigin + performance.now());
      }
    };
    new MutationObserver(look).observe(document.body, { childList: true, subtree: true, characterData: true });
    look();
  });

  // The CLI watcher: every printed round that pulled something, with when it was printed.
  watch = spawn(HEARTH, ['sync', '--watch', '--home', watcher.home], { stdio: ['ignore', 'pipe', 'pipe'] });
  const rounds = [];
  createInterface({ input: watch.stdout }).on('line', (line) => {
    const m = line.match(/pulled (\d+)/);
    if (m && Number(m[1]) > 0) rounds.push(now());
  });
  let watchErr = '';
  watch.stderr.on('data', (d) => { watchErr += d; });
  watch.on('exit', (code) => { if (code !== null) console.error(`the watcher exited ${code}: ${watchErr}`); });
  // Let the watcher finish its first round and reach its live connection before the first change.
  await new Promise((r) => setTimeout(r, 1500));

  const input = writer.getByRole('textbox', { name: 'New task title' });
  const cli = [];
  const web = [];
  for (let i = 0; i < CHANGES; i++) {
    const title = `live ${i}`;
    const before = rounds.length;
    await input.fill(title);
    const t0 = now();
    await input.press('Enter');
    const cliAt = await until(() => rounds.length > before && rounds[rounds.length - 1], `the CLI to pull “${title}”`, 20000);
    const webAt = await until(() => viewer.evaluate((t) => window.__seen.get(t) ?? null, title), `the viewer to show “${title}”`, 20000);
    cli.push(cliAt - t0);
    web.push(webAt - t0);
    if ((i + 1) % 50 === 0) {
      console.log(`changes ${i + 1}: cli p50 ${fmt(quantile(cli, 0.5))} ms, web p50 ${fmt(quantile(web, 0.5))} ms`);
    }
  }
  console.log(`${CHANGES} changes, one at a time, each made in the app of one browser (${INCOGNITO ? 'incognito contexts' : 'persistent profiles'}):`);
  console.log(`cli (hearth sync --watch): p50 ${fmt(quantile(cli, 0.5))} ms, p99 ${fmt(quantile(cli, 0.99))} ms, max ${fmt(Math.max(...cli))} ms`);
  console.log(`web (second browser): p50 ${fmt(quantile(web, 0.5))} ms, p99 ${fmt(quantile(web, 0.99))} ms, max ${fmt(Math.max(...web))} ms`);
  console.log(`live-cli: p50 ${fmt(quantile(cli, 0.5))} ms p99 ${fmt(quantile(cli, 0.99))} ms  live-web: p50 ${fmt(quantile(web, 0.5))} ms p99 ${fmt(quantile(web, 0.99))} ms`);
} finally {
  watch?.kill();
  for (const d of devices) await d.context.close();
  await browser?.close();
  await hub.stop();
  cleanup(hub.data, watcher.home, ...devices.map((d) => d.profile));
}
