// Labels and comments in the app, shared with a CLI device through a real hub: a label given in the
// task's editor shows as a chip on its row and reaches the CLI (`hearth ls --label`); a comment written
// on the CLI shows in the app's editor with the CLI device's name, and one written in the app reaches
// the CLI (`hearth comments`). Taking a label off removes its chip. Screenshots of the editor at desktop
// and phone size land in artifacts/screenshots/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useHubAndBrowser, cliReplica, newContext, assertClean, openPaired, addTask, openEditor, taskRow,
  expectText, expectCount, expectSynced, screenshot, until,
} from './helpers.mjs';

let hub;
let browser;
useHubAndBrowser((h, b) => { hub = h; browser = b; });

const PHONE = { viewport: { width: 360, height: 640 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, reducedMotion: 'reduce' };
const DESKTOP = { viewport: { width: 1280, height: 800 } };

for (const [size, options] of [['desktop', DESKTOP], ['phone', PHONE]]) {
  test(`labels and comments go both ways between the app and the CLI (${size})`, async () => {
    const watched = await newContext(browser, options);
    const page = await openPaired(watched.context, hub, `App ${size}`);
    const replica = cliReplica(hub, `Laptop ${size}`);
    const title = `Paint the fence ${size}`;
    await addTask(page, title);

    // A label, typed in the editor: a chip on the row, and on the CLI.
    const editor = await openEditor(page, title);
    const labelInput = editor.getByRole('combobox', { name: 'Add a label' });
    await labelInput.fill('outside');
    await labelInput.press('Enter');
    await taskRow(page, title).locator('.task-meta .chip.label', { hasText: '@outside' }).waitFor();
    await labelInput.fill(`weekend ${size}`);
    await editor.getByRole('button', { name: 'Add', exact: true }).click();
    await expectCount(editor.getByRole('group', { name: 'Labels' }).locator('li.chip'), 2);
    await expectSynced(page);
    const task = await replica.syncUntil(
      () => JSON.parse(replica.run('ls', '--label', 'outside', '--json')).find((t) => t.title === title),
      `“${title}” with its label`,
    );
    assert.deepEqual(task.labels, ['outside', `weekend ${size}`]);

    // A comment from the CLI shows in the app, with the device's name.
    replica.run('comment', task.id, 'White or green?');
    replica.sync();
    const list = editor.getByRole('region', { name: 'Comments' }).locator('li.comment');
    await expectCount(list, 1, 20000);
    await expectText(list.first().locator('.comment-text'), 'White or green?');
    await expectText(list.first().locator('.comment-meta'), new RegExp(`^Laptop ${size} · `), 20000);
    await taskRow(page, title).locator('.task-meta .chip.comments', { hasText: '1 comment' }).waitFor();

    // A comment from the app reaches the CLI.
    const box = editor.getByRole('textbox', { name: 'Add a comment' });
    await box.fill('Green, like last time.\nTwo coats.');
    await editor.getByRole('button', { name: 'Comment', exact: true }).click();
    await expectCount(list, 2);
    await expectText(list.nth(1).locator('.comment-meta'), /^this device · /);
    await until(async () => (await box.inputValue()) === '', 'the comment box to be emptied');
    await expectSynced(page);
    const comments = await replica.syncUntil(() => {
      const c = JSON.parse(replica.run('comments', task.id, '--json'));
      return c.length === 2 && c;
    }, 'the app’s comment');
    assert.deepEqual(comments.map((c) => c.text), ['White or green?', 'Green, like last time.\nTwo coats.']);
    await screenshot(page, `${size}-labels-comments.png`);

    // Taking a label off removes its chip here and the label on the CLI.
    await editor.getByRole('button', { name: `Remove label weekend ${size}` }).click();
    await expectCount(editor.getByRole('group', { name: 'Labels' }).locator('li.chip'), 1);
    await expectSynced(page);
    await replica.syncUntil(
      () => JSON.parse(replica.run('ls', '--json')).find((t) => t.id === task.id && t.labels.length === 1),
      'the label taken off',
    );
    assertClean(`labels ${size}`, watched);
    await watched.context.close();
  });
}
