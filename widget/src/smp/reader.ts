/**
 * A Reader with the attoparsec helpers SMP text fields need (src/hushwire/smp/_reader.py):
 * `takeTill (== ' ')`, `takeTill wordEnd` (space or newline) and `_smpP` (a space).
 */

import { DecodeError } from "../errors.js";
import { Reader } from "../encoding.js";

export const SP = 0x20;

export class SmpReader extends Reader {
  /** `takeTill (== ' ')`: bytes up to (not including) the next space or the end. */
  takeTillSpace(): Uint8Array {
    let end = this.offset;
    while (end < this.data.length && this.data[end] !== SP) end++;
    return this.take(end - this.offset);
  }

  /** `takeTill wordEnd`: bytes up to the next space or newline (Parsers.parseRead1). */
  takeWord(): Uint8Array {
    let end = this.offset;
    while (end < this.data.length && this.data[end] !== SP && this.data[end] !== 0x0a) end++;
    return this.take(end - this.offset);
  }

  sp(): void {
    if (this.byte() !== SP) throw new DecodeError("expected space");
  }

  /** Consume `literal` if the input continues with it; otherwise consume nothing. */
  tryLiteral(literal: string): boolean {
    return (
      this.optional((r) => {
        r.expectAscii(literal);
        return true;
      }) === true
    );
  }
}

/** Strict parse: `dec` must consume every byte (Parsers.parseAll). */
export function parseAll<T>(data: Uint8Array, dec: (r: SmpReader) => T): T {
  const r = new SmpReader(data);
  const v = dec(r);
  r.end();
  return v;
}

/** Lenient parse: trailing bytes are ignored (handshakes). */
export function parseLenient<T>(data: Uint8Array, dec: (r: SmpReader) => T): T {
  return dec(new SmpReader(data));
}
