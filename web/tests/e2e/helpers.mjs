// Shared by the PWA's browser tests (and web/tests/bench.mjs): a real `hearth serve` on 127.0.0.1
// serving the built bundle (HEARTH_DIST), a native CLI replica, headless Debian Chromium through
// playwright-core (no browser downloads), polling assertions on locators, and collection of console
// errors and uncaught exceptions (page errors; unhandled rejections arrive as those too), which every
// test asserts to be none.
import { before, after } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const HEARTH = process.env.HEARTH_BIN;
export const DIST = process.env.HEARTH_DIST;
if (!HEARTH || !DIST) throw new Error('set HEARTH_BIN and HEARTH_DIST (cargo xtask test does)');

export const tempDir = (prefix) => mkdtempSync(join(tmpdir(), `hearth-web-${prefix}-`));

export function cleanup(...dirs) {
  for (const d of dirs) if (d) rmSync(d, { recursive: true, force: true });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Start a hub (`bin`, this release's `hearth` unless told) serving `web`, with `args` added to
 * `hearth serve` (e.g. `['--peer-ttl', '2s']`). Resolves to {url, port, code, data, bin, stop()}; `code`
 * is the first pairing code. */
export function startHub({ web = DIST, data = tempDir('hub'), args = [], bin = HEARTH } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['serve', '--data', data, '--listen', '127.0.0.1:0', '--web', web, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let url = null;
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { proc.kill(); reject(new Error(`the hub did not start: ${stderr}`)); }, 20000);
    const lines = createInterface({ input: proc.stdout });
    lines.on('line', (line) => {
      const m = line.match(/serving (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) url = m[1];
      // The pairing code is the last line of the start-up output (a fresh data dir).
      if (url && /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/.test(line.trim())) {
        clearTimeout(timer);
        resolve({
          url,
          code: line.trim(),
          data,
          bin,
          port: Number(new URL(url).port),
          stop: stopper(proc),
        });
      }
    });
    proc.on('exit', (c) => { clearTimeout(timer); if (!url) reject(new Error(`the hub exited ${c}: ${stderr}`)); });
  });
}

/** A hub process's `stop()`: SIGTERM, resolved once it exited (at once when it already has). */
const stopper = (proc) => () => new Promise((r) => {
  if (proc.exitCode !== null || proc.signalCode !== null) return r();
  proc.once('exit', r);
  proc.kill('SIGTERM');
});

/** Serve `hub`'s data again on its address, after `hub.stop()` (e.g. once the operator ran a command on
 * the data, or to upgrade it: `bin` and `web` are this release's unless told). Resolves to the new hub
 * (the same fields as `startHub`'s, without a code) once it serves. */
export function restartHub(hub, { bin = HEARTH, web = DIST } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['serve', '--data', hub.data, '--listen', `127.0.0.1:${hub.port}`, '--web', web], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { proc.kill(); reject(new Error(`the hub did not start again: ${stderr}`)); }, 20000);
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (/serving http:\/\/127\.0\.0\.1:\d+/.test(line)) {
        clearTimeout(timer);
        resolve({ url: hub.url, data: hub.data, port: hub.port, bin, stop: stopper(proc) });
      }
    });
    proc.on('exit', (c) => { clearTimeout(timer); reject(new Error(`the hub exited ${c}: ${stderr}`)); });
  });
}

/** `hearth <args>`; returns stdout. */
export function cli(args) {
  return execFileSync(HEARTH, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The operator's way through a whole-space migration: stop `hub`, run this release's `hearth migrate
 * MIGRATION --json` on its data, and serve the data again with this release (same address). Resolves to
 * {report, hub}: the migration's JSON report and the hub now serving. */
export async function migrateStopped(hub, migration) {
  await hub.stop();
  const report = JSON.parse(execFileSync(HEARTH, ['migrate', migration, '--json', '--data', hub.data], {
    encoding: 'utf8',
    env: { ...process.env, RUST_LOG: 'warn' },
  }));
  return { report, hub: await restartHub(hub) };
}

/** A fresh one-time pairing code from a running hub (asked with the hub's own release). */
export function invite(hub) {
  const out = execFileSync(hub.bin ?? HEARTH, ['invite', '--data', hub.data], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim().split('\n');
  return out[out.length - 1].trim();
}

/** A native CLI replica paired with `hub` (its own code). */
export function cliReplica(hub, name = 'cli') {
  const home = tempDir('cli');
  cli(['init', '--hub', hub.url, '--code', invite(hub), '--name', name, '--home', home]);
  const run = (...args) => cli([...args, '--home', home]);
  const sync = () => run('sync');
  return {
    home,
    run,
    sync,
    /** Sync until `check()` (reading this replica) returns something truthy: the browser's last change
     * may still be on its way to the hub (its pill can say "Synced" a moment before it counts the change
     * as unsent). Resolves to what `check` returned. */
    syncUntil: (check, what, ms = 15000) => until(() => { sync(); return check(); }, `the CLI replica to see ${what}`, ms),
    /** Open tasks (all of them with `all`) of a project (name or id), or of the Inbox with `null`. */
    ls: (project, { all = false } = {}) =>
      JSON.parse(run('ls', ...(project === null ? ['--inbox'] : ['--project', project]), ...(all ? ['--all'] : []), '--json')),
    export: () => JSON.parse(run('export')),
    tree: () => JSON.parse(run('tree', '--json')),
  };
}

export const CHROME_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync',
];

/** Headless Debian Chromium (each test makes its own contexts with `newContext`). */
export function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: CHROME_ARGS });
}

/** Record console errors, warnings and uncaught exceptions of every page of `context` (and of pages
 * opened later). Returns {problems, warnings}: `problems` must stay empty. */
export function watch(context) {
  const problems = [];
  const warnings = [];
  const onPage = (page) => {
    page.on('console', (msg) => {
      const where = msg.location()?.url ? ` (${msg.location().url})` : '';
      if (msg.type() === 'error') problems.push(`console error: ${msg.text()}${where}`);
      if (msg.type() === 'warning') warnings.push(`console warning: ${msg.text()}${where}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.stack || err}`));
  };
  context.pages().forEach(onPage);
  context.on('page', onPage);
  return { problems, warnings };
}

/** A fresh browser context (its own cache, service workers and OPFS) with problems recorded. */
export async function newContext(browser, options = {}) {
  const context = await browser.newContext(options);
  return { context, ...watch(context) };
}

/** A fresh persistent profile (a real, non-incognito profile: needed where Chromium treats an
 * incognito context differently, e.g. installability). Close with `context.close()`, then `cleanup(profile)`. */
export async function launchPersistent(options = {}) {
  const profile = tempDir('profile');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: CHROME_ARGS, ...options,
  });
  return { context, profile, ...watch(context) };
}

/** Fail with the collected problems, if any; print warnings (they are allowed). */
export function assertClean(label, { problems, warnings }) {
  for (const w of new Set(warnings)) console.log(`# ${label}: ${w}`);
  if (problems.length) throw new Error(`${label}: ${problems.length} console error(s)/page error(s):\n${problems.join('\n')}`);
}

/** Poll `fn` until it returns something truthy. */
export async function until(fn, what, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(50);
  }
}

/** Wait until `locator`'s text content (trimmed) equals `want` (a string) or matches it (a RegExp). */
export async function expectText(locator, want, ms = 15000) {
  let text;
  try {
    await until(async () => {
      text = (await locator.textContent({ timeout: 1000 }))?.trim();
      return want instanceof RegExp ? want.test(text) : text === want;
    }, `text ${want}`, ms);
  } catch {
    throw new Error(`expected ${locator} to have text ${want}, it has ${JSON.stringify(text)}`);
  }
  return text;
}

/** Wait until `locator` matches exactly `n` elements. */
export async function expectCount(locator, n, ms = 15000) {
  let have;
  try {
    await until(async () => (have = await locator.count()) === n, `${n} of ${locator}`, ms);
  } catch {
    throw new Error(`expected ${n} of ${locator}, found ${have}`);
  }
}

// ---- The app ----

/** The running app (not the pairing screen): the store is open and the sidebar loaded. */
export const appReady = (page) => page.locator('div.app[data-state=ready]');

/** Open the app in a new page of `context`; resolves once it shows the pairing screen or the app. */
export async function openApp(context, url) {
  const page = await context.newPage();
  await page.goto(url);
  await page.locator('div.app[data-state=ready], #pair-code').first().waitFor({ timeout: 30000 });
  return page;
}

/** Pair through the pairing screen; resolves once the app shows. */
export async function pair(page, code, name = 'Test browser') {
  await page.getByRole('textbox', { name: 'Pairing code' }).fill(code);
  await page.getByRole('textbox', { name: 'Device name' }).fill(name);
  await page.getByRole('button', { name: 'Pair', exact: true }).click();
  await appReady(page).waitFor({ timeout: 30000 });
}

/** Open the app in `context` and pair it with a new code from `hub`. */
export async function openPaired(context, hub, name = 'Test browser') {
  const page = await openApp(context, hub.url);
  await pair(page, invite(hub), name);
  return page;
}

/** The sync status pill. */
export const pill = (page) => page.locator('.topbar [role=status]');

/** Wait for the pill to say exactly "Synced" (paired, online, nothing unsent). */
export const expectSynced = (page, ms = 20000) => expectText(pill(page), 'Synced', ms);

/** Has a service worker taken control of the page? */
export const controlled = (page) => page.evaluate(() => !!navigator.serviceWorker.controller);

/** Wait until a service worker controls the page (the first install claims it). */
export const waitForController = (page, ms = 30000) => until(() => controlled(page), 'a service worker to control the page', ms);

/** Ask the controlling service worker for its version. */
export const swVersion = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = (e) => resolve(e.data);
  setTimeout(() => reject(new Error('the service worker did not answer')), 5000);
  navigator.serviceWorker.controller.postMessage({ type: 'version' }, [channel.port2]);
}));

/** The sidebar. */
export const sidebar = (page) => page.getByRole('navigation', { name: 'Lists and projects' });

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A sidebar button (Inbox, Today or a project) by its title, relative to `root` (e.g. a row). */
const navItem = (page, title, root = page) =>
  root.getByRole('button', { name: new RegExp(`^${escapeRe(title)}\\b`) }).and(page.locator('.nav-item'));
export const navButton = (page, title) => navItem(page, title, sidebar(page));

/** The count shown beside a sidebar entry (a number, read from its `.count` span). */
export async function navCount(page, title) {
  return Number((await navButton(page, title).locator('.count').textContent()).trim());
}

/** Wait until the sidebar's count for `title` is `n`. */
export async function expectNavCount(page, title, n, ms = 15000) {
  let have;
  try {
    await until(async () => (have = await navCount(page, title)) === n, `${title} count ${n}`, ms);
  } catch {
    throw new Error(`expected the sidebar count of ${title} to be ${n}, it is ${have}`);
  }
}

/** The sidebar row (li.tree-item) of a project. */
export const projectRow = (page, title) => sidebar(page).locator('li.tree-item').filter({ has: navItem(page, title) });

/** The main heading. */
export const heading = (page) => page.locator('main h1');

/** The menu button that opens the sidebar as a drawer (visible at phone width only). */
export const menuButton = (page) => page.getByRole('button', { name: 'Projects and lists' });

/** At phone width: wait until the drawer has finished sliding (fully in when open, fully out when
 * closed) and stays put. A no-op on a desktop, where the sidebar is a column. */
export async function drawerSettled(page) {
  if (!(await menuButton(page).isVisible())) return;
  let last = null;
  await until(async () => {
    const open = (await menuButton(page).getAttribute('aria-expanded')) === 'true';
    const box = await sidebar(page).boundingBox();
    const x = box ? Math.round(box.x) : null;
    const settled = box && (open ? x === 0 : x + box.width <= 0) && x === last;
    last = x;
    return settled;
  }, 'the drawer to settle');
}

/** Open a sidebar entry (through the drawer on a phone) and wait for its heading. */
export async function openList(page, title) {
  const menu = menuButton(page);
  if (await menu.isVisible()) {
    if ((await menu.getAttribute('aria-expanded')) !== 'true') await menu.click();
    await drawerSettled(page);
  }
  await navButton(page, title).click();
  await expectText(heading(page), title);
  await drawerSettled(page);
}

/** Create a top-level project from the sidebar; the app opens it. */
export async function createProject(page, title) {
  await sidebar(page).getByRole('button', { name: 'New project' }).click();
  const input = page.getByRole('textbox', { name: 'Project name' });
  await input.fill(title);
  await input.press('Enter');
  await expectText(heading(page), title);
  await navButton(page, title).waitFor();
}

/** In a project's view: add a sub-project; the app opens it. */
export async function addSubProject(page, title) {
  await page.getByRole('button', { name: 'Add sub-project' }).click();
  const input = page.getByRole('textbox', { name: 'Sub-project name' });
  await input.fill(title);
  await input.press('Enter');
  await expectText(heading(page), title);
  await navButton(page, title).waitFor();
}

/** The task list of the current view, and one task's row by exact title. */
export const taskList = (page) => page.getByRole('list', { name: 'Tasks' });
export const taskRow = (page, title) =>
  taskList(page).locator('li.task').filter({ has: page.getByRole('checkbox', { name: `Done: ${title}`, exact: true }) });

/** Quick add in the current list; waits for the row. */
export async function addTask(page, title, { due, priority } = {}) {
  if (due !== undefined) await page.getByLabel('New task due date').fill(due);
  if (priority !== undefined) await page.getByRole('combobox', { name: 'New task priority' }).selectOption(String(priority));
  const input = page.getByRole('textbox', { name: 'New task title' });
  await input.fill(title);
  await input.press('Enter');
  await taskRow(page, title).waitFor();
}

/** The button of a task row that opens its inline editor. */
/** Ticks a task's Done box. A finished task may leave the list as soon as the store answers, so this
 * clicks once (Playwright's `check()` re-reads the box afterwards and times out when the row is gone)
 * and then waits until the box is ticked or its row has left. */
export async function finishTask(page, title) {
  const box = page.getByRole('checkbox', { name: `Done: ${title}`, exact: true });
  await box.click();
  await until(async () => (await box.count()) === 0 || (await box.isChecked({ timeout: 1000 })), `"${title}" to be done`);
}

export const editButton = (page, title) => taskRow(page, title).locator('button.task-main');

/** Open a task's inline editor; returns the editor. */
export async function openEditor(page, title) {
  const button = editButton(page, title);
  if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
  const editor = taskRow(page, title).locator('.editor');
  await editor.waitFor();
  return editor;
}

/** Local date `YYYY-MM-DD`, `days` from today (as the app computes "today"). */
export function localDate(days = 0) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** One hub and one browser for a whole test file: started before its tests (`set(hub, browser)` hands
 * them over), closed, stopped and removed after them. */
export function useHubAndBrowser(set) {
  let hub;
  let browser;
  before(async () => {
    hub = await startHub();
    browser = await launchBrowser();
    set(hub, browser);
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
    cleanup(hub?.data);
  });
}

/** Where screenshots for people to look at go: <repo>/artifacts/screenshots/. */
export const SCREENSHOTS = fileURLToPath(new URL('../../../artifacts/screenshots/', import.meta.url));

/** Save a screenshot of the page as it is now under SCREENSHOTS (and check that it was written). */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = `${SCREENSHOTS}${name}`;
  await page.screenshot({ path, caret: 'hide' });
  if (statSync(path).size < 5000) throw new Error(`${name}: the screenshot is empty`);
}
