// Accessibility checks over every screen state at phone and desktop size, light and dark: axe-core
// (WCAG 2.1 A and AA rules and axe's best practices) finds no violation, every control has an
// accessible name (Chromium's own accessibility tree, through CDP), and every control a finger can touch
// is at least 44×44 CSS pixels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  useHubAndBrowser, newContext, assertClean, openApp, openPaired, createProject, addSubProject,
  addTask, openEditor, menuButton, drawerSettled, sidebar, localDate, navButton,
} from './helpers.mjs';

let hub;
let browser;
useHubAndBrowser((h, b) => { hub = h; browser = b; });

const CONTROL_ROLES = new Set([
  'button', 'link', 'textbox', 'searchbox', 'combobox', 'checkbox', 'menuitem', 'tab', 'switch', 'slider',
  'spinbutton', 'radio', 'listbox', 'option',
]);

/** Controls in Chromium's accessibility tree that have no name: `role (dom tag)` for each. */
async function unnamedControls(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  await cdp.detach();
  return nodes
    .filter((n) => !n.ignored && CONTROL_ROLES.has(n.role?.value) && !(n.name?.value || '').trim())
    // A date field's inner parts (day, month, year spinbuttons) are named by the field itself.
    .filter((n) => n.role?.value !== 'spinbutton')
    .map((n) => `${n.role.value} (backend node ${n.backendDOMNodeId})`);
}

/** Visible controls smaller than 44×44 CSS pixels: a description of each. */
const smallTargets = (page) => page.evaluate(() => {
  const out = [];
  const controls = document.querySelectorAll('button, a[href], input, select, textarea, [role=button]');
  for (const el of controls) {
    // A checkbox drawn by its label: the label is the target.
    const target = el.matches('input[type=checkbox]') && el.closest('label') ? el.closest('label') : el;
    const r = target.getBoundingClientRect();
    const style = getComputedStyle(el);
    const hidden = r.width === 0 || r.height === 0 || style.visibility === 'hidden'
      || r.right <= 0 || r.bottom <= 0 || r.left >= innerWidth || el.closest('[aria-hidden=true]');
    if (hidden) continue;
    if (r.width < 44 || r.height < 44) {
      const name = el.getAttribute('aria-label') || el.labels?.[0]?.textContent || el.textContent;
      out.push(`${el.tagName.toLowerCase()} "${(name || '').trim().slice(0, 40)}" ${Math.round(r.width)}×${Math.round(r.height)}`);
    }
  }
  return out;
});

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core's violations on the page as it is: `rule (impact): target …` for each node. */
async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary.split('\n').slice(1, 2).join('').trim()}`) }));
  });
  return violations.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n}`));
}

async function check(page, state) {
  assert.deepEqual(await axeViolations(page), [], `${state}: axe-core finds no violation`);
  assert.deepEqual(await unnamedControls(page), [], `${state}: every control has an accessible name`);
  assert.deepEqual(await smallTargets(page), [], `${state}: every touch target is at least 44×44`);
}

test('every control is named and at least 44×44, on a phone and on a desktop', async () => {
  for (const [label, options] of [
    ['phone', { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true, reducedMotion: 'reduce' }],
    ['desktop', { viewport: { width: 1280, height: 800 } }],
    ['phone dark', { viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true, reducedMotion: 'reduce', colorScheme: 'dark' }],
    ['desktop dark', { viewport: { width: 1280, height: 800 }, colorScheme: 'dark' }],
  ]) {
    const watched = await newContext(browser, { colorScheme: 'light', ...options });
    try {
      const pairing = await openApp(watched.context, hub.url);
      await check(pairing, `${label} pairing`);
      await pairing.close();

      const page = await openPaired(watched.context, hub, `${label} a11y`);
      const phone = label.startsWith('phone');
      const openNav = async () => {
        if (phone) {
          await menuButton(page).click();
          await drawerSettled(page);
        }
      };
      await openNav();
      await createProject(page, `Rooms ${label}`);
      // On a phone the project's actions fold behind one button.
      if (phone) await page.getByRole('button', { name: 'Project actions' }).click();
      await addSubProject(page, `Attic ${label}`);
      // Due and priority chips (their contrast is checked too).
      // (On a phone quick add folds them away.)
      await addTask(page, `Sweep the attic ${label}`, phone ? {} : { due: localDate(0), priority: 2 });
      await check(page, `${label} project list`);
      await openEditor(page, `Sweep the attic ${label}`);
      await check(page, `${label} task editor`);
      // The sync details panel, opened from the status pill.
      await page.locator('#sync-pill').click();
      await page.getByRole('dialog', { name: 'Sync details' }).getByRole('list', { name: 'Other devices' }).or(
        page.getByRole('dialog', { name: 'Sync details' }).getByText('No other device is paired with this space yet.'),
      ).waitFor();
      await check(page, `${label} sync panel`);
      await page.keyboard.press('Escape');
      await page.getByRole('dialog', { name: 'Sync details' }).waitFor({ state: 'hidden' });
      if (phone) {
        await page.getByRole('button', { name: 'Project actions' }).click();
        await check(page, `${label} project actions`);
        await page.getByRole('button', { name: 'Project actions' }).click();
      }
      await openNav();
      await sidebar(page).waitFor();
      await check(page, `${label} sidebar`);
      await navButton(page, 'Today').click();
      await page.getByRole('heading', { name: /^Today/ }).first().waitFor();
      await check(page, `${label} Today`);
    } finally {
      await watched.context.close();
    }
    assertClean(`a11y ${label}`, watched);
  }
});
