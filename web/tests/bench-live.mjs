// The browser half of `cargo xtask bench live`: how long a change takes to show on another device, on
// loopback against a real hub (env HEARTH_BIN, HEARTH_DIST, CHROMIUM; HEARTH_BENCH_CHANGES, default 200).
//
// Each browser device is its own browser with its own persistent profile, as an installed PWA is: an
// incognito context (Playwright's `browser.newContext()`) keeps OPFS in memory behind the browser
// process, and every file read and write of the store's worker there is a round trip to it (about
// 0.7 ms each, ~10 ms per commit against ~1 ms on disk). `HEARTH_BENCH_INCOGNITO=1` measures in two
// incognito contexts of one browser instead, for comparison.
//
// Device A is the PWA in one browser: a task is typed into quick add and Enter pressed, and the app's
// worker pushes it as it does any edit. The clock starts when the Enter key reaches the page: the
// `timeStamp` of its keydown event, which the browser sets when it takes the key in (before the page
// handles it). The time Playwright's key press takes to get from this script to the browser (over the
// DevTools protocol, 5–15 ms on this machine) is not the app's; it is printed separately, as the
// figures counted from the moment this script asks for the key press. Two devices watch:
//   * the CLI, `hearth sync --watch` (it hears the hub's event stream and pulls): a change is there
//     when the watch prints the round that pulled it (printed after the pull's transaction commits);
//   * the PWA in a second browser, showing the same list: a change is there when its row is
//     in the DOM (a MutationObserver in that page notes the time).
// Every time is wall-clock milliseconds with sub-millisecond precision (`performance.timeOrigin +
// performance.now()` in the pages and here), all on this machine. One change at a time: the next is
// made once both devices show the last, so the two figures come from the same changes, interleaved.
// The watchers report to this script as they see a change (the viewer's page through a binding, the
// CLI through its output); nothing polls them. The first HEARTH_BENCH_WARMUP changes (default 20) are
// not counted, as in any latency benchmark of a running program: the browsers compile the code each
// change runs on its first runs (optimised tiers of both wasm modules), so the first changes measure
// a start, not an open app; their median is printed on its own.
// Prints a line per 50 changes, then the medians and 99th percentiles; the last line is
// `live-cli: p50 <ms> ms p99 <ms> ms  live-web: p50 <ms> ms p99 <ms> ms`.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import {
  startHub, cliReplica, launchBrowser, launchPersistent, newContext, openPaired, expectSynced, cleanup, HEARTH,
} from './e2e/helpers.mjs';

const CHANGES = Math.max(10, Number(process.env.HEARTH_BENCH_CHANGES || 200));
const WARMUP = Math.max(0, Number(process.env.HEARTH_BENCH_WARMUP ?? 20));
const INCOGNITO = process.env.HEARTH_BENCH_INCOGNITO === '1';
const now = () => performance.timeOrigin + performance.now();
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const fmt = (ms) => ms.toFixed(1);

/** Times at which a watcher showed each key (a title, a round), and promises of them. */
class Signal {
  constructor(what) {
    this.what = what;
    this.seen = new Map();
    this.waiting = new Map();
  }

  note(key, at) {
    if (this.seen.has(key)) return;
    this.seen.set(key, at);
    this.waiting.get(key)?.(at);
  }

  when(key, ms = 20000) {
    if (this.seen.has(key)) return Promise.resolve(this.seen.get(key));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${this.what} “${key}”`)), ms);
      this.waiting.set(key, (at) => {
        clearTimeout(timer);
        this.waiting.delete(key);
        resolve(at);
      });
    });
  }
}

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
  // The writer notes when each Enter reached its page.
  await writer.evaluate(() => {
    window.__enters = [];
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') window.__enters.push(performance.timeOrigin + e.timeStamp);
    }, true);
  });
  // Both watchers tell this script when they show a change (nothing polls them: a poll would be work
  // in the viewer's page while the change arrives).
  const cliSaw = new Signal('the CLI to pull');
  const webSaw = new Signal('the viewer to show');
  // The viewer notes when each task title first appears in its list.
  await viewer.exposeBinding('hearthBenchSeen', (_source, title, at) => webSaw.note(title, at));
  await viewer.evaluate(() => {
    const seen = new Set();
    const look = () => {
      for (const el of document.querySelectorAll('ul.tasks li.task .task-title')) {
        const t = el.textContent;
        if (!seen.has(t)) {
          seen.add(t);
          window.hearthBenchSeen(t, performance.timeOrigin + performance.now());
        }
      }
    };
    new MutationObserver(look).observe(document.body, { childList: true, subtree: true, characterData: true });
    look();
  });

  // The CLI watcher: every printed round that pulled something, with when it was printed.
  watch = spawn(HEARTH, ['sync', '--watch', '--home', watcher.home], { stdio: ['ignore', 'pipe', 'pipe'] });
  let rounds = 0;
  createInterface({ input: watch.stdout }).on('line', (line) => {
    const m = line.match(/pulled (\d+)/);
    if (m && Number(m[1]) > 0) cliSaw.note(++rounds, now());
  });
  let watchErr = '';
  watch.stderr.on('data', (d) => { watchErr += d; });
  watch.on('exit', (code) => { if (code !== null) console.error(`the watcher exited ${code}: ${watchErr}`); });
  // Let the watcher finish its first round and reach its live connection before the first change.
  await new Promise((r) => setTimeout(r, 1500));

  const input = writer.getByRole('textbox', { name: 'New task title' });
  const cli = [];
  const web = [];
  const cliHarness = [];
  const webHarness = [];
  for (let i = -WARMUP; i < CHANGES; i++) {
    const title = `live ${i}`;
    const round = rounds + 1;
    await input.fill(title);
    const cliAt = cliSaw.when(round);
    const webAt = webSaw.when(title);
    const t0 = now();
    await input.press('Enter');
    const [cliAtMs, webAtMs] = await Promise.all([cliAt, webAt]);
    // Read once the change has shown everywhere, so that it adds no work while it travels.
    const enters = await writer.evaluate(() => window.__enters.splice(0));
    if (enters.length !== 1) throw new Error(`expected one Enter in the writer's page, saw ${enters.length}`);
    const [entered] = enters;
    if (i === -1) {
      console.log(`warm-up, ${WARMUP} changes not counted: cli p50 ${fmt(quantile(cli, 0.5))} ms, web p50 ${fmt(quantile(web, 0.5))} ms`);
    }
    if (i === 0) for (const xs of [cli, web, cliHarness, webHarness]) xs.length = 0;
    cli.push(cliAtMs - entered);
    web.push(webAtMs - entered);
    cliHarness.push(cliAtMs - t0);
    webHarness.push(webAtMs - t0);
    if (i >= 0 && (i + 1) % 50 === 0) {
      console.log(`changes ${i + 1}: cli p50 ${fmt(quantile(cli, 0.5))} ms, web p50 ${fmt(quantile(web, 0.5))} ms`);
    }
  }
  console.log(`${CHANGES} changes, one at a time, each made in the app of one browser (${INCOGNITO ? 'incognito contexts' : 'persistent profiles'}).`);
  console.log(`Counted from this script's key press request (Playwright's transit included): cli p50 ${fmt(quantile(cliHarness, 0.5))} ms, p99 ${fmt(quantile(cliHarness, 0.99))} ms; web p50 ${fmt(quantile(webHarness, 0.5))} ms, p99 ${fmt(quantile(webHarness, 0.99))} ms`);
  console.log('Counted from the Enter key reaching the writer\'s page:');
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
