// Browser abuse: what a person (or the browser) can do to the store that no API call does. Many tabs
// reloading while they write; the owner tab's renderer killed mid-write; the site's storage quota
// running out; the browser deleting the store while the device's identity survives; a tab taking over
// while the server is unreachable. Each test prints one figure line starting with `abuse:`
// (RELIABILITY.md quotes them; `cargo xtask soak` runs the file at a larger size).
//
// Size: HEARTH_ABUSE_TABS tabs (default 5), each reloaded HEARTH_ABUSE_RELOADS times (default 10; the
// soak runs 200).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launch, openPage, call, waitFor, cleanup } from './helpers.mjs';

const TABS = Number(process.env.HEARTH_ABUSE_TABS || 5);
const RELOADS = Number(process.env.HEARTH_ABUSE_RELOADS || 10);
assert.ok(TABS >= 2 && RELOADS >= 1, 'HEARTH_ABUSE_TABS must be 2 or more, HEARTH_ABUSE_RELOADS 1 or more');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lockName = (store) => `hearth:${store}`;

/** Whether `err` is Playwright saying the page navigated (or closed) under a call: a reload mid-call. */
const navigatedAway = (err) =>
  /Execution context was destroyed|Target page, context or browser has been closed|navigat/i.test(String(err && err.message));

/**
 * Start writing in `page`: `loops` loops, each creating tasks one after the other through the store
 * API. Every answered create calls the context binding `abuseConfirmed(id)` (so the test knows it
 * outside the page, also after the page reloads), every refused one `abuseFailed(text)`.
 */
function startWriting(page, label, loops = 2) {
  return page.evaluate(([label, loops]) => {
    window.abuseStop = false;
    const loop = async (l) => {
      for (let i = 0; !window.abuseStop; i++) {
        const title = `${label} loop ${l} #${i}`;
        try {
          window.abuseConfirmed(await window.hearth.call('createTask', title, {}));
        } catch (e) {
          window.abuseFailed(`${title}: ${e.code}: ${e.message}`);
        }
      }
    };
    window.abuseLoops = Promise.all(Array.from({ length: loops }, (_, l) => loop(l)));
  }, [label, loops]);
}

/** The tasks of the inbox (every task these tests write) as a map id → title. */
async function inbox(page) {
  return new Map((await call(page, 'tasks', null)).map((t) => [t.id, t.title]));
}

test(`tabs × reloads: ${TABS} tabs writing while random tabs reload, ${RELOADS} reloads per tab`, { timeout: 60_000 + RELOADS * TABS * 4_000 }, async () => {
  const started = Date.now();
  const store = 'abuse-reloads';
  const hub = await startHub();
  const browser = await launch();
  const confirmed = new Set();
  const failed = [];
  try {
    await browser.context.exposeBinding('abuseConfirmed', (_source, id) => { confirmed.add(id); });
    await browser.context.exposeBinding('abuseFailed', (_source, what) => { failed.push(what); });
    const tabs = [];
    for (let i = 0; i < TABS; i++) tabs.push(await openPage(browser.context, hub.url, store));
    // A page of the origin that never opens the store: it watches the lock.
    const observer = await browser.context.newPage();
    await observer.goto(`${hub.url}/blank.html`);

    // Owners: every tab's isOwner(), read twice back to back in parallel; a tab counts when it said so
    // both times in the same document (a handover between two reads cannot count twice: the old
    // document is gone by the second). Lock holders: navigator.locks.query() for the store's lock.
    const ownerRead = () => Promise.all(tabs.map((p) => p.evaluate(() => {
      window.abuseDoc ??= crypto.randomUUID();
      return window.hearth && window.hearth.isOwner() ? window.abuseDoc : null;
    }).catch((e) => { if (navigatedAway(e)) return null; throw e; })));
    const owners = async () => {
      const [first, second] = [await ownerRead(), await ownerRead()];
      return first.filter((doc, i) => doc !== null && doc === second[i]).length;
    };
    const holders = () => observer.evaluate(async (name) =>
      (await navigator.locks.query()).held.filter((l) => l.name === name).length, lockName(store));
    const stats = { samples: 0, maxOwners: 0, maxHolders: 0 };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [o, h] = await Promise.all([owners(), holders()]);
        stats.samples++;
        stats.maxOwners = Math.max(stats.maxOwners, o);
        stats.maxHolders = Math.max(stats.maxHolders, h);
        await sleep(25);
      }
    })();

    // Rounds: every tab reloads once per round, at a random moment within it, several at once at times
    // (the lock may pass to a tab that is itself about to reload). Whatever a tab had in flight is cut
    // off; its writing starts again once the reloaded page is connected.
    const generation = tabs.map(() => 0);
    for (let i = 0; i < TABS; i++) await startWriting(tabs[i], `t${i}.0`);
    let reloads = 0;
    let ownerReloads = 0;
    for (let round = 0; round < RELOADS; round++) {
      await Promise.all(tabs.map(async (page, i) => {
        await sleep(Math.random() * 400);
        if (await page.evaluate(() => window.hearth.isOwner())) ownerReloads++;
        await page.reload();
        await page.evaluate(() => window.hearthReady);
        await startWriting(page, `t${i}.${++generation[i]}`);
        reloads++;
      }));
      // Between rounds nothing hands over: exactly one owner, and it holds the lock.
      const [o, h] = await Promise.all([owners(), holders()]);
      assert.equal(o, 1, `after round ${round + 1}: ${o} tabs say they own the store`);
      assert.equal(h, 1, `after round ${round + 1}: ${h} holders of the store's lock`);
    }
    sampling = false;
    await sampler;

    // Stop writing; every loop ends once its call in flight is answered.
    await Promise.all(tabs.map((p) => p.evaluate(() => { window.abuseStop = true; return window.abuseLoops; })));
    for (const p of tabs) await p.close({ runBeforeUnload: false });
    // A fresh tab opens the store from OPFS (no other tab holds it) and lists what is there.
    const fresh = await openPage(browser.context, hub.url, store);
    assert.equal(await fresh.evaluate(() => window.hearth.isOwner()), true);
    const tasks = await inbox(fresh);
    const lost = [...confirmed].filter((id) => !tasks.has(id));
    const titles = [...tasks.values()];
    const duplicates = titles.length - new Set(titles).size;
    const integrity = await call(fresh, 'integrityCheck');
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    console.log(`abuse: tabs×reloads ${TABS}×${RELOADS}: ${reloads} reloads (${ownerReloads} of the owner tab), confirmed writes ${confirmed.size}, lost ${lost.length}, refused ${failed.length}, duplicates ${duplicates}, owners at once max ${stats.maxOwners} (${stats.samples} samples), lock holders max ${stats.maxHolders}, integrity ${integrity}, ${seconds} s`);

    assert.ok(confirmed.size >= reloads, `only ${confirmed.size} writes confirmed in ${reloads} reloads`);
    assert.deepEqual(lost, [], 'confirmed writes missing from the store');
    assert.deepEqual(failed, [], 'writes refused');
    assert.equal(duplicates, 0, 'a task written twice');
    assert.equal(stats.maxOwners, 1, 'more than one tab owned the store at once');
    assert.equal(stats.maxHolders, 1);
    assert.equal(integrity, 'ok');
    assert.equal((await call(fresh, 'status')).storage.kind, 'opfs');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.context.close();
    await hub.stop();
    cleanup(browser.profile, hub.data);
  }
});

test('the owner tab killed mid-write: the other tab takes over and re-sends', { timeout: 120_000 }, async () => {
  const store = 'abuse-crash';
  const N = 300;
  const hub = await startHub();
  const browser = await launch();
  const ownersConfirmed = new Set();
  const ownersRefused = [];
  let answeredFromB = 0;
  // The owner is killed as soon as it has answered some of the other tab's writes, from the binding
  // that counts them (a poll let the owner answer all of them first on a quick machine).
  let someAnswered;
  const answeredSome = new Promise((resolve) => { someAnswered = resolve; });
  try {
    await browser.context.exposeBinding('abuseConfirmed', (_source, id) => { ownersConfirmed.add(id); });
    await browser.context.exposeBinding('abuseFailed', (_source, what) => { ownersRefused.push(what); });
    await browser.context.exposeBinding('abuseAnswered', () => {
      answeredFromB++;
      if (answeredFromB === 20) someAnswered();
    });
    const a = await openPage(browser.context, hub.url, store);
    const b = await openPage(browser.context, hub.url, store);
    assert.equal(await a.evaluate(() => window.hearth.isOwner()), true);
    assert.equal(await b.evaluate(() => window.hearth.isOwner()), false);
    let bCrashed = false;
    b.on('crash', () => { bCrashed = true; });

    // The owner writes its own tasks; then the other tab sends N creates at once, all through the owner.
    await startWriting(a, 'owner', 1);
    await waitFor(() => ownersConfirmed.size >= 10, 'the owner to write some of its own');
    const session = await browser.context.newCDPSession(a);
    const fromB = b.evaluate(async (n) => {
      const results = await Promise.allSettled(Array.from({ length: n }, (_, i) =>
        window.hearth.call('createTask', `from B #${i}`, {}).then((id) => {
          // Answered by the old owner, or run here once this tab owns the store.
          const local = window.hearth.isOwner();
          window.abuseAnswered();
          return { id, local };
        })));
      return results.map((r) => (r.status === 'fulfilled' ? r.value : { error: `${r.reason.code}: ${r.reason.message}` }));
    }, N);
    await Promise.race([
      answeredSome,
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out waiting for the owner to answer some of the other tab\'s writes')), 15000)),
    ]);

    // Kill the owner's renderer (its worker dies with it): no unload, no goodbye.
    const crashed = new Promise((r) => a.once('crash', r));
    const crashSent = Date.now();
    // The command is not answered (its renderer is gone): the crash event says it worked. An answer
    // would mean the renderer lived on, and fails the test.
    session.send('Page.crash').then(
      () => { throw new Error('Page.crash was answered: the owner\'s renderer is still alive'); },
      () => 'the session ended with the renderer');
    await waitFor(() => b.evaluate(() => window.hearth.isOwner()), 'the other tab to take over');
    const takeoverMs = Date.now() - crashSent;
    await crashed;
    const results = await fromB;
    assert.equal(bCrashed, false, 'the other tab crashed with the owner (one renderer for both)');

    const errors = results.filter((r) => r.error);
    assert.deepEqual(errors, [], 'calls of the other tab refused');
    assert.deepEqual(ownersRefused, [], 'writes of the owner refused');
    const ids = results.map((r) => r.id);
    const resent = results.filter((r) => r.local).length;
    const tasks = await inbox(b);
    const lostB = ids.filter((id) => !tasks.has(id));
    const lostOwner = [...ownersConfirmed].filter((id) => !tasks.has(id));
    const titles = [...tasks.values()];
    const duplicates = titles.length - new Set(titles).size;
    const fromBTasks = titles.filter((t) => t.startsWith('from B #')).length;
    const integrity = await call(b, 'integrityCheck');
    console.log(`abuse: owner killed mid-write (CDP Page.crash of its renderer): the other tab's ${N} writes: ${N - resent} answered by the owner, ${resent} in flight re-sent and run by the new owner; the owner's own ${ownersConfirmed.size} confirmed before it died; lost ${lostB.length + lostOwner.length}, duplicates ${duplicates}, takeover ${takeoverMs} ms after Page.crash was sent, integrity ${integrity}`);

    assert.ok(resent > 0, 'no call was in flight when the owner died');
    assert.ok(N - resent > 0, 'the owner answered nothing before it died');
    assert.deepEqual(lostB, [], 'confirmed writes of the other tab missing');
    assert.deepEqual(lostOwner, [], 'confirmed writes of the killed owner missing');
    assert.equal(new Set(ids).size, N);
    assert.equal(fromBTasks, N, 'a re-sent create wrote a second task');
    assert.equal(duplicates, 0);
    assert.equal(integrity, 'ok');

    // A new tab joins the new owner and sees the same store.
    const c = await openPage(browser.context, hub.url, store);
    assert.equal(await c.evaluate(() => window.hearth.isOwner()), false);
    assert.equal((await inbox(c)).size, tasks.size);
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.context.close();
    await hub.stop();
    cleanup(browser.profile, hub.data);
  }
});

test('storage quota exhausted: the write is refused clearly, nothing is lost, writes resume', { timeout: 120_000 }, async () => {
  const store = 'abuse-quota';
  const hub = await startHub();
  const browser = await launch();
  try {
    let page = await openPage(browser.context, hub.url, store);
    assert.equal((await call(page, 'status')).storage.kind, 'opfs');
    const origin = new URL(hub.url).origin;
    const session = await browser.context.newCDPSession(page);
    const { usage } = await page.evaluate(() => navigator.storage.estimate());
    const quota = usage + 2 * 1024 * 1024;
    // (navigator.storage.estimate() keeps reporting the browser's own quota; writes get the override.)
    await session.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: quota });

    // Tasks with 20 KB notes until a write is refused.
    const notes = 'n'.repeat(20_000);
    const confirmed = [];
    let refused = null;
    for (let i = 0; i < 2_000 && !refused; i++) {
      const r = await page.evaluate(([i, notes]) => window.hearth.call('createTask', `big #${i}`, { notes }).then(
        (id) => ({ id }),
        (e) => ({ error: { name: e.name, code: e.code, message: e.message } })), [i, notes]);
      if (r.error) refused = r.error;
      else confirmed.push(r.id);
    }
    assert.ok(refused, 'no write was refused under the quota');
    const full = await page.evaluate(() => navigator.storage.estimate());
    assert.equal(refused.name, 'HearthError');
    assert.equal(refused.code, 'storage_full', JSON.stringify(refused));
    assert.match(refused.message, /storage for this site is full: this change was not made, and everything saved before is intact/);
    // Still full: the next write is refused the same way; reads work.
    const again = await page.evaluate(() => window.hearth.call('createTask', 'still full', { notes: 'n'.repeat(20_000) }).then(() => null, (e) => e.code));
    assert.equal(again, 'storage_full');
    let tasks = await inbox(page);
    const lostWhileFull = confirmed.filter((id) => !tasks.has(id));
    assert.deepEqual(lostWhileFull, [], 'confirmed writes missing while the storage is full');
    assert.equal(tasks.size, confirmed.length, 'a refused write left a task behind');
    assert.equal(await call(page, 'integrityCheck'), 'ok');

    // The quota back to the browser's own: writes work, and a reopened store has everything.
    await session.send('Storage.overrideQuotaForOrigin', { origin });
    const after = await call(page, 'createTask', 'after the quota was raised', { notes });
    await page.close();
    page = await openPage(browser.context, hub.url, store);
    tasks = await inbox(page);
    const lost = [...confirmed, after].filter((id) => !tasks.has(id));
    const integrity = await call(page, 'integrityCheck');
    console.log(`abuse: storage quota exhausted (quota ${(quota / 1024 / 1024).toFixed(1)} MB, 20 KB notes): ${confirmed.length} writes confirmed until the refusal (usage ${(full.usage / 1024 / 1024).toFixed(1)} MB), refused with ${refused.code} "${refused.message.split(':')[0]}: …", lost 0 of ${confirmed.length}, writes resume after the quota is raised: ${lost.length === 0 ? 'yes' : 'no'}, integrity ${integrity}`);
    assert.deepEqual(lost, []);
    assert.equal(tasks.size, confirmed.length + 1);
    assert.equal(integrity, 'ok');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.context.close();
    await hub.stop();
    cleanup(browser.profile, hub.data);
  }
});

test('OPFS wiped while the identity survives: the store comes back from the hub', { timeout: 120_000 }, async () => {
  const store = 'abuse-wipe';
  const SYNCED = 40;
  const UNSYNCED = 7;
  let hub = await startHub();
  const browser = await launch();
  const syncUntilClean = (page) => waitFor(async () => {
    const r = await call(page, 'syncNow');
    return !r.problem && r.unsent === 0 ? r : null;
  }, 'a clean sync round');
  try {
    const a = await openPage(browser.context, hub.url, store);
    const b = await openPage(browser.context, hub.url, store);
    await call(a, 'pair', hub.url, hub.code, 'abused browser');
    const synced = [];
    for (let i = 0; i < SYNCED; i++) synced.push(await call(i % 2 ? b : a, 'createTask', `synced #${i}`, {}));
    await syncUntilClean(a);
    const before = await call(a, 'status');
    assert.equal(before.unsent, 0);

    // A page of the origin that never opens the store, to wipe OPFS from later.
    const blank = await browser.context.newPage();
    await blank.goto(`${hub.url}/blank.html`);

    // The hub goes away; these are confirmed here but never reach it.
    const port = hub.port;
    await hub.stop();
    const unsynced = [];
    for (let i = 0; i < UNSYNCED; i++) unsynced.push(await call(b, 'createTask', `not yet synced #${i}`, {}));
    assert.equal((await call(a, 'status')).unsent, UNSYNCED);

    // Every tab closes (the other tab first: with the server down, it could not start the store's
    // worker to take over; see the next test); the browser deletes the origin's OPFS (every entry),
    // localStorage stays.
    await b.close({ runBeforeUnload: false });
    await a.close({ runBeforeUnload: false });
    const wiped = await waitFor(() => blank.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const names = [];
      try {
        for await (const name of root.keys()) names.push(name);
        for (const name of names) await root.removeEntry(name, { recursive: true });
      } catch (e) {
        // The closed tabs' worker may hold its files for a moment.
        if (e.name === 'NoModificationAllowedError') return null;
        throw e;
      }
      const left = [];
      for await (const name of root.keys()) left.push(name);
      return { names, left };
    }), 'OPFS to be wiped');
    assert.ok(wiped.names.length > 0, 'OPFS was already empty');
    assert.deepEqual(wiped.left, []);
    const identity = await blank.evaluate((key) => JSON.parse(localStorage.getItem(key)), `hearth:${store}:identity`);
    assert.equal(identity.device, before.device, 'the identity in localStorage did not survive');
    await blank.close();

    hub = await startHub({ data: hub.data, port });
    const again = await openPage(browser.context, hub.url, store);
    const status = await call(again, 'status');
    assert.equal(status.restored, true);
    assert.equal(status.device, before.device, 'the device id changed');
    const warnings = await again.evaluate(() => window.hearth.warnings);
    assert.ok(warnings.some((w) => /removed this store; it is being downloaded again from the hub/.test(w)), JSON.stringify(warnings));
    await syncUntilClean(again);
    const tasks = await inbox(again);
    const back = synced.filter((id) => tasks.has(id)).length;
    const lostWithWipe = unsynced.filter((id) => !tasks.has(id)).length;
    // A write after the restore goes to the hub like any other.
    const later = await call(again, 'createTask', 'after the restore', {});
    await syncUntilClean(again);
    const integrity = await call(again, 'integrityCheck');
    console.log(`abuse: OPFS wiped, identity kept: ${wiped.names.length} OPFS entries removed, the store said it was removed and downloaded again, device id unchanged, synced tasks back ${back} of ${SYNCED}, lost with the wipe: ${lostWithWipe} (not yet synced), a new write syncs, integrity ${integrity}`);
    assert.equal(back, SYNCED, 'synced tasks missing after the re-download');
    assert.equal(lostWithWipe, UNSYNCED, 'writes never synced came back: from where?');
    assert.ok((await inbox(again)).has(later));
    assert.equal(integrity, 'ok');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.context.close();
    await hub.stop();
    cleanup(browser.profile, hub.data);
  }
});

test('a takeover while the server is unreachable fails its calls with a sentence, not hangs', { timeout: 60_000 }, async () => {
  // The test page has no service worker (the app's caches every file of the store), so with the server
  // down the tab that takes over cannot load the store's worker.
  const store = 'abuse-unreachable';
  let hub = await startHub();
  const browser = await launch();
  try {
    const a = await openPage(browser.context, hub.url, store);
    const b = await openPage(browser.context, hub.url, store);
    const kept = await call(a, 'createTask', 'written before', {});
    const port = hub.port;
    await hub.stop();
    await a.close({ runBeforeUnload: false });
    const started = Date.now();
    const refused = await b.evaluate(() => Promise.race([
      window.hearth.call('tasks', null).then(() => ({ answered: true }), (e) => ({ code: e.code, message: e.message })),
      new Promise((r) => setTimeout(() => r({ hung: true }), 20_000)),
    ]));
    const ms = Date.now() - started;
    assert.equal(refused.hung, undefined, 'the call hung: the tab that took over waits forever for a worker that never loaded');
    assert.equal(refused.code, 'internal', JSON.stringify(refused));
    assert.match(refused.message, /The store could not start: its worker did not load/);
    assert.equal(await b.evaluate(() => window.hearth.isOwner()), false);
    // The lock is free again: once the server is back, a new tab opens the store, and the failed tab
    // works again after a reload.
    const holders = await b.evaluate(async (name) => (await navigator.locks.query()).held.filter((l) => l.name === name).length, `hearth:${store}`);
    assert.equal(holders, 0, 'the failed tab still holds the lock');
    hub = await startHub({ data: hub.data, port });
    const c = await openPage(browser.context, hub.url, store);
    assert.equal(await c.evaluate(() => window.hearth.isOwner()), true);
    assert.ok((await inbox(c)).has(kept));
    await b.reload();
    await b.evaluate(() => window.hearthReady);
    assert.ok((await inbox(b)).has(kept));
    console.log(`abuse: takeover with the server unreachable (no service worker): the store's worker did not load; the waiting call refused after ${ms} ms with ${refused.code} "${refused.message.split(':')[0]}: …", the lock let go, the store opens again once the server is back, nothing lost`);
    // The failure itself is logged; nothing else is.
    const unexpected = browser.problems.filter((p) => !/console error: hearth worker failed/.test(p));
    assert.deepEqual(unexpected, []);
    assert.equal(browser.problems.length, 1, JSON.stringify(browser.problems));
  } finally {
    await browser.context.close();
    await hub.stop();
    cleanup(browser.profile, hub.data);
  }
});
