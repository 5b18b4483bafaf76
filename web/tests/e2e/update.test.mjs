// Updates: the hub starts serving a new build (a copy of the bundle whose sw.js version and index.html
// change under it); the page's own check (on window focus, as when a person comes back to the app)
// finds it, the toast offers it, and "Reload to update" reloads into the new build's worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import {
  DIST, startHub, launchBrowser, newContext, assertClean, cleanup, tempDir, openApp, appReady,
  waitForController, swVersion, until, expectText, addTask, taskRow,
} from './helpers.mjs';

const VERSION_LINE = /^const VERSION = '([0-9a-f]{16})';$/m;

let hub;
let browser;
let web;
before(async () => {
  web = tempDir('dist');
  cpSync(DIST, web, { recursive: true });
  hub = await startHub({ web });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
  cleanup(hub?.data, web);
});

test('a new build on the hub is offered and "Reload to update" switches to it', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await openApp(watched.context, hub.url);
  await page.getByRole('button', { name: 'Use on this device only for now' }).click();
  await appReady(page).waitFor();
  await addTask(page, 'Survives the update');
  await waitForController(page);

  const swPath = join(web, 'sw.js');
  const sw = readFileSync(swPath, 'utf8');
  const oldVersion = sw.match(VERSION_LINE)?.[1];
  assert.ok(oldVersion, 'sw.js has a stamped version line');
  assert.deepEqual(await swVersion(page), { type: 'version', version: oldVersion });
  assert.equal(await page.getByText('A new version of Hearth is ready.').count(), 0);

  // The hub now serves a "new build" (and its compressed copies, which the hub prefers, say the same).
  const rewrite = (path, text) => {
    writeFileSync(path, text);
    if (existsSync(`${path}.br`)) writeFileSync(`${path}.br`, brotliCompressSync(text));
    if (existsSync(`${path}.gz`)) writeFileSync(`${path}.gz`, gzipSync(text));
  };
  const newVersion = [...oldVersion].reverse().join('') === oldVersion ? 'feedfacecafebeef' : [...oldVersion].reverse().join('');
  rewrite(swPath, sw.replace(VERSION_LINE, `const VERSION = '${newVersion}';`));
  const indexPath = join(web, 'index.html');
  rewrite(indexPath, readFileSync(indexPath, 'utf8').replace('<head>', '<head>\n    <meta name="hearth-test-build" content="2">'));

  // The person comes back to the window: the page looks for a new build.
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  const toast = page.locator('.toast').filter({ hasText: 'A new version of Hearth is ready.' });
  await toast.waitFor({ timeout: 30000 });
  assert.equal(await toast.getAttribute('role'), 'status');
  // Until the person says so, the old worker stays in charge.
  assert.equal((await swVersion(page)).version, oldVersion);

  const reloaded = page.waitForEvent('load', { timeout: 30000 });
  await toast.getByRole('button', { name: 'Reload to update' }).click();
  await reloaded;
  await appReady(page).waitFor({ timeout: 30000 });
  await waitForController(page);
  await until(async () => (await swVersion(page)).version === newVersion, `the new worker (${newVersion}) to answer`);
  assert.equal(await page.locator('meta[name=hearth-test-build]').getAttribute('content'), '2');
  assert.equal(await page.getByText('A new version of Hearth is ready.').count(), 0);
  // The data is still there after the switch.
  await taskRow(page, 'Survives the update').waitFor();
  // Only the new build's cache is left.
  assert.deepEqual(await page.evaluate(() => caches.keys()), [`hearth-${newVersion}`]);
  await expectText(page.locator('main h1'), 'Inbox');

  await watched.context.close();
  assertClean('update', watched);
});
