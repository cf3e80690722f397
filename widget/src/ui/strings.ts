/**
 * Every string the widget shows, in a table: English here, German in strings_de.ts. The
 * language comes from the embed's `data-lang`, else the browser's preferred languages, else
 * English.
 */

import { de } from "./strings_de.js";

export interface Strings {
  open: string;
  close: string;
  title: string;
  secure: string;
  nameLabel: string;
  nameHint: string;
  start: string;
  anonymous: string;
  messages: string;
  message: string;
  send: string;
  end: string;
  ended: string;
  endedByPeer: string;
  newChat: string;
  connecting: string;
  waiting: string;
  online: string;
  offline: string;
  restoring: string;
  failed: string;
  quality: readonly [string, string, string];
  you: string;
  owner: string;
  queued: string;
  sent: string;
  delivered: string;
  unread: string;
  endFailed: string;
  endedState: string;
}

const en: Strings = {
  open: "Open chat",
  close: "Close chat",
  title: "Chat",
  secure: "End-to-end encrypted",
  nameLabel: "Your name (optional)",
  nameHint: "Shown to the person you chat with. Leave it empty to stay anonymous.",
  start: "Start chat",
  anonymous: "Stay anonymous",
  messages: "Messages",
  message: "Message",
  send: "Send",
  end: "End conversation",
  ended: "You ended this conversation.",
  endedByPeer: "The conversation was ended.",
  newChat: "Start a new chat",
  connecting: "Connecting…",
  waiting: "Waiting for an answer…",
  online: "Connected",
  offline: "Offline: messages will be sent when the connection returns",
  restoring: "Restoring your conversation…",
  failed: "The chat could not start",
  quality: ["poor", "fair", "good"],
  you: "You",
  owner: "Reply",
  queued: "Waiting to be sent",
  sent: "Sent",
  delivered: "Delivered",
  unread: "unread",
  endedState: "Conversation ended",
  endFailed: "The conversation could not be ended now. Try again when you are connected.",
};

/**
 * The tables at hand. English is always in the bundle; German is a module of its own that the
 * widget loads on demand (modules.ts): the build (scripts/build.mjs) puts an empty stand-in
 * for `./strings_de.js` into the core, and the loaded module adds its table with
 * {@link addStrings}. Imported directly (tests), both are here.
 */
export const STRINGS: Record<string, Strings> = { en };

/** Every language the widget speaks, loaded or not. */
export const LANGUAGES: readonly string[] = ["en", "de"];

export function addStrings(lang: string, s: Strings): void {
  STRINGS[lang] = s;
}

if (de !== undefined) addStrings("de", de);

/** The base language (of {@link LANGUAGES}) for `lang` or else the browser's languages. */
export function chooseLanguage(lang: string | undefined, browser: readonly string[]): string {
  for (const tag of [lang ?? "", ...browser]) {
    const base = tag.toLowerCase().split("-")[0] ?? "";
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

/** The table for `lang` (a BCP 47 tag, e.g. from data-lang), else for the browser's languages. */
export function pickStrings(lang: string | undefined, browser: readonly string[]): { lang: string; s: Strings } {
  for (const tag of [lang ?? "", ...browser]) {
    const base = tag.toLowerCase().split("-")[0] ?? "";
    const s = STRINGS[base];
    if (s !== undefined && Object.hasOwn(STRINGS, base)) return { lang: base, s };
  }
  return { lang: "en", s: en };
}
