/**
 * The web app's languages (src/app/strings.ts, strings_de.ts): which one the page speaks, and the
 * German for the worker's English sentences.
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { en, pickLanguage, translate } from "../src/app/strings.js";
import { de } from "../src/app/strings_de.js";

describe("the app's language", () => {
  it("follows the browser's first language the app speaks", () => {
    expect(pickLanguage("", null, ["de-DE", "en-US"])).toBe("de");
    expect(pickLanguage("", null, ["fr-FR", "DE", "en"])).toBe("de");
    expect(pickLanguage("", null, ["fr-FR", "en-GB", "de"])).toBe("en");
    expect(pickLanguage("", null, ["fr-FR"])).toBe("en");
    expect(pickLanguage("", null, [])).toBe("en");
  });

  it("takes ?lang= first, then the choice remembered; unknown values are ignored", () => {
    expect(pickLanguage("?lang=de", "en", ["en-US"])).toBe("de");
    expect(pickLanguage("?x=1&lang=en", "de", ["de-DE"])).toBe("en");
    expect(pickLanguage("?lang=xx", "de", ["en-US"])).toBe("de");
    expect(pickLanguage("", "de", ["en-US"])).toBe("de");
    expect(pickLanguage("?lang=", "fr", ["de-AT"])).toBe("de");
  });

  it("has a German text for every English one, none the same but the names", () => {
    const same = Object.keys(en).filter((k) => (en as unknown as Record<string, unknown>)[k] === (de as unknown as Record<string, unknown>)[k]);
    expect(same.sort()).toEqual(["passphrase", "title"]);
    expect(de.keepalive(42, de.quality[0])).toBe("Verbunden · Keepalive 42 ms · gut");
    expect(en.keepalive(42, en.quality[2])).toBe("Online · keepalive 42 ms · poor");
  });
});

describe("the worker's sentences in German", () => {
  it("translates exact sentences, patterns, and a sentence after an error's name", () => {
    expect(translate(de, "no such contact")).toBe("Diesen Kontakt gibt es nicht");
    expect(translate(de, "DecodeError: the passphrase does not open this profile")).toBe("Diese Passphrase öffnet das Profil nicht");
    expect(translate(de, "RangeError: the passphrase needs at least 8 characters")).toBe("Die Passphrase braucht mindestens 8 Zeichen");
    expect(translate(de, "the room refused to admit you: the group is full")).toBe("Der Raum hat Sie nicht eingelassen: Die Gruppe ist voll");
    expect(translate(de, "the room refused to admit you: <b>go away</b>")).toBe("Der Raum hat Sie nicht eingelassen: <b>go away</b>");
  });

  it("leaves what it does not know, and English, as it is", () => {
    expect(translate(de, "SMPError: something new")).toBe("SMPError: something new");
    expect(translate(en, "DecodeError: the passphrase does not open this profile")).toBe("DecodeError: the passphrase does not open this profile");
  });

  it("knows only sentences the sources say", () => {
    const dirs = ["../src/app", "../src/agent"].map((d) => join(import.meta.dirname, d));
    const sources = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith(".ts")).map((f) => readFileSync(join(d, f), "utf8"))).join("\n");
    for (const [from] of de.worker) if (typeof from === "string") expect(sources, from).toContain(`"${from}"`);
  });
});
