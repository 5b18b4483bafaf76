// The lists as people use them, against a real hub with a native CLI replica checking what arrived:
// nested projects in the sidebar with subtree counts, quick add, completing, inline editing (title, due,
// priority, notes), delete with Undo, and moving a task through the editor and by drag and drop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useHubAndBrowser, cliReplica, newContext, assertClean, cleanup, openPaired, createProject,
  addSubProject, addTask, taskRow, taskList, openEditor, navButton, projectRow, expectNavCount, expectText,
  expectCount, expectSynced, heading, openList, until, sidebar, finishTask,
} from './helpers.mjs';

let hub;
let browser;
useHubAndBrowser((h, b) => { hub = h; browser = b; });

test('nested projects show indented with subtree counts; completing a task updates them', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await openPaired(watched.context, hub);

  await createProject(page, 'Home');
  await addSubProject(page, 'Garden');
  await addTask(page, 'Dig the beds');
  await addTask(page, 'Plant tulips');
  await openList(page, 'Home');
  await addTask(page, 'Fix the fence');

  // Garden is the row right after Home, one level deeper.
  const rows = sidebar(page).locator('li.tree-item');
  await expectCount(rows, 2);
  assert.match(await rows.nth(0).innerText(), /^Home\b/);
  assert.match(await rows.nth(1).innerText(), /^Garden\b/);
  assert.equal(await projectRow(page, 'Home').evaluate((li) => li.style.getPropertyValue('--depth').trim()), '0');
  assert.equal(await projectRow(page, 'Garden').evaluate((li) => li.style.getPropertyValue('--depth').trim()), '1');
  const indent = async (title) => (await navButton(page, title).boundingBox()).x;
  assert.ok(await indent('Garden') > await indent('Home'), 'Garden is indented under Home');
  // Home has a toggle for its sub-projects; it hides and shows Garden.
  const toggle = page.getByRole('button', { name: 'Show or hide the sub-projects of Home' });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');

  // A parent counts its whole subtree.
  await expectNavCount(page, 'Home', 3);
  await expectNavCount(page, 'Garden', 2);
  await expectNavCount(page, 'Inbox', 0);
  await expectText(page.locator('main .list-head p'), '1 open here · 3 with sub-projects');

  await toggle.click();
  await expectCount(rows, 1);
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await toggle.click();
  await expectCount(rows, 2);

  // Complete one Garden task.
  await openList(page, 'Garden');
  assert.equal(await navButton(page, 'Garden').getAttribute('aria-current'), 'page');
  await finishTask(page, 'Plant tulips');
  await expectNavCount(page, 'Home', 2);
  await expectNavCount(page, 'Garden', 1);
  // A finished task leaves the list; it waits behind "Show completed (1)".
  await expectCount(taskRow(page, 'Plant tulips'), 0);
  const showDone = page.getByRole('button', { name: 'Show completed (1)' });
  assert.equal(await showDone.getAttribute('aria-expanded'), 'false');
  await showDone.click();
  await until(async () => (await taskRow(page, 'Plant tulips').getAttribute('class')).includes('done'), 'the row to show done');
  const hideDone = page.getByRole('button', { name: 'Hide completed (1)' });
  assert.equal(await hideDone.getAttribute('aria-expanded'), 'true');
  await hideDone.click();
  await expectCount(taskRow(page, 'Plant tulips'), 0);
  await expectSynced(page);

  const replica = cliReplica(hub);
  try {
    const tree = await replica.syncUntil(() => {
      const t = replica.tree();
      return t.projects.find((p) => p.title === 'Garden')?.open_total === 1 && t;
    }, 'the completed task');
    const home = tree.projects.find((p) => p.title === 'Home');
    const garden = tree.projects.find((p) => p.title === 'Garden');
    assert.deepEqual([home.depth, home.open_total, garden.depth, garden.parent, garden.open_total], [0, 2, 1, home.id, 1]);
    assert.deepEqual(replica.ls('Garden', { all: true }).map((t) => [t.title, t.status]).sort(),
      [['Dig the beds', 'open'], ['Plant tulips', 'done']]);
  } finally {
    cleanup(replica.home);
  }
  await watched.context.close();
  assertClean('sidebar and counts', watched);
});

test('inline editing, delete with Undo and moving tasks reach the CLI replica', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await openPaired(watched.context, hub, 'Editing browser');
  const replica = cliReplica(hub, 'cli-edit');
  try {
    await createProject(page, 'Chores');
    await addTask(page, 'Sweep');
    await addTask(page, 'Mop the floor');
    await createProject(page, 'Errands');
    await addTask(page, 'Buy bulbs');
    await openList(page, 'Chores');

    // Edit every field of "Sweep" in its inline editor.
    const editor = await openEditor(page, 'Sweep');
    assert.equal(await taskRow(page, 'Sweep').locator('button.task-main').getAttribute('aria-expanded'), 'true');
    await editor.getByLabel('Due').fill('2031-03-14');
    // Saved as the field loses the focus. A due date moves a task up its list (dated tasks come first),
    // but not while its editor is open: the browser drops the focus of a row the list moves, and what
    // the person types next would go nowhere.
    await editor.getByLabel('Due').blur();
    await expectText(taskRow(page, 'Sweep').locator('.chip.due'), /14/);
    const titles = page.getByRole('list', { name: 'Tasks' }).locator('li.task .task-title');
    assert.deepEqual(await titles.allTextContents(), ['Mop the floor', 'Sweep']);
    await editor.getByLabel('Priority').selectOption('1');
    await editor.getByLabel('Notes').fill('Under the sofa too');
    await editor.getByLabel('Notes').blur();
    const title = editor.getByLabel('Title');
    await title.fill('Sweep the hall');
    await title.blur(); // a change is saved when the field loses the focus
    const row = taskRow(page, 'Sweep the hall');
    await row.waitFor();
    // (`editor` was found by the old title.)
    await row.locator('.editor').getByRole('button', { name: 'Close' }).click();
    await expectCount(row.locator('.editor'), 0);
    assert.equal(await row.locator('button.task-main').getAttribute('aria-expanded'), 'false');
    // Closed: the task takes its place, and the focus stays on it.
    await expectText(titles.first(), 'Sweep the hall');
    await until(() => row.locator('button.task-main').evaluate((b) => b === document.activeElement), 'the focus back on the task');
    await expectText(row.locator('.chip.prio'), 'P1');
    await expectText(row.locator('.chip.notes'), 'Notes');
    await expectText(row.locator('.chip.due'), /14/);
    // The editor shows the saved values when opened again.
    const again = await openEditor(page, 'Sweep the hall');
    assert.equal(await again.getByLabel('Due').inputValue(), '2031-03-14');
    assert.equal(await again.getByLabel('Priority').inputValue(), '1');
    assert.equal(await again.getByLabel('Notes').inputValue(), 'Under the sofa too');
    await again.getByRole('button', { name: 'Close' }).click();
    await expectCount(row.locator('.editor'), 0);

    await expectSynced(page);
    const sweep = await replica.syncUntil(() => replica.ls('Chores').find((t) => t.title === 'Sweep the hall' && t.notes), 'the edited task');
    assert.deepEqual([sweep.due, sweep.priority, sweep.notes, sweep.status], ['2031-03-14', 1, 'Under the sofa too', 'open']);
    const node = replica.export().nodes.find((n) => n.id === sweep.id);
    assert.deepEqual(node.fields, { title: 'Sweep the hall', due: '2031-03-14', priority: 1, notes: 'Under the sofa too', status: 'open' });

    // Delete, then Undo.
    const del = await openEditor(page, 'Mop the floor');
    await del.getByRole('button', { name: 'Delete task' }).click();
    await expectCount(taskRow(page, 'Mop the floor'), 0);
    await expectNavCount(page, 'Chores', 1);
    const toast = page.locator('.toast').filter({ hasText: 'Deleted “Mop the floor”.' });
    await toast.waitFor();
    await toast.getByRole('button', { name: 'Undo' }).click();
    await taskRow(page, 'Mop the floor').waitFor();
    await expectNavCount(page, 'Chores', 2);
    await expectSynced(page);
    await replica.syncUntil(() => replica.ls('Chores').length === 2, 'the restored task');
    assert.deepEqual(replica.ls('Chores').map((t) => t.title).sort(), ['Mop the floor', 'Sweep the hall']);
    const mop = replica.export().nodes.find((n) => n.fields.title === 'Mop the floor');
    assert.equal(mop.deleted, false);

    // Move "Sweep the hall" to Errands with the editor's Project select.
    const mover = await openEditor(page, 'Sweep the hall');
    const errandsId = await mover.getByLabel('Project').evaluate((select) =>
      [...select.options].find((o) => o.textContent.trim() === 'Errands').value);
    assert.match(errandsId, /^[0-9a-f]{16}$/);
    await mover.getByLabel('Project').selectOption(errandsId);
    await page.locator('.toast').filter({ hasText: 'Moved to Errands.' }).waitFor();
    await expectCount(taskRow(page, 'Sweep the hall'), 0);
    await expectNavCount(page, 'Chores', 1);
    await expectNavCount(page, 'Errands', 2);
    await openList(page, 'Errands');
    await taskRow(page, 'Sweep the hall').waitFor();

    // Drag "Buy bulbs" onto the Chores project in the sidebar.
    await taskRow(page, 'Buy bulbs').dragTo(navButton(page, 'Chores'));
    await page.locator('.toast').filter({ hasText: 'Moved to Chores.' }).waitFor();
    await expectCount(taskRow(page, 'Buy bulbs'), 0);
    await expectNavCount(page, 'Chores', 2);
    await expectNavCount(page, 'Errands', 1);
    // And drag "Sweep the hall" onto the Inbox.
    await taskRow(page, 'Sweep the hall').dragTo(navButton(page, 'Inbox'));
    await page.locator('.toast').filter({ hasText: 'Moved to Inbox.' }).waitFor();
    await expectNavCount(page, 'Errands', 0);
    await expectNavCount(page, 'Inbox', 1);
    await expectCount(taskList(page).locator('li.task'), 0);

    await expectSynced(page);
    await replica.syncUntil(() => replica.ls(null).length === 1, 'the moves');
    assert.deepEqual(replica.ls('Chores').map((t) => t.title).sort(), ['Buy bulbs', 'Mop the floor']);
    assert.deepEqual(replica.ls('Errands'), []);
    const inbox = replica.ls(null);
    assert.deepEqual(inbox.map((t) => [t.title, t.parent, t.due, t.priority]), [['Sweep the hall', null, '2031-03-14', 1]]);
    await expectText(heading(page), 'Errands');
  } finally {
    cleanup(replica.home);
  }
  await watched.context.close();
  assertClean('editing and moving', watched);
});

// Enter in the title saves and closes the editor, and the focus goes back to the task's button without
// the key activating it (which once reopened the editor).
test('Enter in the title field saves and closes the editor', async () => {
  const watched = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  try {
    const page = await openPaired(watched.context, hub, 'Enter browser');
    await openList(page, 'Inbox');
    await addTask(page, 'Rename me');
    const title = (await openEditor(page, 'Rename me')).getByLabel('Title');
    await title.fill('Renamed with Enter');
    await title.press('Enter');
    const row = taskRow(page, 'Renamed with Enter');
    await row.waitFor();
    await page.waitForTimeout(300);
    assert.equal(await row.locator('button.task-main').getAttribute('aria-expanded'), 'false', 'the editor is closed');
    assert.equal(await row.locator('.editor').count(), 0);
    const focused = await page.evaluate(() => document.activeElement?.closest('li.task')?.querySelector('.task-title')?.textContent);
    assert.equal(focused, 'Renamed with Enter', 'the focus is back on the task');
  } finally {
    await watched.context.close();
  }
  assertClean('Enter in the title', watched);
});
