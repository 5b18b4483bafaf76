// Start-up: a device that was paired lays the app out while its store opens (the larger part of a
// start), and the data fills in when it is open; it never shows the pairing screen or "Not paired" on
// the way. A device that was never paired goes from "Opening Hearth…" to the pairing screen without
// showing the app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useHubAndBrowser, newContext, assertClean, openApp, openPaired, appReady, addTask, taskRow, expectNavCount,
  expectSynced,
} from './helpers.mjs';

let hub;
let browser;
useHubAndBrowser((h, b) => { hub = h; browser = b; });

/** Records, from the first script on, every state the app's layout is in and what the page showed then. */
function recordStart() {
  window.__start = { states: [], pairingSeen: false, notPairedWhileLoading: false };
  const look = () => {
    const s = window.__start;
    const app = document.querySelector('div.app');
    const state = app ? app.getAttribute('data-state') : null;
    if (state && s.states[s.states.length - 1] !== state) s.states.push(state);
    if (document.querySelector('#pair-code')) s.pairingSeen = true;
    if (state === 'loading') {
      const pill = document.querySelector('.sync-pill');
      if (pill && /Not paired/.test(pill.textContent)) s.notPairedWhileLoading = true;
      if (app.getAttribute('aria-busy') !== 'true') s.notBusyWhileLoading = true;
    }
  };
  new MutationObserver(look).observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
}

test('a paired device shows its layout while the store opens, then its data', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  try {
    const page = await openPaired(watched.context, hub, 'Laptop');
    await expectSynced(page);
    await addTask(page, 'Water the plants');
    await expectNavCount(page, 'Inbox', 1);

    await page.addInitScript(recordStart);
    await page.reload();
    await appReady(page).waitFor({ timeout: 30000 });
    await taskRow(page, 'Water the plants').waitFor({ timeout: 15000 });
    await expectNavCount(page, 'Inbox', 1);
    const seen = await page.evaluate(() => window.__start);
    assert.deepEqual(seen.states, ['loading', 'ready'], 'laid out first, then ready, in one layout');
    assert.equal(seen.pairingSeen, false, 'the pairing screen never showed');
    assert.equal(seen.notPairedWhileLoading, false, 'the pill never said "Not paired"');
    assert.equal(seen.notBusyWhileLoading, undefined, 'the layout is aria-busy while it loads');
    assert.equal(await page.locator('div.app').getAttribute('aria-busy'), 'false');
    assertClean('paired start', watched);
  } finally {
    await watched.context.close();
  }
});

test('a device never paired goes to the pairing screen without showing the app', async () => {
  const watched = await newContext(browser, { viewport: { width: 390, height: 844 } });
  try {
    await watched.context.addInitScript(recordStart);
    const page = await openApp(watched.context, hub.url);
    await page.locator('#pair-code').waitFor({ timeout: 30000 });
    const seen = await page.evaluate(() => window.__start);
    assert.deepEqual(seen.states, [], 'no app layout before pairing');
    assertClean('new device start', watched);
  } finally {
    await watched.context.close();
  }
});
