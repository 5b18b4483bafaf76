// Durability: what a tab writes is in OPFS, survives a reload and a browser restart; errors reach JS
// typed ({code, message}); where OPFS cannot work, the store runs in memory and the page warns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, openPage, call, cleanup } from './helpers.mjs';

test('writes survive a reload and a browser restart', async () => {
  const hub = await startHub();
  let browser = await launch();
  try {
    let page = await openPage(browser.context, hub.url, 'durable');
    const status = await call(page, 'status');
    assert.equal(status.storage.kind, 'opfs', `expected OPFS storage: ${JSON.stringify(status.storage)}`);
    assert.equal(status.paired, false);

    const home = await call(page, 'createProject', 'Home', {});
    const tap = await call(page, 'createTask', 'Fix the tap', { project: home, due: '2026-12-01', priority: 2 });
    await call(page, 'createTask', 'Buy milk', {});
    await call(page, 'complete', tap);
    const milk = (await call(page, 'search', 'milk'))[0].id;
    await call(page, 'delete', milk);
    await call(page, 'restore', milk);
    await call(page, 'set', milk, 'notes', 'semi-skimmed');
    await call(page, 'set', milk, 'due', '2026-11-01');
    const garden = await call(page, 'createProject', 'Garden', {});
    await call(page, 'move', milk, garden);
    const before = await call(page, 'export');
    const tree = await call(page, 'tree');
    assert.deepEqual(tree.map((p) => [p.title, p.open]).sort(), [['Garden', 1], ['Home', 0]]);
    assert.equal((await call(page, 'tasks', home))[0].status, 'done');
    const agenda = await call(page, 'agenda', '2026-11-30');
    assert.deepEqual(agenda.map((r) => [r.title, r.overdue]), [['Buy milk', true]]);

    // Typed errors, not panics.
    const err = await page.evaluate(() => window.hearth.call('complete', 'no-such-task').catch((e) => ({ name: e.name, code: e.code, message: e.message })));
    assert.equal(err.name, 'HearthError');
    assert.equal(err.code, 'not_found');
    const bad = await page.evaluate(() => window.hearth.call('set', 'x', 'due', 'tomorrow').catch((e) => e.code));
    assert.ok(['not_found', 'invalid_op'].includes(bad), bad);

    await page.reload();
    await page.evaluate(() => window.hearthReady);
    assert.equal(await call(page, 'export'), before, 'the export after a reload differs');

    // Restart the browser on the same profile.
    await browser.context.close();
    browser = await launch(browser.profile);
    page = await openPage(browser.context, hub.url, 'durable');
    assert.equal(await call(page, 'export'), before, 'the export after a browser restart differs');
    assert.equal((await call(page, 'status')).storage.kind, 'opfs');
    const storage = await page.evaluate(() => window.hearth.storage());
    assert.ok(storage.quota > 0 && storage.usage > 0, JSON.stringify(storage));
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.context.close();
    await hub.stop();
    cleanup(browser.profile, hub.data);
  }
});

test('without OPFS the store runs in memory and the page says so', async () => {
  const hub = await startHub();
  const browser = await launch();
  try {
    // In the page there are no OPFS sync access handles (they need a dedicated worker).
    const page = await openPage(browser.context, hub.url, 'memory', '&in-page');
    const status = await call(page, 'status');
    assert.equal(status.storage.kind, 'memory');
    assert.match(status.storage.reason, /dedicated worker/);
    const id = await call(page, 'createTask', 'Kept in memory', {});
    assert.equal((await call(page, 'tasks', null))[0].id, id);
    const banner = await page.locator('#warnings').textContent();
    assert.match(banner, /OPFS is unavailable.*in memory/);
    assert.ok(await page.locator('#warnings').isVisible());
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.context.close();
    await hub.stop();
    cleanup(browser.profile, hub.data);
  }
});
