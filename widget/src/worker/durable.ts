/**
 * Write-ahead for the crypto workers (the widget's worker/service.ts, the web app's
 * app/service.ts): nothing that depends on a session state goes out (a SEND made with a ratchet
 * step, an ACK of a message processed) before the page has durably stored a sealed state that
 * covers it.
 *
 * The handshake with the page: the worker posts `sealed` with the ciphertext and a sequence
 * number; the page writes it to IndexedDB and answers `stored(seq)` only when the transaction
 * completed (`oncomplete`); a `stored` for another seq than the last one posted is ignored.
 * One sealed state is in the page's hands at a time: the states taken meanwhile collapse into
 * the newest, posted once the page confirms, and everyone who waited for one of them goes on
 * when it is stored. A state equal to the last one posted is not posted again. Seqs start at a
 * random number, so a confirmation meant for another worker (the widget's hand-over to a
 * worker with a module) matches none of ours.
 *
 * On failure nothing goes out (fail closed): a state the page cannot store is never confirmed
 * (the page tries it again and tells the person), so its waiters wait, and so does everyone
 * after them; a state that could not be sealed (WebCrypto refused the key) is never posted,
 * which stops the session the same way.
 *
 * A closure rather than a class: it is in the widget's core bundle, where this is the smaller.
 */

import { randomBytes } from "../crypto/random.js";

export interface WriteAhead {
  /**
   * Take the state `text` now (call it where the state is consistent, e.g. under the visitor's
   * lock); resolves once the page stored it or a newer one.
   */
  write(text: string): Promise<void>;
  /** The page committed the state `seq`: who waited for it goes on, the next state goes. */
  stored(seq: number): void;
}

/**
 * `seal` encrypts a state's text (for the page); `post` hands the ciphertext to the page with its
 * seq (it may drop it: a session that ended).
 */
export function writeAhead(seal: (text: string) => Promise<ArrayBuffer>, post: (data: ArrayBuffer, seq: number) => void): WriteAhead {
  /** The text of the last state posted, its seq, the highest seq the page stored. */
  let last = "";
  let posted = new Uint32Array(randomBytes(4).buffer)[0]!;
  let stored = posted;
  /** The newest state not posted yet, and who waits for which seq. */
  let next: string | null = null;
  let waits: [number, () => void][] = [];

  /** Resolve whoever waits for a stored state; seal and post the next one unless one is in the page's hands. */
  const pump = async (): Promise<void> => {
    const done = stored;
    waits = waits.filter(([seq, go]) => seq > done || go()); // go() is void: dropped
    const text = next;
    if (text === null || posted > done) return;
    next = null;
    last = text;
    const seq = ++posted;
    try {
      post(await seal(text), seq);
    } catch {
      // not sealed: its waiters wait (nothing goes out that a stored state does not cover)
    }
  };

  return {
    write: (text) => {
      if (next !== null || text !== last) next = text;
      return new Promise((go) => {
        waits.push([posted + (next === null ? 0 : 1), go]);
        void pump();
      });
    },
    stored: (seq) => {
      if (seq === posted) stored = seq;
      void pump();
    },
  };
}
