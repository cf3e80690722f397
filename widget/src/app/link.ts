/**
 * The app's links on its own origin: `https://APP_HOST/invitation#/?...` is the SimpleX link
 * `simplex:/invitation#/?...` with the app's origin in place of the scheme (the query and its
 * secrets stay in the fragment, which browsers never send to the server).
 */

/** The link `simplexLink` (simplex:/<mode>#/?...) shown on `origin` (e.g. https://app.example). */
export function onOrigin(simplexLink: string, origin: string): string {
  if (!simplexLink.startsWith("simplex:/")) throw new RangeError("not a simplex: link");
  return origin + "/" + simplexLink.slice("simplex:/".length);
}

/**
 * What the worker's link parser takes for `text`: a link on `origin` becomes its simplex: form
 * (so http:// works for an app on loopback); anything else is passed on as it is.
 */
export function toSimplex(text: string, origin: string): string {
  const t = text.trim();
  return t.startsWith(origin + "/") ? "simplex:/" + t.slice(origin.length + 1) : t;
}

/**
 * The SimpleX link opened by `location`, or null: a full link (path /invitation or /contact with
 * a #/? fragment) or a short one (path /a, /i or /g: contact address, one-time invitation, room;
 * the fragment holds its key and, in `h=`, the relay's hosts: the `simplex:/a#...` form).
 */
export function linkOfLocation(loc: { pathname: string; hash: string }): string | null {
  const mode = loc.pathname.replace(/\/+$/, "");
  if ((mode === "/invitation" || mode === "/contact") && loc.hash.startsWith("#/?")) return "simplex:" + mode + loc.hash;
  if ((mode === "/a" || mode === "/i" || mode === "/g") && loc.hash.length > 1) return "simplex:" + mode + loc.hash;
  return null;
}
