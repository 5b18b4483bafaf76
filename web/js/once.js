// Once per app, across tabs: of all the tabs that claim the same name while they are open, only the
// first gets `true`. The claim is a Web Lock (granted by the browser to one tab at a time, so two tabs
// hearing the same event at the same moment cannot both win), held until the winning tab closes.
// Without Web Locks every claim wins.
export function claimOnce(name) {
  if (!navigator.locks) return Promise.resolve(true);
  return new Promise((resolve) => {
    navigator.locks.request(`hearth:once:${name}`, { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? new Promise(() => {}) : undefined;
    }).catch(() => resolve(true));
  });
}
