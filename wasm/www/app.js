// The test page: connects to a store (?store=NAME, default "default"; ?in-page runs it without a worker), exposes it as `window.hearth`
// (`await window.hearthReady` first), keeps every change event in `window.hearthEvents`, and renders
// the inbox so that a human can click around too.
import { connect } from './hearth.js';

const params = new URLSearchParams(location.search);
const name = params.get('store') || 'default';
const inPage = params.has('in-page');
window.hearthEvents = [];

async function render(hearth) {
  const status = await hearth.call('status');
  document.getElementById('status').textContent =
    `${status.storage.kind}, device ${status.device}, sync ${status.sync}, ${status.unsent} unsent` +
    (hearth.isOwner() ? ' (this tab owns the database)' : '');
  document.getElementById('warnings').textContent = hearth.warnings.join(' ');
  const list = document.getElementById('tasks');
  list.replaceChildren(...(await hearth.call('tasks', null)).map((t) => {
    const li = document.createElement('li');
    li.textContent = `${t.status === 'done' ? '☑' : '☐'} ${t.title}`;
    return li;
  }));
}

window.hearthReady = (async () => {
  const hearth = await connect({ name, inPage });
  window.hearth = hearth;
  await hearth.ready();
  hearth.subscribe((event) => {
    window.hearthEvents.push(event);
    render(hearth).catch((e) => console.warn('render', e));
  });
  document.getElementById('add').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = document.getElementById('title');
    if (input.value) await hearth.call('createTask', input.value, {});
    input.value = '';
  });
  await render(hearth);
  return hearth;
})();
