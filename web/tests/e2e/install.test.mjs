// Installability: the manifest as the hub serves it (names, start URL, standalone display, icons of the
// declared sizes, a maskable one), and Chromium's own verdict (CDP Page.getInstallabilityErrors) once
// the service worker controls the page. A persistent profile: Chromium refuses to install from an
// incognito context, which is what browser.newContext() gives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub, launchPersistent, assertClean, cleanup, openApp, appReady, waitForController, until,
} from './helpers.mjs';

let hub;
before(async () => { hub = await startHub(); });
after(async () => {
  await hub?.stop();
  cleanup(hub?.data);
});

/** Width and height from a PNG's IHDR chunk (after checking the signature). */
function pngSize(bytes) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.subarray(0, 8)], signature, 'a PNG signature');
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

test('the manifest and icons make the app installable', async () => {
  const res = await fetch(`${hub.url}/manifest.webmanifest`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/manifest\+json/);
  const manifestUrl = res.url;
  const manifest = JSON.parse(await res.text());
  assert.equal(manifest.name, 'Hearth');
  assert.equal(manifest.short_name, 'Hearth');
  assert.equal(new URL(manifest.start_url, manifestUrl).href, `${hub.url}/`);
  assert.equal(manifest.display, 'standalone');
  assert.ok(manifest.icons.length >= 3);

  const purposes = (icon) => (icon.purpose || 'any').split(/\s+/);
  const find = (size, purpose) => manifest.icons.find((i) => i.sizes.split(/\s+/).includes(size) && purposes(i).includes(purpose));
  assert.ok(find('192x192', 'any'), 'a 192×192 icon');
  assert.ok(find('512x512', 'any'), 'a 512×512 icon');
  assert.ok(manifest.icons.some((i) => purposes(i).includes('maskable')), 'a maskable icon');
  for (const icon of manifest.icons) {
    const url = new URL(icon.src, manifestUrl).href;
    const r = await fetch(url);
    assert.equal(r.status, 200, url);
    assert.equal(r.headers.get('content-type'), 'image/png', url);
    assert.equal(icon.type, 'image/png');
    const [w, h] = pngSize(Buffer.from(await r.arrayBuffer()));
    assert.equal(`${w}x${h}`, icon.sizes, `${url} is ${w}x${h}, declared ${icon.sizes}`);
  }

  const watched = await launchPersistent({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await openApp(watched.context, hub.url);
    // The page links the manifest the hub serves.
    assert.equal(await page.evaluate(() => document.querySelector('link[rel=manifest]').href), manifestUrl);
    await page.getByRole('button', { name: 'Use on this device only for now' }).click();
    await appReady(page).waitFor();
    await waitForController(page);
    const cdp = await watched.context.newCDPSession(page);
    const app = await cdp.send('Page.getAppManifest');
    assert.equal(app.url, manifestUrl);
    assert.deepEqual(app.errors, []);
    let last;
    await until(async () => {
      last = (await cdp.send('Page.getInstallabilityErrors')).installabilityErrors;
      return last.length === 0;
    }, 'no installability errors', 15000).catch(() => {
      throw new Error(`installability errors: ${JSON.stringify(last)}`);
    });
    assert.deepEqual(last, []);
  } finally {
    await watched.context.close();
    cleanup(watched.profile);
  }
  assertClean('installability', watched);
});
