// The app of the previous release (its hub, its bundle, its store in OPFS), offline with unsent changes
// while the operator upgrades the hub to this release and migrates the space (priority-levels). Back
// online, the old app cannot write to the new epoch; its own update check finds this release's build,
// "Reload to update" switches to it through the service worker, and this release's store opens the old
// database, carries the unsent changes over through the migration's lens and syncs. The change no lens
// can translate is set aside: the pill counts it, the sync panel lists it with the reason, Retry keeps it
// (the lens still cannot translate it) and Discard removes it. A CLI device on the new epoch gets the
// rest. Needs HEARTH_PREVIOUS_BIN and HEARTH_PREVIOUS_DIST (`cargo xtask test` builds both).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub, migrateStopped, launchBrowser, cleanup, cliReplica, newContext, assertClean, openPaired,
  addTask, openEditor, taskRow, pill, expectText, expectCount, expectSynced, waitForController, swVersion,
  until, screenshot,
} from './helpers.mjs';

const PREVIOUS_BIN = process.env.HEARTH_PREVIOUS_BIN;
const PREVIOUS_DIST = process.env.HEARTH_PREVIOUS_DIST;
if (!PREVIOUS_BIN || !PREVIOUS_DIST) {
  throw new Error('set HEARTH_PREVIOUS_BIN and HEARTH_PREVIOUS_DIST (`cargo xtask previous-release` prints them)');
}

let oldHub;
let newHub;
let browser;
before(async () => {
  oldHub = await startHub({ bin: PREVIOUS_BIN, web: PREVIOUS_DIST });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await oldHub?.stop();
  await newHub?.stop();
  cleanup(oldHub?.data);
});

test('the previous release\'s app reloads into this one across a migration and shows what it could not carry over', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const { context } = watched;
  const page = await openPaired(context, oldHub, 'Old app');
  await waitForController(page);
  const oldVersion = (await swVersion(page)).version;
  await addTask(page, 'Paint the fence', { priority: 2 });
  await addTask(page, 'Call the plumber', { priority: 3 });
  await expectSynced(page);

  // Offline, two changes wait on the device: a priority raised in the editor, and a priority outside
  // 1–4 written through the old store's own API (its `set` takes any integer), which the migration's
  // lens cannot translate.
  await context.setOffline(true);
  const editor = await openEditor(page, 'Paint the fence');
  await editor.getByRole('combobox', { name: 'Priority' }).selectOption('1');
  await editor.getByRole('button', { name: 'Close' }).click();
  await page.evaluate(async () => {
    const { connect } = await import('/store/hearth.js');
    const store = await connect({ name: 'default' });
    const [hit] = await store.call('search', 'Call the plumber');
    await store.call('set', hit.id, 'priority', 7);
  });
  await expectText(pill(page), /2 unsent/);

  // The operator upgrades the hub in place: stops it, migrates the space with this release's `hearth`
  // and serves this release's app from the same data and address.
  const migrated = await migrateStopped(oldHub, 'priority-levels');
  assert.equal(migrated.report.epoch, 2, JSON.stringify(migrated.report));
  newHub = migrated.hub;

  // Back online, the old app cannot sync with the new epoch; it keeps its changes.
  const problemsBefore = watched.problems.length;
  await context.setOffline(false);
  await expectText(pill(page), /unsent/);
  // The person comes back to the window: the old app looks for a new build and offers it.
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  const toast = page.locator('.toast').filter({ hasText: 'A new version of Hearth is ready.' });
  await toast.waitFor({ timeout: 30000 });
  const reloaded = page.waitForEvent('load', { timeout: 30000 });
  await toast.getByRole('button', { name: 'Reload to update' }).click();
  await reloaded;
  await page.locator('div.app[data-state=ready]').waitFor({ timeout: 30000 });
  await waitForController(page);
  await until(async () => (await swVersion(page)).version !== oldVersion, 'this release\'s service worker');

  // This release's store carried the priority change over; the other change is set aside and counted.
  await expectText(pill(page), 'Synced · 1 not synced', 30000);
  await taskRow(page, 'Paint the fence').locator('.task-meta .chip', { hasText: 'P1' }).waitFor();
  // Requests the old app made to the new epoch were refused (409), and those made offline failed.
  const during = watched.problems.splice(problemsBefore);
  watched.problems.push(...during.filter((p) => !/ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_REFUSED|Failed to fetch|409|426/.test(p)));

  // The sync panel lists it with the lens's reason.
  await page.locator('#sync-pill').click();
  const panel = page.getByRole('dialog', { name: 'Sync details' });
  const list = panel.getByRole('list', { name: 'Changes not synced' });
  const item = list.getByRole('listitem');
  await expectCount(item, 1);
  await expectText(item.locator('.q-what'), /priority of “Call the plumber”/);
  await expectText(item.locator('.q-reason'), /^Not carried over: .*priority/);
  await screenshot(page, 'desktop-quarantine.png');

  // Retry: the lens still cannot translate it, so it stays, and the panel says why.
  await item.getByRole('button', { name: 'Retry' }).click();
  await expectText(panel.locator('.panel-note'), /^Still set aside: this change cannot be made since the space's data changed \(priority-levels\)/);
  await expectCount(item, 1);
  // Discard: gone from the list and the pill.
  await item.getByRole('button', { name: 'Discard' }).click();
  await expectCount(item, 0);
  await panel.getByText('Nothing is set aside: every change of this device syncs.').waitFor();
  await expectText(pill(page), 'Synced');

  // A CLI device on the new epoch has the carried-over change as a level, and never the discarded one.
  const replica = cliReplica(newHub, 'new-cli');
  const exported = replica.export();
  const byTitle = (title) => exported.nodes.find((n) => n.fields.title === title);
  assert.equal(byTitle('Paint the fence').fields.level, 'urgent', JSON.stringify(byTitle('Paint the fence')));
  assert.equal(byTitle('Call the plumber').fields.level, 'normal', JSON.stringify(byTitle('Call the plumber')));
  assert.equal(byTitle('Call the plumber').fields.priority, undefined);
  assertClean('previous-release', watched);
  await context.close();
  cleanup(replica.home);
});
