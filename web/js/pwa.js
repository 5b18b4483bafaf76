// The page side of the service worker (web/sw.js): register it, notice when a new build has been
// installed and is waiting, and switch to it when the person asks ("Reload to update").
//
// A new build is looked for once the app has opened, when the window regains focus, when the network comes
// back, when the hub refuses writes for an old version, and every ten minutes.

let registration = null;
let reloading = false;

export async function registerServiceWorker(onUpdateReady) {
  if (!('serviceWorker' in navigator)) return false;
  const hadController = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // The first install claims the page: nothing to reload. Later, a new worker took over on request.
    if (!hadController || reloading) return;
    reloading = true;
    location.reload();
  });
  // The app calls this once its start has settled; the first idle moment after that is left to the
  // page's first paint of its data (the install then downloads the whole build into its cache).
  await new Promise((resolve) => {
    if ('requestIdleCallback' in window) requestIdleCallback(resolve, { timeout: 2000 });
    else setTimeout(resolve, 0);
  });
  registration = await navigator.serviceWorker.register('./sw.js', { updateViaCache: 'none' });
  const watch = (worker) => {
    if (!worker) return;
    const check = () => {
      if (worker.state === 'installed' && navigator.serviceWorker.controller) onUpdateReady();
    };
    check();
    worker.addEventListener('statechange', check);
  };
  watch(registration.waiting);
  registration.addEventListener('updatefound', () => watch(registration.installing));
  const check = () => checkForUpdate();
  window.addEventListener('focus', check);
  window.addEventListener('online', check);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') check(); });
  setInterval(check, 10 * 60 * 1000);
  return true;
}

export function checkForUpdate() {
  if (registration) registration.update().catch(() => { /* offline: the next check will do */ });
}

export function applyUpdate() {
  const waiting = registration && registration.waiting;
  if (waiting) {
    reloading = true;
    waiting.postMessage({ type: 'skip-waiting' });
    navigator.serviceWorker.addEventListener('controllerchange', () => location.reload());
  } else {
    location.reload();
  }
}
