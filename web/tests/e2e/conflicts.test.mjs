// Concurrent edits, kept and restorable: a CLI device and the app rename the same task without seeing
// each other's rename. The later rename (the app's) shows, and the other one is not lost: the task row
// carries a "Conflict" marker, its editor says "Also changed on <device>: title “…”" with Restore and
// Dismiss, and the sync panel counts it. Restore writes the CLI's title back as an ordinary change,
// which syncs: both devices then show it and list no conflict. Screenshots at phone and desktop size
// land in artifacts/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  startHub, launchBrowser, cleanup, cliReplica, newContext, assertClean, openPaired, addTask, openEditor,
  taskRow, expectText, expectSynced, expectCount, until,
} from './helpers.mjs';

const OUT = fileURLToPath(new URL('../../../artifacts/screenshots/', import.meta.url));
const PHONE = { viewport: { width: 360, height: 640 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, reducedMotion: 'reduce' };
const DESKTOP = { viewport: { width: 1280, height: 800 } };

let hub;
let browser;
before(async () => {
  mkdirSync(OUT, { recursive: true });
  hub = await startHub();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
  cleanup(hub?.data);
});

/** A task renamed concurrently by the app and by a CLI device named `cliName`; returns the replica. */
async function makeConflict(page, title, cliTitle, appTitle, cliName) {
  const replica = cliReplica(hub, cliName);
  await addTask(page, title);
  await expectSynced(page);
  const task = await replica.syncUntil(() => replica.ls(null).find((t) => t.title === title), `“${title}”`);
  // The CLI renames first, without syncing; then the app renames (later, so its title wins).
  replica.run('task', 'edit', task.id, '--title', cliTitle);
  const editor = await openEditor(page, title);
  const input = editor.getByRole('textbox', { name: 'Title' });
  await input.fill(appTitle);
  await input.press('Enter');
  await taskRow(page, appTitle).waitFor();
  await expectSynced(page);
  // The CLI pushes its rename and, once the app's has reached the hub, pulls it.
  await replica.syncUntil(() => replica.ls(null).some((t) => t.id === task.id && t.title === appTitle), 'the app’s title');
  return { replica, id: task.id };
}

for (const [label, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`a rename made on two devices at once is kept, shown and restorable (${label})`, async () => {
    const watched = await newContext(browser, options);
    const page = await openPaired(watched.context, hub, `App ${label}`);
    const cliName = `Laptop ${label}`;
    const { replica, id } = await makeConflict(page, `Fix tap ${label}`, `Fix the tap ${label}`, `Fix kitchen tap ${label}`, cliName);
    try {
      // The app pulls the CLI's rename: its own (later) title stays, and the row is marked.
      const row = taskRow(page, `Fix kitchen tap ${label}`);
      await row.locator('.chip.conflict', { hasText: 'Conflict' }).waitFor({ timeout: 20000 });
      // The editor names the device (learned from the hub's network view) and the other title.
      const editor = await openEditor(page, `Fix kitchen tap ${label}`);
      const line = editor.getByRole('list', { name: 'Also changed on another device' }).locator('li');
      await expectCount(line, 1);
      await expectText(line.locator('span').first(), `Also changed on ${cliName}: title “Fix the tap ${label}”`, 20000);
      // The CLI lists the same conflict, with both devices' names (its sync asked the hub for them).
      const onCli = JSON.parse(replica.run('conflicts', '--json')).filter((c) => c.node === id);
      assert.equal(onCli.length, 1, JSON.stringify(onCli));
      assert.equal(onCli[0].kept, `Fix kitchen tap ${label}`);
      assert.equal(onCli[0].value, `Fix the tap ${label}`);
      assert.equal(onCli[0].kept_device_name, `App ${label}`);
      assert.equal(onCli[0].device_name, cliName);
      await page.screenshot({ path: `${OUT}/conflict-${label}.png` });

      // The sync panel counts it.
      await page.locator('#sync-pill').click();
      const panel = page.getByRole('dialog', { name: 'Sync details' });
      await panel.waitFor();
      await expectText(panel.locator('[data-fact=conflicts]'), /^1: changed on two devices at once/);
      await panel.getByRole('list', { name: 'Other devices' }).locator('li', { hasText: cliName }).waitFor();
      await page.screenshot({ path: `${OUT}/sync-panel-conflict-${label}.png` });
      await panel.getByRole('button', { name: 'Close sync details' }).click();

      // Restore: the CLI's title comes back, the marker goes, and after a sync the CLI agrees.
      const reopened = await openEditor(page, `Fix kitchen tap ${label}`);
      await reopened.getByRole('button', { name: 'Restore' }).click();
      const restored = taskRow(page, `Fix the tap ${label}`);
      await restored.waitFor();
      await expectCount(restored.locator('.chip.conflict'), 0);
      await expectSynced(page);
      await replica.syncUntil(() => replica.ls(null).some((t) => t.id === id && t.title === `Fix the tap ${label}`),
        'the restored title');
      assert.deepEqual(JSON.parse(replica.run('conflicts', '--json')).filter((c) => c.node === id), []);
      await until(async () => (await page.locator('.chip.conflict').count()) === 0, 'no conflict marker left');
      assertClean(`conflicts ${label}`, watched);
    } finally {
      await watched.context.close();
      cleanup(replica.home);
    }
  });
}
