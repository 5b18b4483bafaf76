// hearth-wasm's dedicated worker: loads the module, opens the store (OPFS through the sahpool VFS, which
// needs a dedicated worker), and serves the owner tab's calls: each message {id, method, args} runs the
// Client method of that name; the answer is {id, ok, result} or {id, ok: false, error: {code, message}}.
// Change events go to the tab as {event}.
import init, { Client } from './pkg/hearth_wasm.js';

let client = null;
const ready = init();

function plainError(err) {
  return { code: (err && err.code) || 'internal', message: String((err && err.message) || err) };
}

async function handle(method, args) {
  await ready;
  if (method === 'open') {
    if (client) return client.status();
    client = await Client.open(args[0], args[1] ?? null);
    client.subscribe((event) => self.postMessage({ event }));
    return client.status();
  }
  if (method === 'benchApply') return Client.benchApply(args[0]);
  if (!client) throw { code: 'not_open', message: 'the store is not open yet' };
  if (method === 'close') {
    client.close();
    return null;
  }
  const fn = Client.prototype[method];
  if (typeof fn !== 'function' || method === 'constructor' || method === 'free' || method.startsWith('__')) {
    throw { code: 'bad_argument', message: `no such method: ${method}` };
  }
  return await fn.apply(client, args);
}

// Calls run one at a time, in arrival order: a write is never overtaken by a later call.
let queue = Promise.resolve();
self.onmessage = (e) => {
  const { id, method, args } = e.data;
  queue = queue.then(async () => {
    try {
      self.postMessage({ id, ok: true, result: await handle(method, args || []) });
    } catch (err) {
      self.postMessage({ id, ok: false, error: plainError(err) });
    }
  });
};
