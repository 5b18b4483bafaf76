// Screenshots of a realistic small space (nested projects, due dates, priorities, one task overdue, one
// done) on a phone (360×640, touch) and a desktop (1280×800), light and dark, written to
// <repo>/artifacts/screenshots/ for people to look at. The space is written by a CLI replica and
// downloaded by each browser on pairing; the test checks that the sidebar's counts match the CLI's tree
// and that nothing overflows the phone's width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import {
  startHub, cliReplica, launchBrowser, newContext, assertClean, cleanup, openPaired, openApp, openList,
  navButton, menuButton, drawerSettled, expectNavCount, expectSynced, openEditor, taskRow, localDate, expectText, heading, until,
  SCREENSHOTS,
} from './helpers.mjs';

const OUT = SCREENSHOTS;
// Reduced motion: no screenshot catches the drawer mid-slide (drawerSettled also waits for it).
const PHONE = { viewport: { width: 360, height: 640 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, reducedMotion: 'reduce' };
const DESKTOP = { viewport: { width: 1280, height: 800 } };

let hub;
let browser;
let replica;
let tree;
before(async () => {
  mkdirSync(OUT, { recursive: true });
  hub = await startHub();
  browser = await launchBrowser();
  replica = cliReplica(hub, 'seed');
  const r = replica.run;
  r('project', 'add', 'Home');
  r('project', 'add', 'Garden', '--parent', 'Home');
  r('project', 'add', 'Kitchen', '--parent', 'Home');
  r('project', 'add', 'Work');
  r('project', 'add', 'Q4 launch', '--parent', 'Work');
  r('project', 'add', 'Press kit', '--parent', 'Q4 launch');
  r('project', 'add', 'Errands');
  const task = (title, ...opts) => JSON.parse(r('task', 'add', title, ...opts, '--json')).id;
  task('Call the plumber about the leak', '--due', localDate(0), '--priority', '2');
  task('Renew passport', '--due', localDate(12));
  task('Write thank-you notes to everyone who helped with the move last month');
  task('Prune the roses before the frost', '--project', 'Garden', '--due', localDate(-3), '--priority', '1');
  task('Order tulip bulbs', '--project', 'Garden', '--due', localDate(1), '--priority', '3');
  task('Fix the drip irrigation', '--project', 'Garden', '--notes', 'The valve by the shed leaks; buy a 16 mm coupler.');
  task('Descale the kettle', '--project', 'Kitchen', '--priority', '4');
  const hinge = task('Replace the cabinet hinge', '--project', 'Kitchen');
  r('task', 'done', hinge);
  task('Quarterly report', '--project', 'Work', '--due', localDate(0), '--priority', '1', '--notes', 'Numbers from finance by Wednesday.');
  task('Book the offsite venue', '--project', 'Work', '--due', localDate(5), '--priority', '3');
  task('Draft the announcement', '--project', 'Q4 launch', '--due', localDate(2), '--priority', '2');
  task('Review the pricing page', '--project', 'Q4 launch');
  task('Ship release 2.0', '--project', 'Q4 launch', '--due', localDate(14), '--priority', '1');
  task('Product photos', '--project', 'Press kit', '--due', localDate(9));
  task('Pick up dry cleaning', '--project', 'Errands', '--due', localDate(0));
  task('Buy a birthday card for Sam', '--project', 'Errands', '--due', localDate(1), '--priority', '2');
  // Something in Recently deleted.
  r('rm', task('Return the library books', '--due', localDate(-1)));
  replica.sync();
  tree = replica.tree();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
  cleanup(hub?.data, replica?.home);
});

/** Pair a fresh context and wait until it shows the whole space, as the CLI counts it. */
async function seeded(options, name) {
  const watched = await newContext(browser, options);
  const page = await openPaired(watched.context, hub, name);
  await expectSynced(page);
  for (const p of tree.projects) await expectNavCount(page, p.title, p.open_total);
  await expectNavCount(page, 'Inbox', tree.inbox);
  // Overdue and due today: the roses (3 days late), the plumber, the report, the dry cleaning.
  await expectNavCount(page, 'Today', 4);
  return { watched, page };
}

/** Nothing wider than the viewport (no sideways scrolling on a phone). */
async function assertNoOverflow(page, what) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.scrollingElement.scrollWidth, width: innerWidth }));
  assert.ok(scroll <= width, `${what}: the page is ${scroll}px wide in a ${width}px viewport`);
}

async function shot(page, name) {
  // Let transient toasts (e.g. after pairing) go, and the caret not matter.
  await until(async () => (await page.locator('.toast').count()) === 0, 'no toasts', 12000).catch(() => {});
  const path = `${OUT}${name}`;
  await page.screenshot({ path, caret: 'hide' });
  assert.ok(statSync(path).size > 5000, `${name} was written`);
}

test('desktop: a project, Today, the editor (light) and a project in dark mode', async () => {
  const { watched, page } = await seeded(DESKTOP, 'Desktop');
  await openList(page, 'Work');
  await expectText(page.locator('main .list-head p'), '2 open here · 6 with sub-projects');
  await shot(page, 'desktop-project.png');
  // Renaming: Save and Cancel, the count line kept.
  await page.getByRole('button', { name: 'Rename' }).click();
  await page.getByRole('button', { name: 'Cancel' }).waitFor();
  await shot(page, 'desktop-rename.png');
  await page.getByRole('button', { name: 'Cancel' }).click();

  await openList(page, 'Today');
  // Overdue first, then today's; the project chip says where each lives.
  const titles = await page.locator('main li.task .task-title').allInnerTexts();
  assert.equal(titles[0], 'Prune the roses before the frost');
  assert.ok(await taskRow(page, 'Prune the roses before the frost').evaluate((li) => li.classList.contains('overdue')));
  await expectText(taskRow(page, 'Prune the roses before the frost').locator('.chip.project'), 'Garden');
  await shot(page, 'desktop-today.png');

  await openList(page, 'Garden');
  await openEditor(page, 'Fix the drip irrigation');
  await shot(page, 'desktop-editor.png');

  // Search (titles and notes), the Logbook, Recently deleted, the shortcuts, the sync details, /admin.
  await page.getByRole('searchbox', { name: 'Search tasks and projects' }).fill('the');
  await page.locator('main .hits li').first().waitFor();
  await shot(page, 'desktop-search.png');
  await page.getByRole('searchbox', { name: 'Search tasks and projects' }).fill('');
  await openList(page, 'Logbook');
  await page.locator('main .log-row').first().waitFor();
  await shot(page, 'desktop-logbook.png');
  await openList(page, 'Recently deleted');
  await page.getByRole('list', { name: 'Deleted items' }).locator('li').first().waitFor();
  await shot(page, 'desktop-trash.png');
  await page.locator('main h1').click();
  await page.keyboard.press('?');
  await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
  await shot(page, 'desktop-shortcuts.png');
  await page.keyboard.press('Escape');
  await page.locator('.sync-pill').click();
  const panel = page.getByRole('dialog', { name: 'Sync details' });
  await panel.waitFor();
  // The other devices, once the hub has answered.
  await until(async () => !(await panel.innerText()).includes('Asking the hub'), 'the list of devices');
  await shot(page, 'desktop-sync-panel.png');
  await page.keyboard.press('Escape');
  await page.goto(`${hub.url}/admin`);
  await page.getByRole('heading').first().waitFor();
  await shot(page, 'admin-desktop.png');
  await watched.context.close();
  assertClean('desktop screenshots', watched);

  const dark = await seeded({ ...DESKTOP, colorScheme: 'dark' }, 'Desktop dark');
  await openList(dark.page, 'Q4 launch');
  await shot(dark.page, 'desktop-dark-project.png');
  await openList(dark.page, 'Today');
  await shot(dark.page, 'desktop-dark-today.png');
  await dark.watched.context.close();
  assertClean('desktop dark screenshots', dark.watched);
});

test('phone: pairing, a list, the drawer, the editor, and dark mode', async () => {
  const pairing = await newContext(browser, PHONE);
  const first = await openApp(pairing.context, hub.url);
  await first.getByRole('textbox', { name: 'Pairing code' }).waitFor();
  await assertNoOverflow(first, 'pairing');
  await shot(first, 'phone-pairing.png');
  await pairing.context.close();
  assertClean('phone pairing screenshot', pairing);

  const { watched, page } = await seeded(PHONE, 'Phone');
  const menu = menuButton(page);
  assert.ok(await menu.isVisible(), 'the menu button shows on a phone');
  await openList(page, 'Garden');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false', 'choosing a list closes the drawer');
  await expectText(heading(page), 'Garden');
  await assertNoOverflow(page, 'a list');
  await shot(page, 'phone-list.png');
  // The project's actions behind their button, the move menu labelled.
  await page.getByRole('button', { name: 'Project actions' }).click();
  await page.getByLabel('Move under').waitFor();
  await shot(page, 'phone-project-actions.png');
  await page.getByRole('button', { name: 'Project actions' }).click();

  await menu.click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  await drawerSettled(page);
  const box = await navButton(page, 'Press kit').boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 360, 'the deepest project is inside the screen');
  await shot(page, 'phone-sidebar.png');
  await navButton(page, 'Inbox').click();
  await expectText(heading(page), 'Inbox');
  await drawerSettled(page);

  const editor = await openEditor(page, 'Write thank-you notes to everyone who helped with the move last month');
  await assertNoOverflow(page, 'the editor');
  // Show the whole editor, as a person would scroll to it.
  await editor.getByRole('button', { name: 'Close' }).scrollIntoViewIfNeeded();
  await shot(page, 'phone-editor.png');
  await watched.context.close();
  assertClean('phone screenshots', watched);

  const dark = await seeded({ ...PHONE, colorScheme: 'dark' }, 'Phone dark');
  await openList(dark.page, 'Today');
  await assertNoOverflow(dark.page, 'Today (dark)');
  await shot(dark.page, 'phone-dark-today.png');
  await menuButton(dark.page).click();
  await drawerSettled(dark.page);
  await shot(dark.page, 'phone-dark-sidebar.png');
  await navButton(dark.page, 'Inbox').click();
  await drawerSettled(dark.page);
  await dark.page.locator('.sync-pill').click();
  const panel = dark.page.getByRole('dialog', { name: 'Sync details' });
  await panel.waitFor();
  await until(async () => !(await panel.innerText()).includes('Asking the hub'), 'the list of devices');
  await shot(dark.page, 'phone-dark-sync-panel.png');
  await dark.page.keyboard.press('Escape');
  await dark.page.goto(`${hub.url}/admin`);
  await dark.page.getByRole('heading').first().waitFor();
  await assertNoOverflow(dark.page, '/admin (dark)');
  await shot(dark.page, 'admin-phone-dark.png');
  await dark.watched.context.close();
  assertClean('phone dark screenshots', dark.watched);
});
