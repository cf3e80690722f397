/**
 * Modules: optional parts of the widget in files of their own next to the bundle, loaded on
 * demand, so the core every page loads stays small (docs/widget.md, "Modules").
 *
 *   hushwire-widget-zstd.js    the zstd decompressor of the crypto worker (owner's long messages);
 *                              fetched when the worker starts (intent or click), not on page load
 *   hushwire-widget-de.js      the German strings, when the widget speaks German
 *   hushwire-widget-resume.js  the sealed-session store, with data-resume
 *   hushwire-widget-business.js the customer's side of a business chat (worker side), when the
 *                              crypto worker meets a business address (main.ts upgrade)
 *   hushwire-widget-restore.js reading a stored session back (worker side), with data-resume,
 *                              in shop mode and for the business hand-over
 *
 * The URL of a module is its file name resolved against the bundle's own `src`; its SHA-384
 * hash is built into the core (scripts/build.mjs), so the core's own `integrity` pins every
 * module too. A module loads as `<script src integrity crossorigin="anonymous">`: the browser
 * checks the hash and refuses a changed file, and `script-src` already admits the widget's
 * origin, so the page's CSP needs nothing new (under Trusted Types the `hushwire` policy
 * admits exactly these URLs). The file calls `Hushwire.define(name, value)`; the value is
 * taken only from the script element inserted here (`document.currentScript`).
 */

import HASHES from "virtual:hushwire-modules";

const own = document.currentScript;
const base = own instanceof HTMLScriptElement && own.src !== "" ? own.src : document.baseURI;
const pending = new Map<string, { el: HTMLScriptElement; done: (v: unknown) => void }>();
const loads = new Map<string, Promise<unknown>>();

/** The URL of module `name`: its file next to the bundle. */
export function moduleURL(name: string): string {
  return new URL(`hushwire-widget-${name}.js`, base).href;
}

/** `url` is one of the modules' URLs (for the Trusted Types policy). */
export function isModuleURL(url: string): boolean {
  return Object.keys(HASHES).some((n) => moduleURL(n) === url);
}

/** `Hushwire.define`: a module file hands over its value while it runs. */
export function define(name: string, value: unknown): void {
  const p = pending.get(name);
  if (p !== undefined && document.currentScript === p.el) {
    pending.delete(name);
    p.done(value);
  }
}

/** Load module `name` once (`scriptURL` makes the URL a TrustedScriptURL where needed). */
export function load<T>(name: string, scriptURL: (url: string) => string): Promise<T> {
  let p = loads.get(name);
  if (p === undefined) {
    p = new Promise((resolve, reject) => {
      const hash = HASHES[name];
      if (hash === undefined) throw new Error(`no module ${name}`);
      const el = document.createElement("script");
      const fail = (): void => {
        pending.delete(name);
        loads.delete(name);
        el.remove();
        reject(new Error(`the widget's module hushwire-widget-${name}.js did not load`));
      };
      pending.set(name, { el, done: resolve });
      el.addEventListener("error", fail);
      el.addEventListener("load", () => (pending.get(name)?.el === el ? fail() : el.remove()));
      el.integrity = hash;
      el.crossOrigin = "anonymous";
      el.src = scriptURL(moduleURL(name));
      (document.head ?? document.documentElement).append(el);
    });
    loads.set(name, p);
  }
  return p as Promise<T>;
}
