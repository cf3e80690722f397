/**
 * One tab owns the profile: two tabs running the same ratchets would each send under keys the
 * other already used. The owner holds a Web Lock for as long as it lives; another tab says so
 * and offers to take over, which steals the lock: the former owner stops its worker and says
 * that the profile is now open elsewhere.
 */

export const LOCK = "hushwire-app-profile";
const STEAL = "hushwire-app-steal";

type Locks = {
  request(name: string, opts: { ifAvailable?: boolean; steal?: boolean }, cb: (lock: unknown) => Promise<unknown>): Promise<unknown>;
};

function locks(): Locks | null {
  return (navigator as { locks?: Locks }).locks ?? null;
}

/**
 * Take the profile: true if this tab now owns it (until `lost` is called), false if another tab
 * does. After {@link takeOver} (a reload) the lock is stolen at once. Without Web Locks (an old
 * browser) every tab owns it.
 */
export async function own(lost: () => void): Promise<boolean> {
  const l = locks();
  if (l === null) return true;
  const steal = sessionStorage.getItem(STEAL) === "1";
  sessionStorage.removeItem(STEAL);
  return new Promise((resolve) => {
    l.request(LOCK, steal ? { steal: true } : { ifAvailable: true }, (lock) => {
      if (lock === null) {
        resolve(false);
        return Promise.resolve();
      }
      resolve(true);
      return new Promise(() => undefined); // held until the tab goes, or another steals it
    }).catch(() => lost()); // stolen (AbortError)
  });
}

/** Take the profile over from the tab that owns it: reload and steal the lock. */
export function takeOver(): void {
  sessionStorage.setItem(STEAL, "1");
  location.reload();
}
