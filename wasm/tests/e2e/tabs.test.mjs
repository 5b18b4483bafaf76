// Several tabs, one database: the first tab owns the store (Web Lock) and runs the worker; the second
// forwards its calls over a BroadcastChannel. Edits in either show in both (change events included).
// Closing the owner hands the database to the other tab, and no write is lost — not even one sent
// while the owner was closing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, openPage, call, waitFor, cleanup } from './helpers.mjs';

const titles = async (page) => (await call(page, 'tasks', null)).map((t) => t.title).sort();

test('two tabs share one store and hand over when the owner closes', async () => {
  const hub = await startHub();
  const browser = await launch();
  try {
    const a = await openPage(browser.context, hub.url, 'tabs');
    const b = await openPage(browser.context, hub.url, 'tabs');
    assert.equal(await a.evaluate(() => window.hearth.isOwner()), true);
    assert.equal(await b.evaluate(() => window.hearth.isOwner()), false);

    await call(a, 'createTask', 'from A', {});
    await call(b, 'createTask', 'from B', {});
    assert.deepEqual(await titles(a), ['from A', 'from B']);
    assert.deepEqual(await titles(b), ['from A', 'from B']);
    // Each tab heard about the other's write.
    await waitFor(() => b.evaluate(() => window.hearthEvents.some((e) => e.source === 'local')), 'B to see a change event');
    await waitFor(async () => (await a.evaluate(() => window.hearthEvents.filter((e) => e.source === 'local').length)) >= 2, 'A to see both writes');

    // B writes while A closes: fired without waiting, then A goes away.
    const inFlight = b.evaluate(() => Promise.all([
      window.hearth.call('createTask', 'during handover 1', {}),
      window.hearth.call('createTask', 'during handover 2', {}),
    ]));
    await a.close({ runBeforeUnload: false });
    const afterClose = b.evaluate(() => window.hearth.call('createTask', 'after owner closed', {}));
    await inFlight;
    await afterClose;
    await waitFor(() => b.evaluate(() => window.hearth.isOwner()), 'B to take over');
    assert.deepEqual(await titles(b), ['after owner closed', 'during handover 1', 'during handover 2', 'from A', 'from B']);

    // A new tab joins the new owner; the data is the same, and B's writes are durable.
    const c = await openPage(browser.context, hub.url, 'tabs');
    assert.equal(await c.evaluate(() => window.hearth.isOwner()), false);
    await call(c, 'createTask', 'from C', {});
    assert.deepEqual(await titles(b), await titles(c));
    assert.equal((await titles(c)).length, 6);
    await b.close();
    await waitFor(() => c.evaluate(() => window.hearth.isOwner()), 'C to take over');
    assert.equal((await titles(c)).length, 6);
    assert.equal((await call(c, 'status')).storage.kind, 'opfs');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.context.close();
    await hub.stop();
    cleanup(browser.profile, hub.data);
  }
});
