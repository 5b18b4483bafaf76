// Compaction: a paired app that is offline while the hub compacts its log past what the app acked comes
// back behind the hub's horizon. Its next round restores from the hub's snapshot, keeps and pushes the
// tasks written offline, shows everyone else's tasks, and tells the person once (a toast).
//
// The hub runs with a short `--peer-ttl` (an offline app stops holding the horizon back after 2 s) and
// without periodic compaction (`--compact-every 0s --compact-rows 0`): the test compacts with
// `hearth compact` while the hub serves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub, launchBrowser, cleanup, cli, cliReplica, newContext, assertClean, openPaired, addTask, taskRow,
  pill, expectText, expectSynced, expectNavCount, appReady, sleep, until,
} from './helpers.mjs';

const TTL = '2s';
const TTL_MS = 2000;

let hub;
let browser;
before(async () => {
  hub = await startHub({ args: ['--peer-ttl', TTL, '--compact-every', '0s', '--compact-rows', '0'] });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
  cleanup(hub?.data);
});

/** A device of its own that only reads the network view (`GET …/peers`). Paired through the protocol,
 * so that it never syncs: it holds the horizon back only while seen within the TTL, and the test leaves
 * it alone for longer than that before compacting. */
async function observer() {
  const { code } = JSON.parse(cli(['invite', '--data', hub.data, '--json']));
  const res = await fetch(`${hub.url}/v1/pair`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code, name: 'Test observer', app_version: '0.1.0', schema_version: 1 }),
  });
  const paired = await res.text();
  assert.equal(res.status, 200, `pairing the observer: ${paired}`);
  const { space, token, device } = JSON.parse(paired);
  const get = async (path) => {
    const r = await fetch(`${hub.url}/v1/spaces/${space}/${path}`, { headers: { Authorization: `Bearer ${token}` } });
    return { status: r.status, body: await r.json() };
  };
  return {
    device,
    get,
    peers: async () => {
      const { status, body } = await get('peers');
      assert.equal(status, 200, `peers: ${JSON.stringify(body)}`);
      return body;
    },
  };
}

const recoveryToast = (page) => page.locator('.toasts [role=status][aria-live=polite] .toast')
  .filter({ hasText: 'restored from snapshot' });

test('a paired app offline across a compaction comes back with its unsent tasks pushed and the others\' tasks shown', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const { context } = watched;
  const page = await openPaired(context, hub, 'Compaction browser');
  const appDevice = await page.evaluate(() => JSON.parse(localStorage.getItem('hearth:default:identity')).device);
  assert.match(appDevice, /^[0-9a-f]{16}$/);

  await addTask(page, 'Before the trip');
  await expectSynced(page);
  // A second tab of the same app (it forwards to the first tab's store): the toast is for the app, so
  // it shows in one tab only.
  const tab2 = await context.newPage();
  await tab2.goto(hub.url);
  await appReady(tab2).waitFor({ timeout: 30000 });
  await taskRow(tab2, 'Before the trip').waitFor();
  const watcher = await observer();
  // What the app acked before it went away: everything the hub had.
  const start = await until(async () => {
    const p = await watcher.peers();
    const me = p.peers.find((x) => x.device === appDevice);
    return me && p.head > 0 && me.acked === p.head && p;
  }, 'the app to ack the head');
  const appAcked = start.peers.find((x) => x.device === appDevice).acked;
  assert.equal(start.compacted, 0, 'nothing compacted yet');

  // Offline: three tasks stay on the device.
  await context.setOffline(true);
  const errorsBefore = watched.problems.length;
  const offlineTitles = ['Offline one', 'Offline two', 'Offline three'];
  for (const t of offlineTitles) await addTask(page, t);
  await expectText(pill(page), 'Offline · 3 unsent');

  // Meanwhile a CLI device writes four tasks and syncs them.
  const replica = cliReplica(hub, 'Compaction CLI');
  try {
    const cliTitles = ['CLI one', 'CLI two', 'CLI three', 'CLI four'];
    for (const t of cliTitles) replica.run('task', 'add', t);
    replica.sync();
    assert.deepEqual(replica.ls(null).map((t) => t.title).sort(), ['Before the trip', ...cliTitles].sort());

    // Past the TTL the app (and the observer) no longer hold the horizon back; the CLI syncs again so it
    // is active and has acked the head, and the hub writes its network view through to hub.db (every
    // second), where `hearth compact` reads it.
    await sleep(TTL_MS + 700);
    replica.sync();
    await sleep(1300);
    const compacted = JSON.parse(cli(['compact', '--data', hub.data, '--peer-ttl', TTL, '--json']));
    console.log(`# compaction: ${JSON.stringify(compacted)}; the app had acked ${appAcked}`);
    assert.equal(compacted.space, 'default');
    assert.ok(compacted.horizon > appAcked, `the horizon (${compacted.horizon}) is past what the app acked (${appAcked})`);
    assert.ok(compacted.log_rows_after < compacted.log_rows_before, 'compaction deleted log rows');
    assert.ok(compacted.snapshot_seq >= compacted.horizon, 'the snapshot covers the horizon');

    // The hub now counts the app as behind its horizon, and a pull from the app's cursor is refused.
    const view = await watcher.peers();
    assert.equal(view.compacted, compacted.horizon);
    assert.equal(view.snapshot_seq, compacted.snapshot_seq);
    assert.equal(view.peers.find((x) => x.device === appDevice).state, 'behind_horizon');
    const refused = await watcher.get(`pull?after=${appAcked}`);
    assert.equal(refused.status, 410);
    assert.equal(refused.body.error, 'behind_horizon');
    assert.equal(refused.body.snapshot_seq, compacted.snapshot_seq);
    // The app still has not sent anything.
    await expectText(pill(page), 'Offline · 3 unsent');

    // Failed requests while offline (the store's sync attempts, the live stream) are expected.
    const offlineErrors = watched.problems.splice(errorsBefore);
    const unexpected = offlineErrors.filter((p) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(p));
    if (offlineErrors.length) console.log(`# compaction: ${offlineErrors.length} expected network error(s) while offline`);
    watched.problems.push(...unexpected);

    // Back online: the store restores from the snapshot, pushes the offline tasks and pulls the rest.
    await context.setOffline(false);
    if (!(await expectSynced(page, 8000).then(() => true, () => false))) {
      console.log(`# compaction: still "${(await pill(page).textContent()).trim()}" 8 s after the network returned: pressing Sync now`);
      await page.getByRole('button', { name: 'Sync now' }).click();
      await expectSynced(page, 20000);
    }
    const shown = await until(async () => {
      const counts = [await recoveryToast(page).count(), await recoveryToast(tab2).count()];
      return counts.some((n) => n > 0) && counts;
    }, 'the recovery toast', 10000);
    await sleep(1500);
    const counts = [await recoveryToast(page).count(), await recoveryToast(tab2).count()];
    assert.equal(counts[0] + counts[1], 1, `the recovery toast shows in one tab, once (tabs: ${counts}; first seen ${shown})`);
    const told = counts[0] ? page : tab2;
    const toast = recoveryToast(told);
    const said = (await toast.locator('span').first().textContent()).trim();
    assert.equal(
      said,
      `Behind the hub's horizon: restored from snapshot at seq ${compacted.snapshot_seq}, 3 unsent changes kept and pushed`,
    );
    // An ordinary toast, not an error.
    assert.equal(await told.locator('.toasts [role=alert] .toast').count(), 0);

    // The app shows the CLI's tasks beside its own.
    for (const t of cliTitles) await taskRow(page, t).waitFor({ timeout: 10000 });
    for (const t of ['Before the trip', ...offlineTitles]) await taskRow(page, t).waitFor();
    await expectNavCount(page, 'Inbox', 8);
    await taskRow(tab2, 'CLI four').waitFor();
    await expectNavCount(tab2, 'Inbox', 8);

    // The hub no longer counts the app as behind: it acked up to the head, past the snapshot (its state
    // is active or, once the short TTL has passed without a round, inactive).
    await until(async () => {
      const p = await watcher.peers();
      const me = p.peers.find((x) => x.device === appDevice);
      return me.state !== 'behind_horizon' && me.acked === p.head && me.acked > compacted.snapshot_seq;
    }, 'the app to ack the head again');

    // The CLI has each offline task exactly once.
    const all = await replica.syncUntil(() => {
      const titles = replica.ls(null, { all: true }).map((t) => t.title);
      return offlineTitles.every((t) => titles.includes(t)) && titles;
    }, 'the offline tasks');
    for (const t of offlineTitles) assert.equal(all.filter((x) => x === t).length, 1, `${t} once`);
    assert.deepEqual([...all].sort(), ['Before the trip', ...cliTitles, ...offlineTitles].sort());

    // Told once: not again after another round, nor after reloads (the store still reports the
    // recovery in its status, which a tab reads when it starts).
    await toast.getByRole('button', { name: 'Dismiss' }).click();
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expectSynced(page);
    await sleep(1000);
    for (const p of [page, tab2]) assert.equal(await recoveryToast(p).count(), 0, 'the recovery toast came back after another round');
    for (const p of [page, tab2]) {
      await p.reload();
      await appReady(p).waitFor({ timeout: 30000 });
      await expectSynced(p);
      await taskRow(p, 'CLI four').waitFor();
    }
    await sleep(1000);
    for (const p of [page, tab2]) assert.equal(await recoveryToast(p).count(), 0, 'the recovery toast came back after a reload');
  } finally {
    cleanup(replica.home);
  }
  await context.close();
  assertClean('compaction', watched);
});
