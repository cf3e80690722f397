import { describe, expect, it } from "vitest";

import { DecodeError } from "../src/errors.js";
import {
  base64urlDecode,
  base64urlEncode,
  encode,
  parseAll,
  Reader,
  toHex,
  Writer,
} from "../src/encoding.js";
import { big, h, loadVectors } from "./vectors.js";

interface Primitive {
  type: string;
  value?: number | string | boolean;
  value_hex?: string | string[] | null;
  hex: string;
}

interface PrimitivesFile {
  vectors: Primitive[];
  invalid: { type: string; hex: string; why: string }[];
}

const P = loadVectors<PrimitivesFile>("encoding_primitives.json");

function writeValue(w: Writer, v: Primitive): void {
  switch (v.type) {
    case "int64":
      w.int64(big(v.value as number | string));
      return;
    case "system_time":
      w.systemTime(big(v.value as number));
      return;
    case "word16":
      w.word16(v.value as number);
      return;
    case "word32":
      w.word32(v.value as number);
      return;
    case "word64":
      w.word64(big(v.value as number | string));
      return;
    case "short_string":
      w.shortString(h(v.value_hex as string));
      return;
    case "large":
      w.large(h(v.value_hex as string));
      return;
    case "bool":
      w.bool(v.value as boolean);
      return;
    case "maybe_short_string":
      w.maybe(v.value_hex === null ? null : h(v.value_hex as string), (x, b) => x.shortString(b));
      return;
    case "list_short_string":
      w.list((v.value_hex as string[]).map(h), (x, b) => x.shortString(b));
      return;
    case "non_empty_short_string":
      w.nonEmpty((v.value_hex as string[]).map(h), (x, b) => x.shortString(b));
      return;
  }
  throw new Error(`unknown type ${v.type}`);
}

function readValue(type: string, r: Reader): unknown {
  switch (type) {
    case "int64":
      return r.int64();
    case "system_time":
      return r.systemTime();
    case "word16":
      return r.word16();
    case "word32":
      return r.word32();
    case "word64":
      return r.word64();
    case "short_string":
      return toHex(r.shortString());
    case "large":
      return toHex(r.large());
    case "bool":
      return r.bool();
    case "maybe_short_string": {
      const m = r.maybe((x) => x.shortString());
      return m === null ? null : toHex(m);
    }
    case "list_short_string":
      return r.list((x) => toHex(x.shortString()));
    case "non_empty_short_string":
      return r.nonEmpty((x) => toHex(x.shortString()));
  }
  throw new Error(`unknown type ${type}`);
}

function expected(v: Primitive): unknown {
  if (["int64", "system_time", "word64"].includes(v.type)) return big(v.value as number | string);
  if (v.value_hex !== undefined) return v.value_hex;
  return v.value;
}

describe("encoding_primitives.json", () => {
  it.each(P.vectors.map((v) => [`${v.type} ${v.hex}`, v] as const))("%s both ways", (_n, v) => {
    expect(toHex(encode((w) => writeValue(w, v)))).toBe(v.hex);
    expect(parseAll(h(v.hex), (r) => readValue(v.type, r))).toEqual(expected(v));
  });

  it.each(P.invalid.map((v) => [`${v.type}: ${v.why}`, v] as const))("rejects %s", (_n, v) => {
    expect(() => parseAll(h(v.hex), (r) => readValue(v.type, r))).toThrow(DecodeError);
  });
});

describe("Writer ranges", () => {
  it("refuses values a field cannot hold", () => {
    const w = new Writer();
    expect(() => w.word16(65536)).toThrow(RangeError);
    expect(() => w.word16(-1)).toThrow(RangeError);
    expect(() => w.word32(2 ** 32)).toThrow(RangeError);
    expect(() => w.int64(1n << 63n)).toThrow(RangeError);
    expect(() => w.word64(-1n)).toThrow(RangeError);
    expect(() => w.shortString(new Uint8Array(256))).toThrow(RangeError);
    expect(() => w.large(new Uint8Array(65536))).toThrow(RangeError);
    expect(() => w.nonEmpty([], () => undefined)).toThrow(RangeError);
    expect(() => w.list(new Array<number>(256).fill(0), () => undefined)).toThrow(RangeError);
  });

  it("Reader.optional rewinds and take copies", () => {
    const data = h("0102");
    const r = new Reader(data);
    expect(r.optional((x) => x.take(3))).toBeNull();
    expect(r.pos).toBe(0);
    const t = r.take(2);
    t[0] = 9;
    expect(data[0]).toBe(1);
    expect(() => r.byte()).toThrow(DecodeError);
  });
});

interface StringsFile {
  base64url: { hex: string; padded: string; unpadded: string }[];
  base64url_invalid: string[];
}

const S = loadVectors<StringsFile>("encoding_strings.json");

describe("encoding_strings.json base64url", () => {
  it.each(S.base64url.map((v) => [v.padded, v] as const))("%s both ways", (_n, v) => {
    expect(base64urlEncode(h(v.hex))).toBe(v.padded);
    expect(base64urlEncode(h(v.hex), false)).toBe(v.unpadded);
    expect(toHex(base64urlDecode(v.padded))).toBe(v.hex);
    expect(toHex(base64urlDecode(v.unpadded))).toBe(v.hex);
  });

  it.each(S.base64url_invalid.map((s) => [JSON.stringify(s), s] as const))("rejects %s", (_n, s) => {
    expect(() => base64urlDecode(s)).toThrow(DecodeError);
  });

  it("round-trips every length", () => {
    for (let n = 0; n < 70; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      if (n > 0) expect(base64urlDecode(base64urlEncode(b))).toEqual(b);
      if (n > 0) expect(base64urlDecode(base64urlEncode(b, false))).toEqual(b);
      expect(base64urlEncode(b)).toBe(Buffer.from(b).toString("base64").replace(/\+/g, "-").replace(/\//g, "_"));
    }
  });
});
