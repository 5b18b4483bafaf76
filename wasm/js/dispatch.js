// Runs Client calls by name: the body of the database owner, shared by worker.js (the normal case) and
// hearth.js's in-page fallback (where module workers are unavailable; the store then lives in memory).
// `handle(method, args)` resolves to the result or rejects with {code, message}.
import init, { Client } from './pkg/hearth_wasm.js';

export function createOwner(onEvent) {
  const ready = init();
  let client = null;

  async function run(method, args) {
    await ready;
    if (method === 'open') {
      if (client) return client.status();
      client = await Client.open(args[0], args[1] ?? null);
      client.subscribe(onEvent);
      return client.status();
    }
    if (method === 'benchApply') {
      if (!Client.benchApply) {
        throw { code: 'bad_argument', message: 'this build of the store has no benchmark: `cargo xtask bench wasm` builds one with it' };
      }
      return Client.benchApply(args[0]);
    }
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
  return function handle(method, args) {
    const result = queue.then(() => run(method, args || []));
    queue = result.catch(() => {});
    return result.catch((err) => {
      throw { code: (err && err.code) || 'internal', message: String((err && err.message) || err) };
    });
  };
}
