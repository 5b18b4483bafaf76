// Manual order: tasks keep the order a person gives them, by keyboard (Alt+↑/↓ on a task, the focus
// staying on it) and by dragging a task onto another one (upper half: before it; lower half: after),
// and a second browser context of the same space shows the same order; a CLI device agrees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub, launchBrowser, cleanup, cliReplica, newContext, assertClean, openPaired, addTask, editButton,
  taskRow, expectSynced, until, createProject, navButton, openList,
} from './helpers.mjs';

let hub;
let browser;
before(async () => {
  hub = await startHub();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
  cleanup(hub?.data);
});

const titles = (page) => page.locator('ul.tasks li.task .task-title').allTextContents();
const projects = (page) => page.locator('nav .tree li.tree-item .nav-title').allTextContents();
const expectProjects = (page, want, what) =>
  until(async () => JSON.stringify(await projects(page)) === JSON.stringify(want), `${what}: ${want.join(', ')}`);
const expectOrder = (page, want, what) =>
  until(async () => JSON.stringify(await titles(page)) === JSON.stringify(want), `${what}: ${want.join(', ')}`);

test('Alt+↑/↓ and drag reorder a list, and another device shows the same order', async () => {
  const one = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const two = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const replica = cliReplica(hub, 'order cli');
  try {
    const page = await openPaired(one.context, hub, 'Order one');
    for (const t of ['Alpha', 'Bravo', 'Charlie', 'Delta']) await addTask(page, t);
    await expectOrder(page, ['Alpha', 'Bravo', 'Charlie', 'Delta'], 'the order they were added in');

    // Keyboard: Alt+↑ twice moves Delta to second place; the focus stays on it.
    await editButton(page, 'Delta').focus();
    await page.keyboard.press('Alt+ArrowUp');
    await expectOrder(page, ['Alpha', 'Bravo', 'Delta', 'Charlie'], 'Delta up once');
    const focused = () => page.evaluate(() => {
      const a = document.activeElement;
      return a?.classList.contains('task-main') ? a.querySelector('.task-title')?.textContent : null;
    });
    await until(async () => (await focused()) === 'Delta', 'the focus to stay on Delta');
    await page.keyboard.press('Alt+ArrowUp');
    await expectOrder(page, ['Alpha', 'Delta', 'Bravo', 'Charlie'], 'Delta up twice');
    await until(async () => (await focused()) === 'Delta', 'the focus to stay on Delta');
    await page.keyboard.press('Alt+ArrowDown');
    await expectOrder(page, ['Alpha', 'Bravo', 'Delta', 'Charlie'], 'Delta down once');
    // Plain arrows do not reorder.
    await page.keyboard.press('ArrowUp');
    await expectOrder(page, ['Alpha', 'Bravo', 'Delta', 'Charlie'], 'unchanged by a plain arrow');

    // Drag: Charlie onto the upper half of Alpha goes first; Alpha onto the lower half of Delta goes after it.
    const box = async (title) => (await taskRow(page, title).boundingBox());
    await taskRow(page, 'Charlie').dragTo(taskRow(page, 'Alpha'), { targetPosition: { x: 40, y: 4 } });
    await expectOrder(page, ['Charlie', 'Alpha', 'Bravo', 'Delta'], 'Charlie dropped before Alpha');
    const delta = await box('Delta');
    await taskRow(page, 'Alpha').dragTo(taskRow(page, 'Delta'), { targetPosition: { x: 40, y: delta.height - 4 } });
    await expectOrder(page, ['Charlie', 'Bravo', 'Delta', 'Alpha'], 'Alpha dropped after Delta');
    await expectSynced(page);

    // Another browser of the space, and a CLI device, show the same order.
    const other = await openPaired(two.context, hub, 'Order two');
    await expectOrder(other, ['Charlie', 'Bravo', 'Delta', 'Alpha'], 'the second browser');
    await replica.syncUntil(() => JSON.stringify(replica.ls(null).map((t) => t.title))
      === JSON.stringify(['Charlie', 'Bravo', 'Delta', 'Alpha']), 'the same order');
    // A move made on the second browser reaches the first.
    await editButton(other, 'Alpha').focus();
    await other.keyboard.press('Alt+ArrowUp');
    await expectOrder(other, ['Charlie', 'Bravo', 'Alpha', 'Delta'], 'Alpha up on the second browser');
    await expectOrder(page, ['Charlie', 'Bravo', 'Alpha', 'Delta'], 'the first browser, live');
    assert.deepEqual(await titles(page), await titles(other));

    // Projects: Alt+↑/↓ on a project in the sidebar, and a project dropped on another.
    for (const p of ['Errands', 'Home', 'Work']) await createProject(page, p);
    await expectProjects(page, ['Errands', 'Home', 'Work'], 'by name before any is moved');
    await navButton(page, 'Work').focus();
    await page.keyboard.press('Alt+ArrowUp');
    await expectProjects(page, ['Errands', 'Work', 'Home'], 'Work up once');
    await until(async () => (await page.evaluate(() => document.activeElement?.querySelector('.nav-title')?.textContent)) === 'Work',
      'the focus to stay on Work');
    await page.keyboard.press('Alt+ArrowUp');
    await expectProjects(page, ['Work', 'Errands', 'Home'], 'Work up twice');
    await navButton(page, 'Home').dragTo(navButton(page, 'Errands'), { targetPosition: { x: 20, y: 3 } });
    await expectProjects(page, ['Work', 'Home', 'Errands'], 'Home dropped before Errands');
    await expectProjects(other, ['Work', 'Home', 'Errands'], 'the second browser');
    await replica.syncUntil(() => JSON.stringify(replica.tree().projects.map((p) => p.title))
      === JSON.stringify(['Work', 'Home', 'Errands']), 'the same project order');
    // A task dropped on a project still moves it there.
    await openList(page, 'Inbox');
    await taskRow(page, 'Alpha').dragTo(navButton(page, 'Home'));
    await until(async () => !(await titles(page)).includes('Alpha'), 'Alpha to leave the Inbox');
    assertClean('order one', one);
    assertClean('order two', two);
  } finally {
    await one.context.close();
    await two.context.close();
    cleanup(replica.home);
  }
});
