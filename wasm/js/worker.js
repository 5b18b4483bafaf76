// hearth-wasm's dedicated worker: loads the module and owns the store (OPFS through the sahpool VFS,
// which needs a dedicated worker). Each message {id, method, args} runs the Client method of that name;
// the answer is {id, ok, result} or {id, ok: false, error: {code, message}}. Change events go to the
// tab as {event}.
import { createOwner } from './dispatch.js';
// dispatch.js's own import, named here too so that both are fetched at once, not one after the other.
import './pkg/hearth_wasm.js';

const handle = createOwner((event) => self.postMessage({ event }));
self.onmessage = (e) => {
  const { id, method, args } = e.data;
  handle(method, args).then(
    (result) => self.postMessage({ id, ok: true, result }),
    (error) => self.postMessage({ id, ok: false, error }),
  );
};
