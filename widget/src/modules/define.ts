/**
 * How a module file hands its value to the core: `window.Hushwire.define(name, value)`, called
 * while the file runs. The core (modules.ts) accepts it only from the `<script>` element it
 * inserted for that module, whose `integrity` the browser has checked.
 */

export function define(name: string, value: unknown): void {
  (window as { Hushwire?: { define?: (name: string, value: unknown) => void } }).Hushwire?.define?.(name, value);
}
