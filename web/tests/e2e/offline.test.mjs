// Offline: once the service worker controls the page, the app reloads with no network from its cache,
// opens its data (OPFS), says it is offline, keeps a new task as unsent, and sends it when the network
// returns; a second browser and a CLI replica then both have it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useHubAndBrowser, cliReplica, newContext, assertClean, cleanup, openPaired, addTask, taskRow, pill,
  expectText, expectSynced, waitForController, appReady, sleep, navButton, expectNavCount,
} from './helpers.mjs';

let hub;
let browser;
useHubAndBrowser((h, b) => { hub = h; browser = b; });

test('the app opens offline with its data and syncs what was written offline', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const { context } = watched;
  const page = await openPaired(context, hub, 'Offline browser');
  await addTask(page, 'Pack the tent');
  // Synced for real: the hub has the task (the pill can still say "Synced" from before the add for a
  // moment, and going offline then would leave the task unsent).
  const early = cliReplica(hub, 'offline-early');
  await early.syncUntil(() => early.ls(null).some((t) => t.title === 'Pack the tent'), '“Pack the tent”');
  cleanup(early.home);
  await expectSynced(page);
  await waitForController(page);

  await context.setOffline(true);
  const errorsBefore = watched.problems.length;
  await page.reload();
  await appReady(page).waitFor({ timeout: 30000 });
  await taskRow(page, 'Pack the tent').waitFor();
  await expectNavCount(page, 'Inbox', 1);
  await expectText(pill(page), 'Offline');
  const banner = page.getByRole('status').filter({ hasText: "You're offline." });
  await banner.waitFor();
  assert.match(await banner.innerText(), /^You're offline\./);

  await addTask(page, 'Written offline');
  await expectText(pill(page), 'Offline · 1 unsent');
  await expectNavCount(page, 'Inbox', 2);
  // It really stayed on this device: the hub does not have it (a CLI replica syncs without it).
  const replica = cliReplica(hub);
  await sleep(1000);
  assert.deepEqual(replica.ls(null).map((t) => t.title), ['Pack the tent']);
  await expectText(pill(page), 'Offline · 1 unsent');

  // Failed requests while offline (the store's sync attempts) are expected; nothing else is.
  const offlineErrors = watched.problems.splice(errorsBefore);
  const unexpected = offlineErrors.filter((p) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(p));
  if (offlineErrors.length) console.log(`# offline: ${offlineErrors.length} expected network error(s) while offline:\n# ${offlineErrors.join('\n# ')}`);
  watched.problems.push(...unexpected);

  await context.setOffline(false);
  // The store syncs again on its own once the network is back; "Sync now" is what a person would press
  // if that took long.
  if (!(await expectSynced(page, 8000).then(() => true, () => false))) {
    console.log(`# offline: still "${(await pill(page).textContent()).trim()}" 8 s after the network returned: pressing Sync now`);
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expectSynced(page, 20000);
  }
  assert.equal(await page.getByRole('status').filter({ hasText: "You're offline." }).count(), 0);

  // A second browser (fresh context, its own pairing) has the offline task.
  const second = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const other = await openPaired(second.context, hub, 'Second browser');
  await taskRow(other, 'Written offline').waitFor();
  await taskRow(other, 'Pack the tent').waitFor();
  await expectNavCount(other, 'Inbox', 2);
  assert.equal(await navButton(other, 'Inbox').getAttribute('aria-current'), 'page');

  // And so does the CLI replica.
  try {
    await replica.syncUntil(() => replica.ls(null).length === 2, 'the offline task');
    assert.deepEqual(replica.ls(null).map((t) => t.title).sort(), ['Pack the tent', 'Written offline']);
  } finally {
    cleanup(replica.home);
  }
  await second.context.close();
  await context.close();
  assertClean('offline', watched);
  assertClean('offline (second browser)', second);
});
