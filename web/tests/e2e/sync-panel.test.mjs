// The sync panel: a change the hub always refuses (a task's notes over the hub's payload limit) is set
// aside by the app's store while everything else syncs; the person is told once (an ordinary toast),
// and the sync panel (opened from the status pill) lists it with the hub's reason, shows this device's
// state and the other devices of the space (a CLI device, by name, from the hub's network view).
// Discarding it empties the list; the other device never gets the long notes.
//
// The hub runs with `--max-payload-bytes 400`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub, launchBrowser, cleanup, cli, tempDir, newContext, assertClean, openPaired, addTask, openEditor,
  taskRow, pill, expectText, expectSynced, expectCount, until,
} from './helpers.mjs';

const LIMIT = 400;

let hub;
let browser;
before(async () => {
  hub = await startHub({ args: ['--max-payload-bytes', String(LIMIT)] });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
  cleanup(hub?.data);
});

const setAsideToast = (page) => page.locator('.toasts [role=status][aria-live=polite] .toast')
  .filter({ hasText: 'could not be synced' });

test('a change over the hub\'s payload limit is set aside, told once, listed in the sync panel and discarded', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const { context } = watched;
  const page = await openPaired(context, hub, 'Panel browser');

  // A CLI device of the same space, synced once (so the hub's network view has it).
  const home = tempDir('cli');
  try {
    const { code } = JSON.parse(cli(['invite', '--data', hub.data, '--json']));
    cli(['init', '--home', home, '--hub', hub.url, '--code', code, '--name', 'Panel CLI']);
    cli(['sync', '--home', home]);
    const cliTasks = () => {
      cli(['sync', '--home', home]);
      return JSON.parse(cli(['ls', '--home', home, '--all', '--json']));
    };

    // A normal task, and one whose notes are longer than the hub accepts in one op.
    await addTask(page, 'Short and sweet');
    await expectSynced(page);
    await addTask(page, 'Long story');
    await expectSynced(page);
    const notes = `A very long note. ${'All work and no play makes a dull note. '.repeat(15)}`;
    assert.ok(new TextEncoder().encode(notes).length > LIMIT);
    const editor = await openEditor(page, 'Long story');
    await editor.getByRole('textbox', { name: 'Notes' }).fill(notes);
    await editor.getByRole('button', { name: 'Close' }).click();

    // Told once, as an ordinary (not an error) toast naming the hub's reason.
    const toast = setAsideToast(page);
    await toast.waitFor({ timeout: 20000 });
    const said = (await toast.locator('span').first().textContent()).trim();
    assert.match(said, /^1 change could not be synced: .*400.*\. See Sync details\.$/);
    assert.equal(await page.locator('.toasts [role=alert] .toast').count(), 0, 'not an error toast');
    await toast.getByRole('button', { name: 'Sync details' }).waitFor();
    await toast.getByRole('button', { name: 'Dismiss' }).click();
    await expectCount(setAsideToast(page), 0);
    // Nothing is left unsent: the rest synced, the refused change is set aside (the pill says so).
    await expectText(pill(page), 'Synced · 1 not synced');

    // The sync panel, from the pill: a labelled modal dialog.
    const pillButton = page.locator('#sync-pill');
    assert.equal(await pillButton.getAttribute('aria-haspopup'), 'dialog');
    await pillButton.click();
    const panel = page.getByRole('dialog', { name: 'Sync details' });
    await panel.waitFor();
    assert.equal(await pillButton.getAttribute('aria-expanded'), 'true');

    // This device.
    const status = await page.evaluate(() => JSON.parse(localStorage.getItem('hearth:default:identity')));
    const facts = panel.locator('dl.facts');
    await expectText(facts.locator('[data-fact=unsent]'), '0');
    assert.match(await facts.textContent(), new RegExp(`Panel browser`));
    assert.match(await facts.textContent(), new RegExp(status.device));
    assert.match(await facts.textContent(), new RegExp(hub.url.replace(/[.]/g, '\\.')));
    await expectText(facts.locator('[data-fact=last-sync]'), /just now|min ago/);

    // The set-aside change, with the hub's reason.
    const aside = panel.getByRole('list', { name: 'Changes not synced' }).locator('li');
    await expectCount(aside, 1);
    const item = (await aside.textContent()).replace(/\s+/g, ' ');
    assert.match(item, /node\.set · notes of “Long story”/);
    assert.match(item, /The hub says: .*400/);
    assert.match(await panel.textContent(), /its effect stays on this device/);

    // The other devices of the space, from the hub.
    const peers = panel.getByRole('list', { name: 'Other devices' }).locator('li');
    await expectCount(peers, 1);
    const peer = (await peers.textContent()).replace(/\s+/g, ' ');
    assert.match(peer, /Panel CLI/);
    assert.match(peer, /Active/);
    assert.match(peer, /Last seen (just now|\d+ min ago)/);
    assert.match(peer, /Hearth \d+\.\d+\.\d+/);
    assert.match(peer, /synced \d+ of \d+/);
    assert.doesNotMatch(peer, /Panel browser/, 'this device is not among the others');
    if (process.env.SYNC_PANEL_SHOTS) await page.screenshot({ path: `${process.env.SYNC_PANEL_SHOTS}/panel.png` });

    // Escape closes the panel and the focus returns to the pill.
    await page.keyboard.press('Escape');
    await until(async () => !(await panel.isVisible()), 'the panel to close');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'sync-pill');
    assert.equal(await pillButton.getAttribute('aria-expanded'), 'false');

    // From the keyboard: Enter on the pill opens it again, with the focus inside.
    await page.keyboard.press('Enter');
    await panel.waitFor();
    assert.ok(await page.evaluate(() => !!document.activeElement?.closest('#sync-panel')), 'the focus is in the panel');

    // Discard: the list empties, the panel says what that means, and the pill has nothing more to say.
    await aside.getByRole('button', { name: 'Discard' }).click();
    await expectText(panel.locator('.panel-note'), /^Discarded\. The change stays on this device/);
    await panel.getByText('Nothing is set aside: every change of this device syncs.').waitFor();
    await expectCount(panel.locator('li.quarantined'), 0);
    await panel.getByRole('button', { name: 'Close sync details' }).click();
    await until(async () => !(await panel.isVisible()), 'the panel to close');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'sync-pill');
    await expectSynced(page);
    // The local effect stays.
    const reopened = await openEditor(page, 'Long story');
    assert.equal(await reopened.getByRole('textbox', { name: 'Notes' }).inputValue(), notes);
    await reopened.getByRole('button', { name: 'Close' }).click();

    // The CLI device has the normal task; the long notes never reached it (the task's creation, a
    // small op of its own, did: it has the title without the notes).
    const tasks = await until(() => {
      const t = cliTasks();
      return t.some((x) => x.title === 'Short and sweet') && t;
    }, 'the CLI to have the normal task');
    assert.deepEqual(tasks.map((t) => t.title).sort(), ['Long story', 'Short and sweet']);
    assert.ok(tasks.every((t) => !t.notes), `no task has notes on the CLI: ${JSON.stringify(tasks)}`);
    // Offline: the panel shows this device's part and says the device list needs the hub.
    await context.setOffline(true);
    const errorsBefore = watched.problems.length;
    await expectText(pill(page), 'Offline');
    await pillButton.click();
    await panel.waitFor();
    await panel.getByText(/^You're offline\. The list of devices comes from the hub/).waitFor();
    await expectCount(panel.getByRole('list', { name: 'Other devices' }), 0);
    await expectText(facts.locator('[data-fact=unsent]'), '0');
    assert.match(await facts.textContent(), new RegExp(status.device));
    if (process.env.SYNC_PANEL_SHOTS) await page.screenshot({ path: `${process.env.SYNC_PANEL_SHOTS}/offline.png` });
    await page.keyboard.press('Escape');
    await until(async () => !(await panel.isVisible()), 'the panel to close');
    await context.setOffline(false);
    // Failed requests while offline (the store's sync attempts, the live stream) are expected.
    const offlineErrors = watched.problems.splice(errorsBefore);
    watched.problems.push(...offlineErrors.filter((p) => !/ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(p)));
    await expectSynced(page);

    // The toast did not come back (after more rounds).
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expectSynced(page);
    assert.equal(await setAsideToast(page).count(), 0);
  } finally {
    cleanup(home);
  }
  await context.close();
  assertClean('sync panel', watched);
});
