// hearth-wasm's tab side. One tab per store owns the database: it wins a Web Lock, starts the dedicated
// worker (wasm/js/worker.js) and serves every tab's calls. The other tabs forward their calls to it over
// a BroadcastChannel; when the owner closes, the lock passes to another tab, which starts its own worker
// and announces itself, and calls still unanswered are sent again. Creates carry a node id chosen here,
// so a call sent twice (owner gone after writing, before answering) writes the same node, not two.
//
//   const hearth = await connect({ name: 'default' });
//   const id = await hearth.call('createTask', 'Buy milk', {});
//   hearth.subscribe((event) => render());      // after any local, other-tab or remote change
//
// `connect({inPage: true})` (or a browser without module workers) runs the store in the page, in memory.
// `connect()` answers once this tab has asked its worker to open the store (or found that another tab
// owns it); calls made before the store is open wait for it, and `ready()` resolves once it is.

const KEY = (name) => `hearth:${name}`;
const WORKER_URL = new URL('./worker.js', import.meta.url);

// The store's worker, started before it is needed: its scripts and the store's wasm module download
// and compile while the page's own code loads, instead of after it. A page may start it in its HTML
// (`window.hearthStoreWorker = {worker, failed}`, as the app's index.html does); otherwise it starts as
// this module loads. The tab that wins the store's lock adopts it; a tab that does not (another owns
// the store, or it runs the store in the page) lets it go. `failed` is set if its scripts could not
// load before it was adopted.
let early = null;
if (typeof document !== 'undefined' && typeof Worker !== 'undefined') {
  early = globalThis.hearthStoreWorker || null;
  delete globalThis.hearthStoreWorker;
  if (!early) {
    try {
      const worker = new Worker(WORKER_URL, { type: 'module' });
      const started = { worker, failed: false };
      worker.addEventListener('error', () => { started.failed = true; });
      early = started;
    } catch (err) {
      early = null; // no module workers here: connect() finds out again and runs the store in the page
    }
  }
}

/** The early worker, once: null if there is none or it could not load (then a new one is started). */
function adoptEarly() {
  const e = early;
  early = null;
  if (e && e.failed) {
    e.worker.terminate();
    return null;
  }
  return e ? e.worker : null;
}

/** This tab will not own a store now: the early worker goes (one is started if it ever does). */
function dropEarly() {
  if (early) early.worker.terminate();
  early = null;
}

export class HearthError extends Error {
  constructor({ code, message }) {
    super(message);
    this.name = 'HearthError';
    this.code = code;
  }
}

function randomId() {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export async function connect({ name = 'default', inPage = false } = {}) {
  const tab = crypto.randomUUID();
  const channel = new BroadcastChannel(KEY(name));
  const listeners = new Set();
  const pending = new Map(); // id -> {method, args, resolve, reject}
  const warnings = [];
  let worker = null;
  let workerReady = null; // resolves once the owner's store is open
  let workerFailed = null; // {code, message} once the worker could not start: nothing will answer
  let owner = false;
  let failed = false; // this tab won the lock but could not open the store (and let the lock go)
  let nextId = 0;

  const emit = (event) => listeners.forEach((f) => { try { f(event); } catch (e) { console.warn('hearth listener', e); } });
  const settle = (msg) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    msg.ok ? p.resolve(msg.result) : p.reject(new HearthError(msg.error));
  };

  // Owner side: one worker, calls from this tab and from others go through it.
  const workerCalls = new Map();
  let workerSeq = 0;
  function toWorker(method, args) {
    const sent = new Promise((resolve, reject) => {
      if (workerFailed) return reject(workerFailed);
      const id = ++workerSeq;
      workerCalls.set(id, { resolve, reject });
      worker.postMessage({ id, method, args });
    });
    // Keep the identity outside the database current, so a wiped store can be recognised.
    return method === 'pair' ? sent.then(async (r) => { await saveIdentity(); return r; }) : sent;
  }
  // What the page keeps of this device outside the database: `{device, hub, space, token}`, or null.
  const IDENTITY = `${KEY(name)}:identity`;
  const remembered = () => JSON.parse(localStorage.getItem(IDENTITY) || 'null');
  async function saveIdentity() {
    localStorage.setItem(IDENTITY, JSON.stringify(await toWorker('identity', [])));
  }
  // Messages from the owned worker (or the in-page store): change events go to every tab.
  function fromWorker(m) {
    if (m.event) {
      emit(m.event);
      channel.postMessage({ type: 'event', event: m.event });
      return;
    }
    const c = workerCalls.get(m.id);
    workerCalls.delete(m.id);
    if (c) m.ok ? c.resolve(m.result) : c.reject(m.error);
  }

  // A dedicated worker running worker.js, or null where module workers cannot start.
  function startWorker() {
    let w = adoptEarly();
    if (!w) {
      try {
        w = new Worker(WORKER_URL, { type: 'module' });
      } catch (err) {
        return null;
      }
    }
    let answered = false; // the worker has answered once, so its script loaded
    w.onmessage = (e) => {
      answered = true;
      fromWorker(e.data);
    };
    w.onerror = (e) => {
      console.error('hearth worker failed', e.message);
      if (answered) return; // an uncaught error in a running worker: it goes on serving
      // Its script, or a module it imports, did not load (the server unreachable and nothing cached
      // it): nothing will ever answer, so the calls waiting on it fail instead of hanging.
      workerFailed = {
        code: 'internal',
        message: "The store could not start: its worker did not load. Check the connection to the app's server, then reload the page.",
      };
      for (const [id, c] of workerCalls) {
        workerCalls.delete(id);
        c.reject(workerFailed);
      }
    };
    return w;
  }

  async function becomeOwner() {
    owner = true;
    // Set before anything is awaited: calls made from now on wait for it.
    workerReady = (async () => {
      worker = inPage ? null : startWorker();
      if (!worker) {
        // No module workers (or asked not to use one): own the store in this page. OPFS sync access
        // handles need a worker, so the store lives in memory, and the warning says so.
        const { createOwner } = await import('./dispatch.js');
        const handle = createOwner((event) => fromWorker({ event }));
        worker = {
          postMessage: ({ id, method, args }) => handle(method, args).then(
            (result) => fromWorker({ id, ok: true, result }),
            (error) => fromWorker({ id, ok: false, error }),
          ),
        };
      }
      const identity = remembered();
      let status;
      for (let attempt = 0; ; attempt++) {
        try {
          status = await toWorker('open', [name, identity]);
          break;
        } catch (err) {
          // The previous owner's worker may still hold the OPFS handles for a moment.
          if (err.code !== 'storage' || attempt >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      // Not waited for: the first calls need not wait on it.
      saveIdentity().catch((err) => console.warn('hearth: could not keep the identity outside the store:', err));
      if (status.storage.kind !== 'opfs') {
        warnings.push(`Storage: OPFS is unavailable (${status.storage.reason}); this store lives in memory and is lost when the tab closes.`);
      }
      if (status.restored) {
        warnings.push('Storage: the browser removed this store; it is being downloaded again from the hub.');
      }
      if (navigator.storage && navigator.storage.persist) {
        navigator.storage.persist().catch(() => {});
      }
      return status;
    })();
    decided(); // the open is asked (or, in the page, on its way)
    await workerReady;
    channel.postMessage({ type: 'owner', tab });
    // Our own calls sent to the previous owner: now ours to run (those made since this tab became the
    // owner run already).
    for (const [id, p] of pending) if (!p.local) runLocal(id, p);
  }

  function runLocal(id, p) {
    p.local = true;
    workerReady
      .then(() => toWorker(p.method, p.args))
      .then(
        (result) => settle({ id, ok: true, result }),
        (error) => settle({ id, ok: false, error }),
      );
  }

  channel.onmessage = async (e) => {
    const m = e.data;
    if (m.type === 'call' && owner && !failed) {
      let reply;
      try {
        await workerReady;
        reply = { ok: true, result: await toWorker(m.method, m.args) };
      } catch (error) {
        reply = { ok: false, error: { code: error.code || 'internal', message: String(error.message || error) } };
      }
      channel.postMessage({ type: 'reply', to: m.from, id: m.id, ...reply });
    } else if (m.type === 'reply' && m.to === tab) {
      settle(m);
    } else if (m.type === 'owner' && !owner) {
      // A new owner: send again whatever the old one did not answer.
      for (const [id, p] of pending) channel.postMessage({ type: 'call', from: tab, id, method: p.method, args: p.args });
    } else if (m.type === 'event') {
      emit(m.event);
    }
  };

  if (inPage) dropEarly();
  // connect() answers once this tab has asked its worker to open the store, or found that another tab
  // owns it: a page that lays itself out next (a long task) does not hold back the store's start.
  let decided;
  const ownerKnown = new Promise((resolve) => { decided = resolve; });
  // Held until this tab closes.
  const own = () => becomeOwner().then(() => new Promise(() => {}));
  const cannotOpen = (err) => {
    // The store could not be opened: every call of this tab (now and later) fails with the reason.
    // The lock is free again, so another tab may open the store and answer the others' calls.
    failed = true;
    const error = { code: err.code || 'internal', message: String(err.message || err) };
    console.warn('hearth: cannot open the store:', error.message);
    workerReady = Promise.reject(error);
    workerReady.catch(() => {});
    for (const id of [...pending.keys()]) settle({ id, ok: false, error });
    decided();
  };
  navigator.locks.request(KEY(name), { ifAvailable: true }, (lock) => {
    if (lock) return own();
    // Another tab owns the store and serves this one; this tab takes over when that one closes.
    dropEarly();
    decided();
    navigator.locks.request(KEY(name), own).catch(cannotOpen);
    return null;
  }).catch(cannotOpen);

  function call(method, ...args) {
    if ((method === 'createTask' || method === 'createProject') && !(args[1] && args[1].id)) {
      args[1] = { ...(args[1] || {}), id: randomId() };
    }
    const id = `${tab}:${++nextId}`;
    return new Promise((resolve, reject) => {
      const p = { method, args, resolve, reject };
      pending.set(id, p);
      if (owner) runLocal(id, p);
      else channel.postMessage({ type: 'call', from: tab, id, method, args });
    });
  }

  async function storage() {
    const out = { persisted: null, usage: null, quota: null };
    if (navigator.storage) {
      if (navigator.storage.persisted) out.persisted = await navigator.storage.persisted();
      if (navigator.storage.estimate) Object.assign(out, await navigator.storage.estimate());
    }
    return { persisted: out.persisted, usage: out.usage, quota: out.quota };
  }

  await ownerKnown;
  return {
    call,
    storage,
    warnings,
    isOwner: () => owner && !failed,
    // Whether this store was paired the last time it was open in this browser (from what the page
    // keeps outside the database), known before the store opens: a page can lay itself out for it.
    pairedBefore: () => {
      try {
        return !!(remembered() || {}).token;
      } catch (err) {
        return false;
      }
    },
    // Resolves once some tab owns the store and answers.
    ready: () => call('status'),
    subscribe(f) { listeners.add(f); return () => listeners.delete(f); },
  };
}
