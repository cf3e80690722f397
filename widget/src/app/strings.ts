/**
 * The web app's words: every text the page shows or names (buttons, labels, the accessible
 * names of textboxes and lists, statuses, hints, errors), in English (`en`, here) and German
 * (`de`, app/strings_de.ts; both are in the bundle, the German table costs about 4 KB gzipped).
 *
 * The language is the `lang` query parameter when it names a table (`?lang=de`, remembered by
 * the page for the next visits), else the one remembered, else the first of the browser's
 * `navigator.languages` that the app speaks, else English ({@link pickLanguage}).
 *
 * The worker speaks English: its errors and a contact's `detail` reach the page as English
 * sentences, which {@link translate} looks up in the table's `worker` list (exact texts and
 * patterns); a text the table does not know is shown as it is.
 */

export type Lang = "en" | "de";

export const LANGS: readonly Lang[] = ["en", "de"];

export interface AppStrings {
  lang: Lang;
  title: string;
  connecting: string;
  online: string;
  offline: string;
  keepalive: (ms: number, quality: string) => string;
  quality: readonly [good: string, fair: string, poor: string];
  unlockRegion: string;
  unlockLabel: string;
  unlockButton: string;
  opening: string;
  useHere: string;
  elsewhere: string;
  elsewhereNow: string;
  nameLabel: string;
  saveName: string;
  nameSaved: string;
  newInvitation: string;
  invitationRegion: string;
  invitationLink: string;
  shortLinkNote: string;
  fullLink: string;
  copyLink: string;
  invitationHint: string;
  invitationQr: string;
  pasteLabel: string;
  connect: string;
  roomName: string;
  newRoom: string;
  contacts: string;
  roomLink: string;
  roomHint: string;
  roomQr: string;
  members: string;
  host: string;
  clearHistory: string;
  leaveRoom: string;
  contactName: string;
  rename: string;
  verify: string;
  delete: string;
  messages: string;
  message: string;
  send: string;
  securityCode: (code: string) => string;
  ticks: readonly [queued: string, sent: string, delivered: string];
  statuses: { invited: string; connecting: string; connected: string; failed: string; ended: string };
  moveTitle: string;
  moveHint: string;
  passphrase: string;
  exportProfile: string;
  profileFile: string;
  importProfile: string;
  protectTitle: string;
  protectHint: string;
  newPassphrase: string;
  setPassphrase: string;
  protecting: string;
  unprotected: string;
  protected: string;
  encrypting: string;
  exported: string;
  imported: string;
  chooseFile: string;
  tooLarge: string;
  cannotStart: (why: string) => string;
  /** IndexedDB refused the sealed profile (it is tried again; nothing is sent or acknowledged meanwhile). */
  unsaved: string;
  language: string;
  /** The worker's names for a contact or a room not named yet ("New contact", "Room"). */
  newContact: string;
  room: string;
  regions: { profile: string; connect: string; rooms: string };
  /** The worker's English sentences: exact texts, or patterns whose groups go to a function. */
  worker: readonly (readonly [string, string] | readonly [RegExp, (...groups: string[]) => string])[];
}

export const en: AppStrings = {
  lang: "en",
  title: "Hushwire",
  connecting: "Connecting to the relay…",
  online: "Online",
  offline: "Offline: reconnecting… (messages you write go out later)",
  keepalive: (ms, q) => `Online · keepalive ${ms} ms · ${q}`,
  quality: ["good", "fair", "poor"],
  unlockRegion: "Unlock",
  unlockLabel: "Passphrase to open the profile",
  unlockButton: "Open profile",
  opening: "Opening…",
  useHere: "Use it here",
  elsewhere: "This profile is open in another tab.",
  elsewhereNow: "This profile is now open in another tab.",
  nameLabel: "Your name",
  saveName: "Save name",
  nameSaved: "Name saved.",
  newInvitation: "New invitation",
  invitationRegion: "Invitation",
  invitationLink: "Invitation link",
  shortLinkNote: "The short link above holds the full link below on the relay; either works.",
  fullLink: "Full invitation link",
  copyLink: "Copy link",
  invitationHint: "Send this link to one person (or let them scan the code). It works once.",
  invitationQr: "QR code of the invitation link",
  pasteLabel: "Paste a link",
  connect: "Connect",
  roomName: "Room name",
  newRoom: "New room",
  contacts: "Contacts",
  roomLink: "Room link",
  roomHint: "Anyone with this link can join the room. This browser admits them while the app is open here; people who open it meanwhile wait until then.",
  roomQr: "QR code of the room link",
  members: "Members",
  host: "(host)",
  clearHistory: "Clear history",
  leaveRoom: "Leave room",
  contactName: "Contact name",
  rename: "Rename",
  verify: "Verify",
  delete: "Delete",
  messages: "Messages",
  message: "Message",
  send: "Send",
  securityCode: (code) => `Security code: ${code}. Compare it with your contact's (in person or by a call): if they match, nobody is in between.`,
  ticks: ["queued", "sent", "delivered"],
  statuses: { invited: "waiting for the invitation to be opened", connecting: "connecting", connected: "connected", failed: "failed", ended: "ended" },
  moveTitle: "Move to another device",
  moveHint: "Export the whole profile as one file, encrypted with a passphrase, and import it in the other browser. Then stop using it here: two browsers with the same profile break its connections.",
  passphrase: "Passphrase",
  exportProfile: "Export profile",
  profileFile: "Profile file",
  importProfile: "Import profile",
  protectTitle: "Protect this browser's profile",
  protectHint: "With a passphrase, the profile stored in this browser opens only when you type it (an empty one removes the protection).",
  newPassphrase: "New profile passphrase",
  setPassphrase: "Set passphrase",
  protecting: "Protecting…",
  unprotected: "The profile is no longer protected by a passphrase.",
  protected: "The profile now needs its passphrase to open.",
  encrypting: "Encrypting…",
  exported: "Profile exported.",
  imported: "Profile imported.",
  chooseFile: "choose the profile file first",
  tooLarge: "this file is too large to be a profile",
  cannotStart: (why) => `The app could not start: ${why}`,
  unsaved: "This browser could not save the conversation, so nothing is sent or confirmed until it can; it tries again every few seconds. Free some disk space or allow this site to store data, and keep this tab open.",
  language: "Language",
  newContact: "New contact",
  room: "Room",
  regions: { profile: "Profile", connect: "Connect", rooms: "Rooms" },
  worker: [],
};

/**
 * The language to speak: `query` (location.search) `lang=xx` if the app has it, else `stored`
 * (the choice remembered), else the first of `preferred` (navigator.languages, e.g. "de-DE")
 * whose primary tag the app speaks, else English.
 */
export function pickLanguage(query: string, stored: string | null, preferred: readonly string[]): Lang {
  const known = (x: string | null | undefined): Lang | null => {
    const tag = (x ?? "").toLowerCase().split("-")[0]!;
    return (LANGS as readonly string[]).includes(tag) ? (tag as Lang) : null;
  };
  const asked = known(new URLSearchParams(query).get("lang"));
  if (asked !== null) return asked;
  const kept = known(stored);
  if (kept !== null) return kept;
  for (const p of preferred) {
    const l = known(p);
    if (l !== null) return l;
  }
  return "en";
}

/** The worker's English sentence `text` in `table`'s language (as it is when the table lacks it). */
export function translate(table: AppStrings, text: string): string {
  // the worker's errors may come as "LinkError: ...": the table knows the sentence after it
  const bare = /^[A-Z]\w*Error: /.test(text) ? text.slice(text.indexOf(": ") + 2) : text;
  return lookup(table, text) ?? (bare === text ? null : lookup(table, bare)) ?? text;
}

function lookup(table: AppStrings, text: string): string | null {
  for (const [from, to] of table.worker) {
    if (typeof from === "string") {
      if (from === text) return to as string;
      continue;
    }
    const m = from.exec(text);
    if (m !== null) return (to as (...g: string[]) => string)(...m.slice(1).map((g) => g ?? ""));
  }
  return null;
}
