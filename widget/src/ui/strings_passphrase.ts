/**
 * The strings of passphrase resume (ui/passphrase.ts), English and German. They ship in the
 * "passphrase" module only, not in the core's tables (ui/strings.ts, strings_de.ts).
 */

export interface PassphraseStrings {
  chooseLabel: string;
  chooseHint: string;
  keep: string;
  skip: string;
  tooShort: string;
  unlockLabel: string;
  unlockHint: string;
  unlock: string;
  fresh: string;
  wrong: string;
  checking: string;
}

export const PASSPHRASE_STRINGS: Readonly<Record<string, PassphraseStrings>> = {
  en: {
    chooseLabel: "Passphrase to keep this conversation",
    chooseHint: "At least 8 characters. You need it to continue after reloading the page; it is not stored anywhere and cannot be recovered.",
    keep: "Keep with passphrase",
    skip: "Don't keep",
    tooShort: "Use at least 8 characters.",
    unlockLabel: "Passphrase to continue your conversation",
    unlockHint: "The passphrase you chose when the conversation started.",
    unlock: "Continue",
    fresh: "Start a new chat",
    wrong: "Wrong passphrase: the conversation did not open. Try again, or start a new chat.",
    checking: "Checking…",
  },
  de: {
    chooseLabel: "Passphrase, um diese Unterhaltung zu behalten",
    chooseHint: "Mindestens 8 Zeichen. Sie brauchen sie, um nach dem Neuladen der Seite weiterzuschreiben; sie wird nirgends gespeichert und kann nicht wiederhergestellt werden.",
    keep: "Mit Passphrase behalten",
    skip: "Nicht behalten",
    tooShort: "Verwenden Sie mindestens 8 Zeichen.",
    unlockLabel: "Passphrase, um Ihre Unterhaltung fortzusetzen",
    unlockHint: "Die Passphrase, die Sie zu Beginn der Unterhaltung gewählt haben.",
    unlock: "Fortsetzen",
    fresh: "Neuen Chat beginnen",
    wrong: "Falsche Passphrase: Die Unterhaltung wurde nicht geöffnet. Versuchen Sie es erneut oder beginnen Sie einen neuen Chat.",
    checking: "Wird geprüft…",
  },
};
