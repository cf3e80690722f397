/**
 * Every string the widget shows, in a table: English and German. The language comes from the
 * embed's `data-lang`, else the browser's preferred languages, else English.
 */

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

const de: Strings = {
  open: "Chat öffnen",
  close: "Chat schließen",
  title: "Chat",
  secure: "Ende-zu-Ende-verschlüsselt",
  nameLabel: "Ihr Name (optional)",
  nameHint: "Wird Ihrem Gegenüber angezeigt. Leer lassen, um anonym zu bleiben.",
  start: "Chat beginnen",
  anonymous: "Anonym bleiben",
  messages: "Nachrichten",
  message: "Nachricht",
  send: "Senden",
  end: "Unterhaltung beenden",
  ended: "Sie haben diese Unterhaltung beendet.",
  endedByPeer: "Die Unterhaltung wurde beendet.",
  newChat: "Neuen Chat beginnen",
  connecting: "Verbindung wird hergestellt…",
  waiting: "Warten auf Antwort…",
  online: "Verbunden",
  offline: "Offline: Nachrichten werden gesendet, sobald die Verbindung zurück ist",
  restoring: "Ihre Unterhaltung wird wiederhergestellt…",
  failed: "Der Chat konnte nicht starten",
  quality: ["schlecht", "mittel", "gut"],
  you: "Sie",
  owner: "Antwort",
  queued: "Wartet auf Versand",
  sent: "Gesendet",
  delivered: "Zugestellt",
  unread: "ungelesen",
  endedState: "Unterhaltung beendet",
  endFailed: "Die Unterhaltung konnte gerade nicht beendet werden. Versuchen Sie es erneut, wenn Sie verbunden sind.",
};

export const STRINGS: Readonly<Record<string, Strings>> = { en, de };

/** The table for `lang` (a BCP 47 tag, e.g. from data-lang), else for the browser's languages. */
export function pickStrings(lang: string | undefined, browser: readonly string[]): { lang: string; s: Strings } {
  for (const tag of [lang ?? "", ...browser]) {
    const base = tag.toLowerCase().split("-")[0] ?? "";
    const s = STRINGS[base];
    if (s !== undefined && Object.hasOwn(STRINGS, base)) return { lang: base, s };
  }
  return { lang: "en", s: en };
}
