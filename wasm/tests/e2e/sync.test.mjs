// Sync against a real `hearth serve` on 127.0.0.1: the browser and a CLI replica both edit while the hub
// is down, then sync; their canonical exports must be byte-identical. Then the browser's OPFS store is
// wiped behind its back: the page notices (its identity survives in localStorage) and downloads the
// space again instead of starting empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, openPage, call, cli, invite, tempDir, waitFor, cleanup } from './helpers.mjs';

async function syncUntilClean(page) {
  // The background loop may be mid-round or backing off; syncNow waits its turn.
  return waitFor(async () => {
    const r = await call(page, 'syncNow');
    return !r.problem && r.unsent === 0 ? r : null;
  }, 'a clean browser sync round');
}

test('browser and CLI converge through a real hub after editing offline', async () => {
  let hub = await startHub();
  const home = tempDir('cli');
  const browser = await launch();
  try {
    const page = await openPage(browser.context, hub.url, 'synced');
    const paired = await call(page, 'pair', hub.url, hub.code, 'test browser');
    assert.equal(paired.space, 'default');
    cli(['init', '--hub', hub.url, '--code', invite(hub.data), '--home', home, '--name', 'cli']);

    // Online: a shared project and task, seen by both.
    const shared = await call(page, 'createProject', 'Shared', {});
    const task = await call(page, 'createTask', 'Water the plants', { project: shared });
    await syncUntilClean(page);
    cli(['sync', '--home', home]);
    assert.match(cli(['export', '--home', home]), /Water the plants/);

    // The live stream: a CLI push reaches the browser without asking it to sync.
    const events = await page.evaluate(() => window.hearthEvents.length);
    cli(['task', 'add', 'Pushed live from the CLI', '--home', home]);
    cli(['sync', '--home', home]);
    await waitFor(async () => (await call(page, 'search', 'Pushed live')).length === 1, 'the live event to pull the CLI task');
    await waitFor(async () => (await page.evaluate(() => window.hearthEvents)).slice(events).some((e) => e.source === 'remote'), 'a remote change event');

    // Offline: the hub goes away; both sides edit, including the same task.
    const port = hub.port;
    await hub.stop();
    await call(page, 'createTask', 'Written in the browser offline', { project: shared, due: '2026-12-24' });
    await call(page, 'set', task, 'priority', 1);
    await call(page, 'set', task, 'title', 'Water the plants (browser)');
    cli(['task', 'add', 'Written on the CLI offline', '--home', home]);
    cli(['task', 'done', task, '--home', home]);
    assert.ok((await call(page, 'status')).unsent >= 3);

    // The hub is back on the same port with the same data: both sync, the browser once more to pull
    // the CLI's ops.
    hub = await startHub({ data: hub.data, port });
    await syncUntilClean(page);
    cli(['sync', '--home', home]);
    await syncUntilClean(page);
    const fromCli = cli(['export', '--home', home]);
    const fromBrowser = await call(page, 'export');
    assert.equal(fromBrowser.trim(), fromCli.trim(), 'the browser and the CLI replica differ');
    for (const t of ['Written in the browser offline', 'Written on the CLI offline', 'Water the plants (browser)']) {
      assert.ok(fromBrowser.includes(t), `${t} missing`);
    }
    const status = await call(page, 'status');
    assert.equal(status.unsent, 0);
    assert.equal(status.sync, 'synced');

    // The browser wipes the store (e.g. under storage pressure) but localStorage keeps the identity.
    await page.close();
    const blank = await browser.context.newPage();
    await blank.goto(`${hub.url}/blank.html`);
    await blank.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      await root.removeEntry('.hearth', { recursive: true });
    });
    await blank.close();
    const again = await openPage(browser.context, hub.url, 'synced');
    const restored = await call(again, 'status');
    assert.equal(restored.restored, true);
    assert.equal(restored.device, status.device);
    assert.ok((await again.evaluate(() => window.hearth.warnings)).some((w) => /downloaded again/.test(w)));
    await syncUntilClean(again);
    assert.equal((await call(again, 'export')).trim(), fromCli.trim(), 'the re-downloaded store differs');

    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.context.close();
    await hub.stop();
    cleanup(browser.profile, hub.data, home);
  }
});
