// Hearth's service worker: keeps the app shell (every file of this build) in a versioned cache so the app
// opens and works with no network, and hands over to a new build only when the page says so.
//
// Stamped at build time (`cargo xtask web-post-build`, Trunk's post_build hook): the two placeholders
// below become this build's version (16 hex digits of SHA-256 over the bundle) and the list of every file
// in it. A new build therefore changes this file's bytes, which is what makes the browser install it.
//
// Update flow (the page implements its half):
//   1. The browser finds a changed sw.js (the hub serves it no-cache) and installs it next to the running
//      one: it precaches the new build into its own cache, then waits.
//   2. The page sees `registration.waiting` (or `updatefound` → state "installed") while it is controlled,
//      and offers the update. When the user accepts, it posts {type: 'skip-waiting'}.
//   3. The new worker activates, drops the old caches and claims the pages; the page reloads on
//      `controllerchange`.
// {type: 'version'} asks the worker for its version: it answers {type: 'version', version}.

const VERSION = '__HEARTH_VERSION__';
const ASSETS = ['__HEARTH_ASSETS__'];

const CACHE = `hearth-${VERSION}`;
// The scope's path ('/' when the hub serves the app at its root) and the app's single page.
const BASE = new URL('./', self.location.href).pathname;
const INDEX = new URL('index.html', self.location.href).href;

// The hub's own routes: always the network, never the cache.
function networkOnly(path) {
  const rel = path.slice(BASE.length);
  return /^(v1|admin|healthz)(\/|$)/.test(rel);
}

self.addEventListener('install', (event) => {
  // No skipWaiting here: with an older worker in charge of open pages, the page decides when to switch
  // (step 2 above). On the first install there is no older worker, so this one activates at once anyway.
  event.waitUntil(
    caches
      .open(CACHE)
      // 'reload' bypasses the HTTP cache, so a file from an older build cannot slip into this cache.
      .then((cache) => cache.addAll(ASSETS.map((url) => new Request(url, { cache: 'reload' })))),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names.filter((n) => n.startsWith('hearth-') && n !== CACHE).map((n) => caches.delete(n)),
      );
      // Take the pages that opened before any worker was installed, so they work offline at once.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith(BASE) || networkOnly(url.pathname)) {
    return; // the browser fetches it as if there were no worker
  }
  // App routes (`/projects/42`, no dot in the last segment, like the hub's fallback) are the single-page
  // app: answer them with the cached index. Everything else: this build's cached file, else the network.
  const last = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  const appRoute = request.mode === 'navigate' && !last.includes('.');
  event.respondWith(
    caches
      .open(CACHE)
      .then((cache) => cache.match(appRoute ? INDEX : request))
      .then((cached) => cached || fetch(request)),
  );
});

self.addEventListener('message', (event) => {
  const type = event.data && event.data.type;
  if (type === 'skip-waiting') {
    self.skipWaiting();
  } else if (type === 'version') {
    const reply = { type: 'version', version: VERSION };
    if (event.ports && event.ports[0]) event.ports[0].postMessage(reply);
    else if (event.source) event.source.postMessage(reply);
  }
});
