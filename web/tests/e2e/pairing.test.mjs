// Pairing errors are sentences for a person, next to the code field, and leave as soon as the code
// changes: a wrong code, then a hub that cannot be reached (never the browser's "TypeError: Failed to
// fetch").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub, launchBrowser, newContext, assertClean, cleanup, openApp, invite, expectText, screenshot,
} from './helpers.mjs';

test('a wrong code and an unreachable hub are explained next to the code field', async () => {
  const hub = await startHub();
  const browser = await launchBrowser();
  const watched = await newContext(browser, { viewport: { width: 390, height: 844 } });
  try {
    const page = await openApp(watched.context, hub.url);
    const code = page.getByRole('textbox', { name: 'Pairing code' });
    const error = page.locator('#pair-error');
    const pairButton = page.getByRole('button', { name: 'Pair', exact: true });

    await code.fill('aaaa-bbbb-cccc');
    await pairButton.click();
    await expectText(
      error,
      'That code did not work: this pairing code is unknown, already used or expired; get a fresh one with `hearth invite`.',
    );
    assert.equal(await error.getAttribute('role'), 'alert');
    assert.equal(await code.getAttribute('aria-invalid'), 'true');
    assert.equal(await code.getAttribute('aria-describedby'), 'pair-error', 'the field names its error');
    await screenshot(page, 'phone-pairing-error.png');
    // Typing a new code clears it.
    await code.fill('aaaa-bbbb-ccc');
    await error.waitFor({ state: 'hidden', timeout: 5000 });
    await page.locator('#pair-code[aria-invalid=false]').waitFor({ timeout: 5000 });

    // The hub goes away: the sentence says so, with no browser jargon.
    const fresh = invite(hub);
    await hub.stop();
    await code.fill(fresh);
    await pairButton.click();
    await error.waitFor({ state: 'visible' });
    const said = await error.textContent();
    assert.match(said, /^The hub at http:\/\/127\.0\.0\.1:\d+ cannot be reached\. Check that it is running/);
    assert.doesNotMatch(said, /TypeError|Failed to fetch/);

    // A failed fetch logs itself in Chromium's console; that one is expected while the hub is down.
    watched.problems.splice(0, watched.problems.length, ...watched.problems.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(p)));
  } finally {
    await watched.context.close();
    await browser.close();
    await hub.stop();
    cleanup(hub.data);
  }
  assertClean('pairing errors', watched);
});
