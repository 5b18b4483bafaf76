// Renders the PNG icons from icon.svg with headless Chromium (playwright-core, Debian's /usr/bin/chromium).
// Run once after changing icon.svg, from web/: `npm ci && npm i --no-save sharp@0.35.6 && node
// icons/render.mjs`; the PNGs are committed, so builds never render. (The post-build step leaves this
// script out of the bundle.) Each screenshot is then stored as a palette PNG (sharp's libimagequant,
// dithered): half the bytes of Chromium's truecolour PNG with no difference to see on a flat icon, and
// every byte of the bundle counts on a first load (the service worker caches the icons too).
//
//   icon-192.png, icon-512.png   the rounded tile, transparent corners (manifest purpose "any")
//   icon-maskable-512.png        full bleed, the mark inside the 80% safe zone (purpose "maskable")
//   apple-touch-icon.png         180x180, full bleed and opaque (iOS rounds the corners itself)

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const { default: sharp } = await import('sharp').catch(() => {
  console.error('icons/render.mjs needs sharp: `npm i --no-save sharp@0.35.6` in web/ first');
  process.exit(2);
});

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const svg = await readFile(here('icon.svg'), 'utf8');

const outputs = [
  { file: 'icon-192.png', size: 192 },
  { file: 'icon-512.png', size: 512 },
  // The mark's farthest corner is ~214/256 of the half-size from the centre; 0.82 puts it at ~0.69,
  // inside the maskable safe circle (radius 0.8).
  { file: 'icon-maskable-512.png', size: 512, fullBleed: true, markScale: 0.82 },
  { file: 'apple-touch-icon.png', size: 180, fullBleed: true, markScale: 0.92 },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
});
try {
  for (const { file, size, fullBleed = false, markScale = 1 } of outputs) {
    const page = await browser.newPage({ viewport: { width: size, height: size }, deviceScaleFactor: 1 });
    await page.setContent(`<!doctype html><body style="margin:0;background:transparent">${svg}</body>`);
    await page.evaluate(({ size, fullBleed, markScale }) => {
      const root = document.querySelector('svg');
      root.setAttribute('width', size);
      root.setAttribute('height', size);
      root.style.display = 'block';
      if (fullBleed) document.querySelector('svg .bg').setAttribute('rx', '0');
      if (markScale !== 1) {
        document
          .querySelector('svg .mark')
          .setAttribute('transform', `translate(256 256) scale(${markScale}) translate(-256 -256)`);
      }
    }, { size, fullBleed, markScale });
    const shot = await page.screenshot({ omitBackground: !fullBleed });
    await page.close();
    const { size: bytes } = await sharp(shot)
      .png({ palette: true, quality: 100, effort: 10, compressionLevel: 9, dither: 1.0 })
      .toFile(here(file));
    console.log(`icons/${file}: ${size}x${size}, ${bytes} bytes (${shot.length} before quantizing)`);
  }
} finally {
  await browser.close();
}
