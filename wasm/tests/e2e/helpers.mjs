// Shared by the browser tests: a real `hearth serve` on 127.0.0.1 serving the built bundle, headless
// Debian Chromium through playwright-core (no browser downloads), and collection of console errors and
// uncaught exceptions, which every test asserts to be none.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const HEARTH = process.env.HEARTH_BIN;
export const WWW = process.env.HEARTH_WWW;
if (!HEARTH || !WWW) throw new Error('set HEARTH_BIN and HEARTH_WWW (cargo xtask test does)');

export const tempDir = (prefix) => mkdtempSync(join(tmpdir(), `hearth-${prefix}-`));

/** Start a hub. Resolves to {url, port, code, stop()}; `code` is the first pairing code (fresh dir). */
export function startHub({ data = tempDir('hub'), port = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(HEARTH, ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, '--web', WWW], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let url = null;
    let code = null;
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const lines = createInterface({ input: proc.stdout });
    const done = () => resolve({
      url, code, data, proc,
      port: Number(new URL(url).port),
      stop: () => new Promise((r) => { if (proc.exitCode !== null) return r(); proc.once('exit', r); proc.kill('SIGTERM'); }),
    });
    const timer = setTimeout(() => { proc.kill(); reject(new Error(`hub did not start: ${stderr}`)); }, 20000);
    lines.on('line', (line) => {
      const m = line.match(/serving (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) url = m[1];
      if (/^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/.test(line.trim())) code = line.trim();
      if (url && (code || line.startsWith('App bundle') && port !== 0)) { clearTimeout(timer); done(); }
    });
    // A restarted hub (known port, existing data) prints no code: resolve once it serves.
    proc.on('exit', (c) => { if (!url) { clearTimeout(timer); reject(new Error(`hub exited ${c}: ${stderr}`)); } });
    if (port !== 0) {
      const poll = setInterval(async () => {
        try { await fetch(`http://127.0.0.1:${port}/v1/hub`); url = `http://127.0.0.1:${port}`; clearInterval(poll); clearTimeout(timer); done(); } catch {}
      }, 100);
    }
  });
}

/** `hearth <args>`; returns stdout. */
export function cli(args) {
  return execFileSync(HEARTH, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function invite(data) {
  const out = cli(['invite', '--data', data]).trim().split('\n');
  return out[out.length - 1].trim();
}

const ARGS = [
  '--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

/** A browser with its own profile dir. `problems` collects console errors and uncaught exceptions. */
export async function launch(profile = tempDir('profile')) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
  });
  const problems = [];
  context.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  context.on('weberror', (err) => problems.push(`uncaught: ${err.error()}`));
  return { context, profile, problems };
}

/** Open the test page for store `name` and wait until some tab owns the store. */
export async function openPage(context, url, name, extra = '') {
  const page = await context.newPage();
  page.on('pageerror', () => {}); // reported through the context's weberror
  await page.goto(`${url}/?store=${encodeURIComponent(name)}${extra}`);
  await page.evaluate(() => window.hearthReady);
  return page;
}

export const call = (page, method, ...args) =>
  page.evaluate(([m, a]) => window.hearth.call(m, ...a), [method, args]);

export async function waitFor(fn, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function cleanup(...dirs) {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
