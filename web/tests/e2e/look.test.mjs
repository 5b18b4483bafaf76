// How the app looks and what it says, measured: projects line up with Inbox and Today in the sidebar;
// every project's heading has one layout, whatever its name; renaming has Save and Cancel and keeps the
// count; the move menu has a visible label; priorities are named the same way everywhere; the sync pill
// never resizes the search box; "Show completed" is remembered per list; a deleted project comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useHubAndBrowser, newContext, assertClean, cleanup, openPaired, createProject, addSubProject, addTask, taskRow,
  openEditor, expectText, expectCount, expectSynced, expectNavCount, heading, openList, until, startHub,
  pill, navButton, sidebar, screenshot, finishTask,
} from './helpers.mjs';

let hub;
let browser;
useHubAndBrowser((h, b) => { hub = h; browser = b; });

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 800 }, isMobile: true, hasTouch: true, reducedMotion: 'reduce' };

/** The left edge of a sidebar entry's title, in pixels. */
const titleLeft = async (page, title) => (await navButton(page, title).locator('.nav-title').boundingBox()).x;

test('projects line up with Inbox and Today at every level, with or without sub-projects', async () => {
  const watched = await newContext(browser, DESKTOP);
  try {
    const page = await openPaired(watched.context, hub, 'Align browser');
    await createProject(page, 'Alone');
    await createProject(page, 'Parent');
    await addSubProject(page, 'Child');
    const inbox = await titleLeft(page, 'Inbox');
    assert.equal(await titleLeft(page, 'Today'), inbox);
    assert.equal(await titleLeft(page, 'Alone'), inbox, 'a top-level project without sub-projects');
    assert.equal(await titleLeft(page, 'Parent'), inbox, 'a top-level project with sub-projects');
    assert.equal(await titleLeft(page, 'Child'), inbox + 18, 'a sub-project, one step in');
    // The show/hide button sits in the icon column and still works.
    const toggle = sidebar(page).getByRole('button', { name: 'Show or hide the sub-projects of Parent' });
    const [box, icon] = [await toggle.boundingBox(), await navButton(page, 'Inbox').locator('.nav-icon').boundingBox()];
    assert.ok(box.x <= icon.x && box.x + box.width >= icon.x + icon.width, `the toggle ${JSON.stringify(box)} covers the icon column ${JSON.stringify(icon)}`);
    await toggle.click();
    await expectCount(navButton(page, 'Child'), 0);
    await toggle.click();
    await navButton(page, 'Child').waitFor();
  } finally {
    await watched.context.close();
  }
  assertClean('alignment', watched);
});

test('a project heading has one layout; rename has Save and Cancel and keeps the count; the move menu is labelled', async () => {
  const watched = await newContext(browser, DESKTOP);
  try {
    const page = await openPaired(watched.context, hub, 'Heading browser');
    const layout = async () => page.evaluate(() => {
      const r = (sel) => document.querySelector(sel).getBoundingClientRect();
      return { title: r('main .list-title'), actions: r('main .list-actions') };
    });
    await createProject(page, 'Q1');
    await addTask(page, 'One thing');
    const short = await layout();
    await createProject(page, 'A project with a name long enough to fill most of the heading on a laptop screen');
    const long = await layout();
    for (const [what, l] of [['short name', short], ['long name', long]]) {
      assert.ok(l.actions.top >= l.title.bottom, `${what}: the actions are on their own row below the name`);
    }
    assert.equal(short.actions.left, long.actions.left, 'the actions start at the same place');
    assert.equal(short.title.left, long.title.left);

    // Rename: Save and Cancel, and the count line stays.
    await openList(page, 'Q1');
    await page.getByRole('button', { name: 'Rename' }).click();
    const name = page.getByRole('textbox', { name: 'Project name' });
    await name.fill('Never saved');
    await page.getByRole('button', { name: 'Save' }).waitFor();
    await expectText(page.locator('main .count-line'), '1 open task');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expectText(heading(page), 'Q1');
    await navButton(page, 'Q1').waitFor();
    await page.getByRole('button', { name: 'Rename' }).click();
    await name.fill('Q1 goals');
    await page.getByRole('button', { name: 'Save' }).click();
    await expectText(heading(page), 'Q1 goals');
    await expectText(page.locator('main .count-line'), '1 open task');

    // The move menu: a label a person can see, and it moves the project.
    const label = page.locator('main .select-label > span').first();
    assert.equal(await label.innerText(), 'Move under');
    const shown = await label.boundingBox();
    assert.ok(shown && shown.width > 20 && shown.height > 8, 'the label is visible');
    const move = page.getByLabel('Move under');
    const options = await move.locator('option').allInnerTexts();
    assert.equal(options[0], 'Top level');
    assert.ok(options.some((o) => o.trim() === 'A project with a name long enough to fill most of the heading on a laptop screen'));
    await move.selectOption({ label: 'A project with a name long enough to fill most of the heading on a laptop screen' });
    await until(async () => (await navButton(page, 'Q1 goals').locator('.nav-title').boundingBox()).x
      === (await navButton(page, 'Inbox').locator('.nav-title').boundingBox()).x + 18, 'Q1 goals under the long one');
  } finally {
    await watched.context.close();
  }
  assertClean('project heading', watched);
});

test('priorities say what P1–P4 mean, the same way in quick add, the editor and the chips', async () => {
  const watched = await newContext(browser, DESKTOP);
  try {
    const page = await openPaired(watched.context, hub, 'Priority browser');
    await createProject(page, 'Ranked');
    const want = ['No priority', 'P1 · urgent', 'P2 · high', 'P3 · normal', 'P4 · low'];
    const quick = page.getByRole('combobox', { name: 'New task priority' });
    assert.deepEqual((await quick.locator('option').allInnerTexts()).map((o) => o.trim()), want);
    await addTask(page, 'Ranked task', { priority: 2 });
    const chip = taskRow(page, 'Ranked task').locator('.chip.prio');
    await expectText(chip, 'P2');
    assert.equal(await chip.getAttribute('title'), 'P2 · high');
    const editor = await openEditor(page, 'Ranked task');
    const prio = editor.getByLabel('Priority');
    assert.deepEqual((await prio.locator('option').allInnerTexts()).map((o) => o.trim()), want);
    assert.equal(await prio.inputValue(), '2');
  } finally {
    await watched.context.close();
  }
  assertClean('priorities', watched);
});

test('the sync pill never resizes the search box (desktop and phone)', async () => {
  const own = await startHub();
  const devices = [];
  try {
    for (const [what, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      const watched = await newContext(browser, options);
      const page = await openPaired(watched.context, own, `Pill ${what}`);
      const search = page.getByRole('searchbox', { name: 'Search tasks and projects' });
      await expectSynced(page);
      devices.push({ what, watched, page, search, synced: (await search.boundingBox()).width });
    }
    await own.stop();
    for (const { what, page, search, synced } of devices) {
      await openList(page, 'Inbox');
      await addTask(page, `Typed while the hub is away (${what})`);
      await page.getByRole('button', { name: 'Sync now' }).click();
      await expectText(pill(page), /^Hub unreachable · [1-9]\d* unsent$/, 20000);
      assert.equal((await search.boundingBox()).width, synced, `${what}: the search box keeps its width`);
      // The whole state is in the pill's label when its text is cut short. (Between retries the store
      // may say "Syncing…" for a moment: poll.)
      await until(async () => /^Hub unreachable · [1-9]\d* unsent — sync details$/
        .test(await page.locator('.sync-pill').getAttribute('aria-label')), 'the pill\'s label', 20000);
      assert.equal((await search.boundingBox()).width, synced, `${what}: the search box keeps its width`);
      // A picture of the unreachable state (not of a retry in between: the label is the same after it).
      const unreachable = async () => /^Hub unreachable/.test(await page.locator('.sync-pill').getAttribute('aria-label'));
      await until(async () => {
        if (!(await unreachable())) return false;
        await screenshot(page, `${what}-hub-unreachable.png`);
        return unreachable();
      }, 'a screenshot of the unreachable state', 30000);
    }
  } finally {
    for (const d of devices) await d.watched.context.close();
    await own.stop();
    cleanup(own.data);
  }
  for (const { what, watched } of devices) {
    const failed = watched.problems.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to fetch|Failed to load resource/.test(p));
    assert.deepEqual(failed, [], `${what}: only the stopped hub's refusals in the console`);
  }
});

test('"Show completed" is remembered per list; a deleted project comes back from Recently deleted', async () => {
  const watched = await newContext(browser, DESKTOP);
  try {
    const page = await openPaired(watched.context, hub, 'Remember browser');
    await createProject(page, 'Shown');
    await addTask(page, 'Finished in Shown');
    await finishTask(page, 'Finished in Shown');
    await page.getByRole('button', { name: 'Show completed (1)' }).click();
    await taskRow(page, 'Finished in Shown').waitFor();
    await createProject(page, 'Hidden');
    await addTask(page, 'Finished in Hidden');
    await finishTask(page, 'Finished in Hidden');
    await page.getByRole('button', { name: 'Show completed (1)' }).waitFor();
    await expectCount(taskRow(page, 'Finished in Hidden'), 0);

    // Back in Shown, and after a reload: each list as it was left.
    await openList(page, 'Shown');
    await taskRow(page, 'Finished in Shown').waitFor();
    await page.reload();
    await openList(page, 'Shown');
    await taskRow(page, 'Finished in Shown').waitFor();
    await page.getByRole('button', { name: 'Hide completed (1)' }).waitFor();
    await openList(page, 'Hidden');
    await page.getByRole('button', { name: 'Show completed (1)' }).waitFor();
    await expectCount(taskRow(page, 'Finished in Hidden'), 0);

    // A project deleted with a sub-project and a task: Restore brings it back under its parent.
    await openList(page, 'Shown');
    await addSubProject(page, 'Doomed');
    await addTask(page, 'Inside the doomed one');
    await page.getByRole('button', { name: 'Delete project' }).click();
    await expectCount(navButton(page, 'Doomed'), 0);
    await openList(page, 'Recently deleted');
    const deleted = page.getByRole('list', { name: 'Deleted items' });
    const row = deleted.locator('li').filter({ hasText: 'Doomed' });
    await expectText(row.locator('.chip.kind'), 'Project');
    await page.getByRole('button', { name: 'Restore “Doomed”' }).click();
    await page.locator('.toast').filter({ hasText: 'Restored “Doomed”.' }).waitFor();
    await navButton(page, 'Doomed').waitFor();
    assert.equal(await (await navButton(page, 'Doomed').locator('.nav-title').boundingBox()).x,
      (await navButton(page, 'Shown').locator('.nav-title').boundingBox()).x + 18, 'back under Shown');
    await openList(page, 'Doomed');
    await taskRow(page, 'Inside the doomed one').waitFor();
    await expectSynced(page);
    await expectNavCount(page, 'Shown', 1);
  } finally {
    await watched.context.close();
  }
  assertClean('remembered and restored', watched);
});
