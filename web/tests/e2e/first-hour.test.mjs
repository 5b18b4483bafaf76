// A new person's first hour: quick add forgets the last task's due date and priority, closing the editor
// keeps what was typed, Today shows what is due today (the rest is Upcoming), keyboard shortcuts, and on
// a phone opening a task does not pop up the keyboard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useHubAndBrowser, cliReplica, newContext, assertClean, cleanup, openPaired, createProject, addTask, taskRow,
  taskList, openEditor, editButton, expectNavCount, expectText, expectCount, expectSynced, heading, openList, until,
  localDate, startHub, pill, addSubProject, sidebar, projectRow, screenshot, finishTask,
} from './helpers.mjs';

let hub;
let browser;
useHubAndBrowser((h, b) => { hub = h; browser = b; });

const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 800 }, isMobile: true, hasTouch: true };

/** The focused element's label (or tag). */
const focusedLabel = (page) => page.evaluate(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  return el.getAttribute('aria-label') || el.labels?.[0]?.textContent.trim() || el.tagName.toLowerCase();
});

test('Today and its count agree (overdue and due today); later tasks are in Upcoming', async () => {
  const watched = await newContext(browser, DESKTOP);
  try {
    const page = await openPaired(watched.context, hub, 'Today browser');
    await createProject(page, 'Dates');
    await addTask(page, 'Was due yesterday', { due: localDate(-1) });
    await addTask(page, 'Due today', { due: localDate(0) });
    await addTask(page, 'Due in three days', { due: localDate(3) });
    await addTask(page, 'Due next month', { due: localDate(30) });
    await addTask(page, 'No date');

    await expectNavCount(page, 'Today', 2);
    await expectNavCount(page, 'Upcoming', 2);
    await openList(page, 'Today');
    await expectCount(taskList(page).locator('li.task'), 2);
    assert.deepEqual(await taskList(page).locator('li.task .task-title').allInnerTexts(), ['Was due yesterday', 'Due today']);
    assert.deepEqual(await taskList(page).locator('li.group h2').allTextContents(), ['Overdue', 'Due today']);

    await openList(page, 'Upcoming');
    assert.equal(await page.locator('nav .nav-item[aria-current=page] .nav-title').innerText(), 'Upcoming');
    await expectCount(taskList(page).locator('li.task'), 2);
    assert.deepEqual(await taskList(page).locator('li.task .task-title').allInnerTexts(), ['Due in three days', 'Due next month']);
    // The project chip says where each lives.
    await expectText(taskRow(page, 'Due in three days').locator('.chip.project'), 'Dates');

    // Completing today's task: the count and the list agree again.
    await openList(page, 'Today');
    await finishTask(page, 'Due today');
    await expectNavCount(page, 'Today', 1);
    await expectCount(taskList(page).locator('li.task:not(.done)'), 1);
  } finally {
    await watched.context.close();
  }
  assertClean('Today and Upcoming', watched);
});

test('quick add resets the due date and priority after each task', async () => {
  const watched = await newContext(browser, DESKTOP);
  const replica = cliReplica(hub, 'quick-cli');
  try {
    const page = await openPaired(watched.context, hub, 'Quick browser');
    await createProject(page, 'Quick');
    const due = page.getByLabel('New task due date');
    const prio = page.getByRole('combobox', { name: 'New task priority' });
    await addTask(page, 'Urgent one', { due: '2031-05-06', priority: 1 });
    // The fields are back to empty for the next task, and the focus stays in the title.
    await until(async () => (await due.inputValue()) === '' && (await prio.inputValue()) === '', 'the fields to reset');
    assert.equal(await focusedLabel(page), 'New task title');
    await addTask(page, 'Ordinary one');
    await expectText(taskRow(page, 'Urgent one').locator('.chip.prio'), 'P1');
    await expectCount(taskRow(page, 'Ordinary one').locator('.chip'), 0);

    // In Today, the date goes back to today, not to the last one typed.
    await openList(page, 'Today');
    assert.equal(await due.inputValue(), localDate(0));
    await due.fill(localDate(-1));
    await prio.selectOption('2');
    await addTask(page, 'Yesterday P2');
    await until(async () => (await due.inputValue()) === localDate(0) && (await prio.inputValue()) === '', 'Today\'s fields to reset');
    await addTask(page, 'Plain today');
    await expectCount(taskRow(page, 'Plain today').locator('.chip.prio'), 0);

    await expectSynced(page);
    const rows = await replica.syncUntil(() => {
      const ls = replica.ls('Quick');
      return ls.length === 2 && ls;
    }, 'the quick adds');
    assert.deepEqual(rows.map((t) => [t.title, t.due, t.priority]).sort(),
      [['Ordinary one', null, null], ['Urgent one', '2031-05-06', 1]]);
    const inbox = replica.ls(null).map((t) => [t.title, t.due, t.priority]).sort();
    assert.deepEqual(inbox, [['Plain today', localDate(0), null], ['Yesterday P2', localDate(-1), 2]]);
  } finally {
    await watched.context.close();
    cleanup(replica.home);
  }
  assertClean('quick add resets', watched);
});

test('closing the editor with Escape or Close saves the typed title and notes', async () => {
  const watched = await newContext(browser, DESKTOP);
  const replica = cliReplica(hub, 'close-cli');
  try {
    const page = await openPaired(watched.context, hub, 'Close browser');
    await createProject(page, 'Drafts');
    await addTask(page, 'First draft');
    await addTask(page, 'Second draft');

    // Escape right after typing notes and a new title (neither field was left): both are saved.
    let editor = await openEditor(page, 'First draft');
    await editor.getByLabel('Notes').fill('Typed, then Escape');
    await editor.getByLabel('Title').fill('First, renamed');
    await page.keyboard.press('Escape');
    const first = taskRow(page, 'First, renamed');
    await first.waitFor();
    await expectCount(first.locator('.editor'), 0);
    await expectText(first.locator('.chip.notes'), 'Notes');
    editor = await openEditor(page, 'First, renamed');
    assert.equal(await editor.getByLabel('Notes').inputValue(), 'Typed, then Escape');
    await page.keyboard.press('Escape');
    await expectCount(first.locator('.editor'), 0);

    // The Close button, with the notes still focused.
    editor = await openEditor(page, 'Second draft');
    await editor.getByLabel('Notes').fill('Typed, then Close');
    await editor.getByRole('button', { name: 'Close' }).click();
    const second = taskRow(page, 'Second draft');
    await expectCount(second.locator('.editor'), 0);
    await expectText(second.locator('.chip.notes'), 'Notes');

    // A title emptied and closed keeps the old title (a task is never made blank by accident).
    editor = await openEditor(page, 'Second draft');
    await editor.getByLabel('Title').fill('');
    await page.keyboard.press('Escape');
    await expectCount(second.locator('.editor'), 0);
    await expectText(second.locator('.task-title'), 'Second draft');

    await expectSynced(page);
    const tasks = await replica.syncUntil(() => {
      const ls = replica.ls('Drafts');
      return ls.filter((t) => t.notes).length === 2 && ls;
    }, 'the saved drafts');
    assert.deepEqual(tasks.map((t) => [t.title, t.notes]).sort(),
      [['First, renamed', 'Typed, then Escape'], ['Second draft', 'Typed, then Close']]);
  } finally {
    await watched.context.close();
    cleanup(replica.home);
  }
  assertClean('closing the editor saves', watched);
});

test('keyboard shortcuts: q and n add, / searches, ? lists them; not while typing', async () => {
  const watched = await newContext(browser, DESKTOP);
  try {
    const page = await openPaired(watched.context, hub, 'Shortcut browser');
    await createProject(page, 'Shortcuts');
    await addTask(page, 'Existing');
    const quick = page.getByRole('textbox', { name: 'New task title' });
    const search = page.getByRole('searchbox', { name: 'Search tasks and projects' });
    const blur = () => page.evaluate(() => document.activeElement?.blur());

    await blur();
    await page.keyboard.press('q');
    assert.equal(await focusedLabel(page), 'New task title');
    assert.equal(await quick.inputValue(), '', 'the q is not typed into the field');
    await page.keyboard.type('Added with q');
    await page.keyboard.press('Enter');
    await taskRow(page, 'Added with q').waitFor();

    await blur();
    await page.keyboard.press('n');
    assert.equal(await focusedLabel(page), 'New task title');
    assert.equal(await quick.inputValue(), '');

    // While typing, the keys are text.
    await page.keyboard.type('n/?q');
    assert.equal(await quick.inputValue(), 'n/?q');
    assert.equal(await focusedLabel(page), 'New task title');
    await quick.fill('');

    // From a focused task (a button), / goes to search.
    await editButton(page, 'Existing').focus();
    await page.keyboard.press('/');
    assert.equal(await focusedLabel(page), 'Search tasks and projects');
    assert.equal(await search.inputValue(), '');
    await page.keyboard.type('Exist');
    await expectText(heading(page), 'Search');
    await search.fill('');
    await expectText(heading(page), 'Inbox');

    // ? opens the list of shortcuts; Escape closes it and the focus goes back.
    await openList(page, 'Shortcuts');
    await editButton(page, 'Added with q').waitFor();
    await editButton(page, 'Existing').focus();
    await page.keyboard.press('?');
    const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await dialog.waitFor();
    await expectText(dialog.locator('dt').first(), 'q');
    assert.deepEqual(await dialog.locator('dt').allInnerTexts(), ['q', '/', 'Alt+↑ / Alt+↓', 'Escape', '?']);
    // Inside the dialog the shortcuts do nothing.
    await page.keyboard.press('q');
    assert.ok(await dialog.isVisible());
    await page.keyboard.press('Escape');
    await until(async () => !(await dialog.isVisible()), 'the dialog to close');
    assert.match(await focusedLabel(page), /^button|Existing/);
    assert.equal(await page.evaluate(() => document.activeElement?.querySelector('.task-title')?.textContent), 'Existing');
    // The Close button closes it too.
    await page.keyboard.press('?');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Close keyboard shortcuts' }).click();
    await until(async () => !(await dialog.isVisible()), 'the dialog to close');
  } finally {
    await watched.context.close();
  }
  assertClean('shortcuts', watched);
});

test('on a phone, opening a task does not focus its title (no keyboard popping up)', async () => {
  const phone = await newContext(browser, PHONE);
  const desktop = await newContext(browser, DESKTOP);
  try {
    const page = await openPaired(phone.context, hub, 'Phone browser');
    await openList(page, 'Inbox');
    await addTask(page, 'Read on the phone');
    await editButton(page, 'Read on the phone').click();
    const editor = taskRow(page, 'Read on the phone').locator('.editor');
    await editor.waitFor();
    await editor.getByLabel('Title').waitFor();
    assert.notEqual(await focusedLabel(page), 'Title', 'the title is not focused');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('.editor')), null, 'nothing in the editor is focused');

    // On a desktop the title still takes the focus, ready to type.
    const wide = await openPaired(desktop.context, hub, 'Wide browser');
    await openList(wide, 'Inbox');
    await editButton(wide, 'Read on the phone').click();
    await taskRow(wide, 'Read on the phone').locator('.editor').waitFor();
    await until(async () => (await focusedLabel(wide)) === 'Title', 'the title to be focused');
  } finally {
    await phone.context.close();
    await desktop.context.close();
  }
  assertClean('phone editor', phone);
  assertClean('desktop editor', desktop);
});

test('a hub that stops answering is "Hub unreachable — changes are kept", never the browser\'s TypeError', async () => {
  const own = await startHub();
  const watched = await newContext(browser, DESKTOP);
  try {
    const page = await openPaired(watched.context, own, 'Unreachable browser');
    await openList(page, 'Inbox');
    await addTask(page, 'Before the hub stopped');
    await expectSynced(page);
    const errorsBefore = watched.problems.length;

    await own.stop();
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expectText(pill(page), /^Hub unreachable( · \d+ unsent)?$/, 20000);
    await addTask(page, 'While the hub is down');
    await expectText(pill(page), /^Hub unreachable · [1-9]\d* unsent$/, 20000);
    // (Between retries the store may say "syncing" for a moment: poll.)
    await until(async () => /^Hub unreachable — changes are kept/.test(await page.locator('.sync-pill').getAttribute('title')), 'the pill\'s tooltip');
    const banner = page.getByRole('status').filter({ hasText: 'Hub unreachable — changes are kept.' });
    await banner.waitFor();
    assert.equal(await page.getByRole('status').filter({ hasText: "You're offline." }).count(), 0);

    // The sync details say it in words too.
    await page.locator('.sync-pill').click();
    const panel = page.getByRole('dialog', { name: 'Sync details' });
    await panel.waitFor();
    await expectText(panel.locator('p.muted').filter({ hasText: 'Hub unreachable' }).first(), /^Hub unreachable — changes are kept\./);
    const seen = await page.evaluate(() => document.body.innerText
      + [...document.querySelectorAll('[title], [aria-label]')].map((e) => `${e.title} ${e.getAttribute('aria-label')}`).join(' '));
    assert.doesNotMatch(seen, /TypeError|Failed to fetch|NetworkError/);
    assert.doesNotMatch(seen, /You're offline/);
    await page.keyboard.press('Escape');

    // Failed requests to the stopped hub are expected in the console; nothing else is.
    const failed = watched.problems.splice(errorsBefore);
    const unexpected = failed.filter((p) => !/ERR_CONNECTION_REFUSED|Failed to fetch|Failed to load resource/.test(p));
    assert.deepEqual(unexpected, []);
  } finally {
    await watched.context.close();
    await own.stop();
    cleanup(own.data);
  }
  assertClean('hub unreachable', watched);
});

test('finished tasks hide behind "Show completed"; the Logbook lists them by when they were done and reopens them', async () => {
  const watched = await newContext(browser, DESKTOP);
  const replica = cliReplica(hub, 'log-cli');
  try {
    const page = await openPaired(watched.context, hub, 'Logbook browser');
    await createProject(page, 'Log');
    await addTask(page, 'Finish me first');
    await addTask(page, 'Finish me second');
    await addTask(page, 'Stay open');
    await finishTask(page, 'Finish me first');
    await expectCount(taskRow(page, 'Finish me first'), 0);
    await finishTask(page, 'Finish me second');
    await expectCount(taskRow(page, 'Finish me second'), 0);
    await page.getByRole('button', { name: 'Show completed (2)' }).waitFor();
    await expectCount(taskList(page).locator('li.task'), 1);
    await expectNavCount(page, 'Log', 1);

    await openList(page, 'Logbook');
    const titles = page.locator('main ul.log li .task-title');
    await until(async () => (await titles.count()) >= 2, 'the finished tasks');
    assert.deepEqual((await titles.allTextContents()).slice(0, 2), ['Finish me second', 'Finish me first'], 'most recently finished first');
    const today = page.getByRole('region', { name: 'Today' });
    const first = today.locator('li').filter({ hasText: 'Finish me first' });
    await expectText(first.locator('.chip.status'), 'Done');
    await expectText(first.locator('.chip.project'), 'Log');
    await expectText(first.locator('.chip.when'), /^\d\d:\d\d$/);

    await page.getByRole('button', { name: 'Reopen “Finish me first”' }).click();
    await page.locator('.toast').filter({ hasText: 'Reopened “Finish me first”.' }).waitFor();
    await expectCount(page.locator('main ul.log li').filter({ hasText: 'Finish me first' }), 0);
    await expectNavCount(page, 'Log', 2);
    await openList(page, 'Log');
    await taskRow(page, 'Finish me first').waitFor();
    assert.equal(await page.getByRole('checkbox', { name: 'Done: Finish me first', exact: true }).isChecked(), false);
    await page.getByRole('button', { name: 'Show completed (1)' }).waitFor();

    await expectSynced(page);
    const tasks = await replica.syncUntil(() => {
      const ls = replica.ls('Log', { all: true });
      return ls.length === 3 && ls.filter((t) => t.status === 'open').length === 2 && ls;
    }, 'the reopened task');
    assert.deepEqual(tasks.map((t) => [t.title, t.status]).sort(),
      [['Finish me first', 'open'], ['Finish me second', 'done'], ['Stay open', 'open']]);
  } finally {
    await watched.context.close();
    cleanup(replica.home);
  }
  assertClean('logbook', watched);
});

test('Recently deleted lists what was deleted; Restore puts it back where it was', async () => {
  const watched = await newContext(browser, DESKTOP);
  const replica = cliReplica(hub, 'trash-cli');
  try {
    const page = await openPaired(watched.context, hub, 'Trash browser');
    await createProject(page, 'Bin');
    await addTask(page, 'Throw away');
    await addTask(page, 'Keep this');
    const editor = await openEditor(page, 'Throw away');
    await editor.getByRole('button', { name: 'Delete task' }).click();
    await expectCount(taskRow(page, 'Throw away'), 0);
    await expectNavCount(page, 'Bin', 1);

    await openList(page, 'Recently deleted');
    const deleted = page.getByRole('list', { name: 'Deleted items' });
    const row = deleted.locator('li').filter({ hasText: 'Throw away' });
    await row.waitFor();
    assert.equal(await deleted.locator('li .task-title').first().textContent(), 'Throw away', 'most recently deleted first');
    await expectText(row.locator('.chip.kind'), 'Task');
    await expectText(row.locator('.chip.when'), /^Deleted Today \d\d:\d\d$/);

    await page.getByRole('button', { name: 'Restore “Throw away”' }).click();
    await page.locator('.toast').filter({ hasText: 'Restored “Throw away”.' }).waitFor();
    await expectCount(row, 0);
    await expectNavCount(page, 'Bin', 2);
    await openList(page, 'Bin');
    await taskRow(page, 'Throw away').waitFor();

    await expectSynced(page);
    const tasks = await replica.syncUntil(() => {
      const ls = replica.ls('Bin');
      return ls.length === 2 && ls;
    }, 'the restored task');
    assert.deepEqual(tasks.map((t) => t.title).sort(), ['Keep this', 'Throw away']);
  } finally {
    await watched.context.close();
    cleanup(replica.home);
  }
  assertClean('recently deleted', watched);
});

test('due dates are typed as in the CLI (fri, tomorrow, +3, 2026-12-24); a wrong one is said next to the field and kept', async () => {
  const watched = await newContext(browser, DESKTOP);
  const replica = cliReplica(hub, 'dates-cli');
  try {
    const page = await openPaired(watched.context, hub, 'Dates browser');
    await createProject(page, 'Typed dates');
    const due = page.getByLabel('New task due date');
    const title = page.getByRole('textbox', { name: 'New task title' });
    await addTask(page, 'In three days', { due: '+3' });
    await addTask(page, 'Tomorrow then', { due: 'tomorrow' });
    await addTask(page, 'On Christmas Eve', { due: '2026-12-24' });
    await addTask(page, 'On a Friday', { due: 'fri' });
    // The picker is still there, and sets the same field.
    await page.getByLabel('Pick the new task\'s due date').fill('2030-01-02');
    assert.equal(await due.inputValue(), '2030-01-02');
    await due.fill('');

    // Not a date: the parser's sentence beside the field, the title and the date kept, nothing added.
    await due.fill('soon');
    await title.fill('Some day');
    await title.press('Enter');
    const error = page.locator('.quick-error');
    await expectText(error, /"soon" is not a date: use YYYY-MM-DD, today, tomorrow/);
    assert.equal(await due.getAttribute('aria-invalid'), 'true');
    assert.equal(await due.getAttribute('aria-describedby'), await error.getAttribute('id'));
    assert.equal(await title.inputValue(), 'Some day');
    assert.equal(await due.inputValue(), 'soon');
    await expectCount(taskRow(page, 'Some day'), 0);
    // Fixing the date adds it.
    await due.fill('+1');
    assert.equal(await error.isVisible(), false, 'the message goes when the date changes');
    await title.press('Enter');
    await taskRow(page, 'Some day').waitFor();
    assert.equal(await title.inputValue(), '');

    // The editor reads typed dates too.
    const editor = await openEditor(page, 'On Christmas Eve');
    const field = editor.getByLabel('Due', { exact: true });
    assert.equal(await field.inputValue(), '2026-12-24');
    await field.fill('nope');
    await field.press('Tab');
    const fieldError = editor.locator('.field-error');
    await expectText(fieldError, /"nope" is not a date/);
    assert.equal(await field.inputValue(), 'nope', 'the typed text stays');
    // Escape does not close over an unreadable date (nothing is dropped silently).
    await field.focus();
    await page.keyboard.press('Escape');
    assert.equal(await editor.isVisible(), true);
    await field.fill('+2');
    await page.keyboard.press('Escape');
    await expectCount(taskRow(page, 'On Christmas Eve').locator('.editor'), 0);
    await expectText(taskRow(page, 'On Christmas Eve').locator('.chip.due'), /\S/);

    await expectSynced(page);
    const tasks = await replica.syncUntil(() => {
      const ls = replica.ls('Typed dates');
      return ls.length === 5 && ls.find((t) => t.title === 'On Christmas Eve')?.due === localDate(2) && ls;
    }, 'the typed dates');
    const byTitle = Object.fromEntries(tasks.map((t) => [t.title, t.due]));
    assert.equal(byTitle['In three days'], localDate(3));
    assert.equal(byTitle['Tomorrow then'], localDate(1));
    assert.equal(byTitle['Some day'], localDate(1));
    const fri = new Date(`${byTitle['On a Friday']}T12:00:00`);
    assert.equal(fri.getDay(), 5, 'fri is a Friday');
    assert.ok(byTitle['On a Friday'] >= localDate(0) && byTitle['On a Friday'] <= localDate(7));
  } finally {
    await watched.context.close();
    cleanup(replica.home);
  }
  assertClean('typed dates', watched);
});

test('search: results show due, priority, done and "in notes"; Tab goes into them; a result opens its task, focused', async () => {
  const watched = await newContext(browser, DESKTOP);
  try {
    const page = await openPaired(watched.context, hub, 'Search browser');
    await createProject(page, 'Findings');
    await addTask(page, 'Zebra crossing', { due: '2031-07-08', priority: 2 });
    await addTask(page, 'Finished zebra');
    await addTask(page, 'Plain task');
    const editor = await openEditor(page, 'Plain task');
    await editor.getByLabel('Notes').fill('mentions a zebra here');
    await editor.getByRole('button', { name: 'Close' }).click();
    await expectText(taskRow(page, 'Plain task').locator('.chip.notes'), 'Notes');
    await finishTask(page, 'Finished zebra');
    await expectCount(taskRow(page, 'Finished zebra'), 0);
    await openList(page, 'Inbox');

    const search = page.getByRole('searchbox', { name: 'Search tasks and projects' });
    await search.fill('zebra');
    await expectText(heading(page), 'Search');
    const results = page.getByRole('list', { name: 'Results' });
    const hit = (title) => results.getByRole('button').filter({ has: page.locator('.task-title', { hasText: title }) });
    await expectCount(results.getByRole('button'), 3);
    await expectText(hit('Zebra crossing').locator('.chip.prio'), 'P2');
    await expectText(hit('Zebra crossing').locator('.chip.due'), /8/);
    await expectText(hit('Zebra crossing').locator('.chip.project'), 'Findings');
    await expectText(hit('Finished zebra').locator('.chip.status'), 'Done');
    await expectText(hit('Plain task').locator('.chip.notes'), 'in notes');
    await expectCount(hit('Zebra crossing').locator('.chip.notes'), 0);

    // Tab from the search box goes into the results.
    await search.focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('ul')?.getAttribute('aria-label')), 'Results');

    // A result opens its task in its project, open and focused.
    await hit('Zebra crossing').click();
    await expectText(heading(page), 'Findings');
    const row = taskRow(page, 'Zebra crossing');
    await row.locator('.editor').waitFor();
    await until(() => page.evaluate(() => document.activeElement?.closest('li.task')?.querySelector('.task-title')?.textContent === 'Zebra crossing'), 'the focus on the task');

    // A finished one shows with the finished tasks.
    await search.fill('finished zebra');
    await hit('Finished zebra').click();
    await expectText(heading(page), 'Findings');
    await taskRow(page, 'Finished zebra').locator('.editor').waitFor();
    await page.getByRole('button', { name: 'Hide completed (1)' }).waitFor();
  } finally {
    await watched.context.close();
  }
  assertClean('search', watched);
});

test('a project name that is already taken is warned about but allowed; the sidebar tells the two apart', async () => {
  const watched = await newContext(browser, DESKTOP);
  try {
    const page = await openPaired(watched.context, hub, 'Names browser');
    await createProject(page, 'Errands');
    await createProject(page, 'Family');
    await addSubProject(page, 'errands');
    await page.locator('.toast').filter({ hasText: 'Another project has the same name' }).waitFor();

    await sidebar(page).getByRole('button', { name: 'New project' }).click();
    const input = page.getByRole('textbox', { name: 'Project name' });
    await input.fill('Family');
    const note = page.locator('.warn-note');
    await expectText(note, 'A project called “Family” already exists. You can still add this one.');
    assert.equal(await input.getAttribute('aria-describedby'), await note.getAttribute('id'));
    await input.fill('Family friends');
    assert.equal(await note.isVisible(), false);
    await input.press('Escape');

    // Both Errands rows say where they live; Family (unique) does not.
    const errands = sidebar(page).locator('li.tree-item').filter({ has: page.locator('.nav-title', { hasText: /^errands$/i }) });
    await expectCount(errands, 2);
    assert.deepEqual((await errands.locator('.nav-parent').allTextContents()).sort(), ['in Family', 'top level']);
    await expectCount(projectRow(page, 'Family').locator('.nav-parent'), 0);
    await screenshot(page, 'desktop-same-names.png');
  } finally {
    await watched.context.close();
  }
  assertClean('same names', watched);
});
