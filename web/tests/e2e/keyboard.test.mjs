// Keyboard only, end to end: pairing, a project, a task, checking it off, editing it inline and closing
// the editor, with the focus visible at every step. And "Update needed": below the space's minimum
// version the app keeps its changes, says so, and sends them once the hub accepts them again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useHubAndBrowser, cliReplica, newContext, assertClean, cleanup, openApp, openPaired, invite,
  appReady, heading, taskRow, navButton, expectNavCount, expectText, expectSynced, pill, addTask, cli, until,
} from './helpers.mjs';

let hub;
let browser;
useHubAndBrowser((h, b) => { hub = h; browser = b; });

/** The focused element: its accessible-ish name, tag, and whether its focus ring is drawn. */
const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {
    name: el.getAttribute('aria-label') || el.labels?.[0]?.textContent.trim() || el.textContent.trim(),
    tag: el.tagName.toLowerCase(),
    ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
  };
});

/** Press Tab until the focused element's name matches `want` (at most 60 presses). */
async function tabTo(page, want) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (f && (want instanceof RegExp ? want.test(f.name) : f.name === want)) return f;
  }
  throw new Error(`Tab never reached ${want}`);
}

test('keyboard only: pair, add a project and a task, check it off, edit it inline', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  try {
    const page = await openApp(watched.context, hub.url);
    await tabTo(page, 'Pairing code');
    await page.keyboard.type(invite(hub));
    await page.keyboard.press('Enter');
    await appReady(page).waitFor({ timeout: 30000 });

    let f = await tabTo(page, 'New project');
    assert.ok(f.ring, 'the focused button shows a focus ring');
    await page.keyboard.press('Enter');
    await page.keyboard.type('Keys');
    await page.keyboard.press('Enter');
    await expectText(heading(page), 'Keys');

    f = await tabTo(page, 'New task title');
    assert.equal(f.tag, 'input');
    await page.keyboard.type('Typed task');
    await page.keyboard.press('Enter');
    await taskRow(page, 'Typed task').waitFor();
    assert.equal((await focused(page)).name, 'New task title', 'the focus stays in quick add for the next task');
    await page.keyboard.type('Second typed task');
    await page.keyboard.press('Enter');
    await taskRow(page, 'Second typed task').waitFor();
    await expectNavCount(page, 'Keys', 2);

    f = await tabTo(page, 'Done: Typed task');
    assert.ok(f.ring, 'the checkbox shows a focus ring');
    await page.keyboard.press('Space');
    await expectNavCount(page, 'Keys', 1);
    // The finished task leaves the list (behind "Show completed") and the focus moves to the next task.
    await until(async () => (await taskRow(page, 'Typed task').count()) === 0, 'the finished task to hide');
    assert.equal((await focused(page)).name, 'Done: Second typed task');
    await page.getByRole('button', { name: 'Show completed (1)' }).waitFor();

    await tabTo(page, /^Second typed task/);
    await page.keyboard.press('Enter');
    const editor = taskRow(page, 'Second typed task').locator('.editor');
    await editor.waitFor();
    assert.equal((await focused(page)).tag, 'input', 'the editor focuses its title');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('Renamed by keyboard');
    await page.keyboard.press('Enter');
    await taskRow(page, 'Renamed by keyboard').waitFor();
    await until(async () => (await taskRow(page, 'Renamed by keyboard').locator('.editor').count()) === 0, 'the editor to close');
    assert.match((await focused(page)).name, /^Renamed by keyboard/, 'the focus is back on the task');

    // Escape closes an editor opened from the keyboard and keeps what was typed.
    await page.keyboard.press('Enter');
    await taskRow(page, 'Renamed by keyboard').locator('.editor').waitFor();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('Kept by Escape');
    await page.keyboard.press('Escape');
    await taskRow(page, 'Kept by Escape').waitFor();
    await until(async () => (await taskRow(page, 'Kept by Escape').locator('.editor').count()) === 0, 'Escape to close the editor');
    await expectSynced(page);
    const replica = cliReplica(hub, 'keyboard-cli');
    const titles = replica.ls('Keys', { all: true }).map((t) => t.title).sort();
    assert.deepEqual(titles, ['Kept by Escape', 'Typed task']);
    cleanup(replica.home);
    assert.ok(await navButton(page, 'Keys').isVisible());
  } finally {
    await watched.context.close();
  }
  assertClean('keyboard only', watched);
});

test('below the space\'s minimum version the app keeps its changes and says "Update needed"', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const replica = cliReplica(hub, 'version-cli');
  try {
    const page = await openPaired(watched.context, hub, 'Old browser');
    await expectSynced(page);
    cli(['space', 'set-min-version', '99', '--data', hub.data]);
    await addTask(page, 'Written by an old build');
    await expectText(pill(page), 'Update needed · 1 unsent', 20000);
    await expectText(page.locator('.banner.update strong'), 'Update needed.');
    replica.sync();
    assert.equal(replica.ls(null).some((t) => t.title === 'Written by an old build'), false, 'the hub refused it');

    // The hub lowers its bar again (as after an upgrade): the waiting change goes out, nothing lost.
    cli(['space', 'set-min-version', '1', '--data', hub.data]);
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expectSynced(page);
    await replica.syncUntil(() => replica.ls(null).some((t) => t.title === 'Written by an old build'), 'the waiting task');
  } finally {
    await watched.context.close();
    cleanup(replica.home);
  }
  assertClean('update needed', watched);
});
