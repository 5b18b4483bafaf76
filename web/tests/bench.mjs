// The browser half of `cargo xtask bench web`: how long the PWA takes to become interactive on a cold
// start, in headless Chromium against a real hub on 127.0.0.1 (env HEARTH_BIN, HEARTH_DIST, CHROMIUM;
// HEARTH_BENCH_RUNS, default 5).
//
// The space: a CLI replica writes 5 projects (two nested) and 50 tasks, and every browser downloads them
// when it pairs.
//
// What "cold start" means here: a device that is paired and has its data (the store in OPFS), opening
// the app with nothing of the app itself cached: no HTTP cache (CDP Network.clearBrowserCache, which
// also drops V8's code cache), no service worker and no Cache Storage (CDP Storage.clearDataForOrigin),
// and a new renderer (the page that paired is closed first). So every byte of the bundle comes over
// the network, both wasm modules (UI and store) are compiled from scratch, and the store opens a
// database that has data. The time is from navigation start (performance.timeOrigin) to the moment
// `div.app[data-state=ready]` enters the DOM (the store is open and the sidebar loaded), taken inside
// the page by a MutationObserver. The same observer notes when the app's layout first shows (`div.app`
// in any state: a device that was paired lays the app out while its store opens); its median is
// printed as `laid out`. Why not the other readings:
//   * a fresh context's first open shows the pairing form, not the app: it would time a form;
//   * clearing only the HTTP cache of a paired context changes nothing once the service worker
//     controls the page: it answers from Cache Storage (that is the "warm" figure, printed too).
// Each run opens two fresh devices, each paired with its own code, one after the other: a browser with
// its own profile on disk, as an installed PWA runs (the figure), then an incognito context of one
// shared browser (for comparison: Chromium keeps an incognito context's OPFS in memory in the browser
// process, and each file access of the store's worker is a round trip to it). Each prints its cold and
// warm times; then the medians: the incognito one, the warm one, and `interactive: <ms> ms` (cold, on
// disk) last.
import {
  startHub, cliReplica, launchBrowser, launchPersistent, newContext, invite, openApp, pair, appReady, expectSynced,
  expectNavCount, waitForController, cleanup,
} from './e2e/helpers.mjs';

const RUNS = Math.max(1, Number(process.env.HEARTH_BENCH_RUNS || 5));
const PROJECTS = [['Home'], ['Garden', 'Home'], ['Work'], ['Q4 launch', 'Work'], ['Errands']];
const INBOX_TASKS = 10;
const TASKS_PER_PROJECT = 8;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Records when the app becomes interactive, from the document's own clock (ms since navigation start). */
function markReady() {
  window.__hearthControlledAtStart = !!(navigator.serviceWorker && navigator.serviceWorker.controller);
  const seen = () => {
    if (window.__hearthLaidOutAt === undefined && document.querySelector('div.app')) {
      window.__hearthLaidOutAt = performance.now();
    }
    if (window.__hearthReadyAt === undefined && document.querySelector('div.app[data-state=ready]')) {
      window.__hearthReadyAt = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-state'] });
}

const hub = await startHub();
const seed = cliReplica(hub, 'bench-seed');
const browser = await launchBrowser();
try {
  for (const [title, parent] of PROJECTS) seed.run('project', 'add', title, ...(parent ? ['--parent', parent] : []));
  let n = 0;
  const add = (project) => {
    n += 1;
    const opts = [];
    if (project) opts.push('--project', project);
    if (n % 3 === 0) opts.push('--due', `+${n % 10}`);
    if (n % 4 === 0) opts.push('--priority', String(1 + (n % 4)));
    seed.run('task', 'add', `Benchmark task ${n}`, ...opts);
  };
  for (let i = 0; i < INBOX_TASKS; i++) add(null);
  for (const [title] of PROJECTS) for (let i = 0; i < TASKS_PER_PROJECT; i++) add(title);
  seed.sync();
  const tree = seed.tree();
  console.log(`space: ${tree.projects.length} projects, ${n} tasks`);

  // One cold open of a device that paired in `context`: {cold, warm} in ms.
  async function coldOpen(watched, label) {
    const { context } = watched;
    // Pair and download the space (not timed).
    const first = await openApp(context, hub.url);
    await pair(first, invite(hub), label);
    await expectSynced(first);
    await expectNavCount(first, 'Inbox', INBOX_TASKS);
    for (const p of tree.projects) await expectNavCount(first, p.title, p.open_total);
    await waitForController(first);
    await first.close();

    // Drop everything of the app but its data.
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.clearBrowserCache');
    await cdp.send('Storage.clearDataForOrigin', { origin: hub.url, storageTypes: 'service_workers,cache_storage' });
    await page.addInitScript(markReady);

    await page.goto(hub.url);
    await appReady(page).waitFor({ timeout: 60000 });
    const c = await page.evaluate(() => ({
      ms: window.__hearthReadyAt,
      laidOut: window.__hearthLaidOutAt,
      controlled: window.__hearthControlledAtStart,
      // Bytes of the UI's wasm that came over the network (the store's is fetched by its worker, whose
      // requests the page's timeline does not list).
      wasmBytes: performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.wasm')).map((e) => e.transferSize),
    }));
    if (c.controlled || c.wasmBytes.length !== 1 || c.wasmBytes[0] === 0) {
      throw new Error(`${label} was not cold: ${JSON.stringify(c)}`);
    }
    await expectNavCount(page, 'Inbox', INBOX_TASKS); // the data was there (no pairing screen, no download)

    // Warm: the service worker (installed again by the cold open) answers from its cache.
    await waitForController(page);
    await page.reload();
    await appReady(page).waitFor({ timeout: 60000 });
    const w = await page.evaluate(() => window.__hearthReadyAt);

    if (watched.problems.length) throw new Error(`${label}: console errors:\n${watched.problems.join('\n')}`);
    console.log(`${label}: cold ${Math.round(c.ms)} ms, laid out at ${Math.round(c.laidOut)} ms (UI wasm over the network: ${c.wasmBytes[0]} bytes)  warm ${Math.round(w)} ms`);
    return { cold: c.ms, warm: w, laidOut: c.laidOut };
  }

  const cold = [];
  const laidOut = [];
  const warm = [];
  const incognito = [];
  for (let run = 1; run <= RUNS; run++) {
    const viewport = { width: 1280, height: 800 };
    // The device as it is used: a browser profile on disk (an installed PWA's).
    const device = await launchPersistent({ viewport });
    try {
      const r = await coldOpen(device, `run ${run}, profile on disk`);
      cold.push(r.cold);
      laidOut.push(r.laidOut);
      warm.push(r.warm);
    } finally {
      await device.context.close();
      cleanup(device.profile);
    }
    // For comparison, interleaved: an incognito context, whose OPFS the browser keeps in memory
    // behind its own process (every file access of the store's worker is a round trip to it).
    const watched = await newContext(browser, { viewport });
    try {
      incognito.push((await coldOpen(watched, `run ${run}, incognito context`)).cold);
    } finally {
      await watched.context.close();
    }
  }
  console.log(`incognito context: cold ${Math.round(median(incognito))} ms`);
  console.log(`warm (service worker cache): ${Math.round(median(warm))} ms`);
  console.log(`laid out (cold, the app's layout shown while the store opens): ${Math.round(median(laidOut))} ms`);
  console.log(`interactive: ${Math.round(median(cold))} ms`);
} finally {
  await browser.close();
  await hub.stop();
  cleanup(hub.data, seed.home);
}
