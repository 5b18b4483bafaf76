// A whole-space migration while the app is offline with an unsent change: the operator stops the hub,
// runs `hearth migrate priority-levels` and starts it again; when the network returns, the app's store
// carries its unsent change over through the migration's lens (a priority becomes a named level),
// restores from the new epoch's snapshot and syncs. The app keeps showing the task with the priority the
// person chose, and a CLI device on the new epoch has the change as a level.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  useHubAndBrowser, migrateStopped, cleanup, cliReplica, newContext, assertClean, openPaired, addTask,
  openEditor, taskRow, pill, expectText, expectSynced,
} from './helpers.mjs';

let hub;
let browser;
let restarted;
useHubAndBrowser((h, b) => { hub = h; browser = b; });
// The hub started again after the migration (the first one is stopped by then).
after(() => restarted?.stop());

test('an unsent change made before a whole-space migration is carried over when the app comes back', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const { context } = watched;
  const page = await openPaired(context, hub, 'Epoch browser');
  const replica = cliReplica(hub, 'epoch-cli');
  await addTask(page, 'Paint the fence', { priority: 2 });
  await expectSynced(page);
  await replica.syncUntil(() => replica.ls(null).some((t) => t.title === 'Paint the fence'), '“Paint the fence”');

  // Offline, the person raises the priority: the change waits on the device.
  await context.setOffline(true);
  const editor = await openEditor(page, 'Paint the fence');
  await editor.getByRole('combobox', { name: 'Priority' }).selectOption('1');
  await expectText(pill(page), /1 unsent/);
  await editor.getByRole('button', { name: 'Close' }).click();

  // The operator migrates the space with the hub stopped, then starts it again on the same address.
  const migrated = await migrateStopped(hub, 'priority-levels');
  assert.equal(migrated.report.epoch, 2, JSON.stringify(migrated.report));
  restarted = migrated.hub;

  // Back online: the store carries the change over and syncs; nothing is set aside.
  const errorsBefore = watched.problems.length;
  await context.setOffline(false);
  if (!(await expectSynced(page, 10000).then(() => true, () => false))) {
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expectSynced(page, 20000);
  }
  await expectText(pill(page), 'Synced');
  await taskRow(page, 'Paint the fence').locator('.task-meta .chip', { hasText: 'P1' }).waitFor();
  // Requests refused while the hub was down or offline are expected; nothing else is.
  const during = watched.problems.splice(errorsBefore);
  watched.problems.push(...during.filter((p) => !/ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_REFUSED|Failed to fetch|409/.test(p)));

  // The CLI device moves to the new epoch too and has the change, as a level.
  const exported = await replica.syncUntil(() => {
    const e = replica.export();
    return JSON.stringify(e).includes('"level":"urgent"') && e;
  }, 'the level written by the app');
  const task = exported.nodes.find((n) => n.fields.title === 'Paint the fence');
  assert.equal(task.fields.level, 'urgent');
  assert.equal(task.fields.priority, undefined, JSON.stringify(task));
  assert.equal(replica.ls(null).find((t) => t.title === 'Paint the fence').priority, 1);
  assertClean('epochs', watched);
  await context.close();
  cleanup(replica.home);
});
