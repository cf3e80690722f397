/**
 * The shop's stylesheet, adopted by its shadow root like the chat's (ui/styles.ts): no <style>
 * element and no style attribute, so `style-src 'none'` does not block it. A site may set
 * `--hushwire-accent` on the host element.
 */

import { sheetOf } from "../ui/styles.js";

const CSS = `
:host{all:initial;display:block;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
color:#1b1f24;--a:var(--hushwire-accent,#1f56c9);--b:#d7dce2}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
button,input,select{font:inherit;color:inherit}
:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.shop{display:grid;gap:14px;max-width:1100px;margin:0 auto;padding:8px}
header{display:flex;flex-wrap:wrap;align-items:center;gap:10px}
h2{margin:0;font-size:20px;flex:1}
h3{margin:0;font-size:16px}
.state{margin:0;font-size:13px;color:#555}
.btn{border:0;border-radius:8px;padding:8px 14px;background:var(--a);color:#fff;cursor:pointer;font-weight:600}
.btn:disabled{opacity:.55;cursor:default}
.btn.alt{background:#eef1f5;color:#1b1f24;border:1px solid var(--b)}
.count{display:inline-block;min-width:22px;margin-left:6px;padding:0 6px;border-radius:11px;background:#fff;color:var(--a)}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:end}
.field{display:grid;gap:2px;font-size:13px}
input,select{padding:6px 8px;border:1px solid var(--b);border-radius:6px;background:#fff}
.products ul{list-style:none;margin:0;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}
.product{display:grid;gap:6px;align-content:start;padding:10px;border:1px solid var(--b);border-radius:10px;background:#fff}
.pic{width:100%;aspect-ratio:4/3;border-radius:6px;background:#eef1f5;object-fit:cover}
.desc{margin:0;font-size:13px;color:#444;overflow-wrap:anywhere}
.name{overflow-wrap:anywhere}
.price{font-weight:600}
.panel{padding:12px;border:1px solid var(--b);border-radius:10px;background:#fafbfc;display:grid;gap:10px}
.lines{list-style:none;margin:0;padding:0;display:grid;gap:6px}
.lines li{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
.lines input{width:70px}
.sum{display:grid;grid-template-columns:auto auto;justify-content:end;gap:2px 16px;margin:0}
.sum dd{margin:0;text-align:right}
.form{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:8px}
.alert{margin:0;color:#a1120f;font-weight:600}
.orders ol{list-style:none;margin:0;padding:0;display:grid;gap:8px}
.order{padding:10px;border:1px solid var(--b);border-radius:10px;background:#fff;display:grid;gap:4px}
.order p{margin:0}
.st{font-weight:600}
@media (prefers-reduced-motion:reduce){*{transition:none!important}}
@media (forced-colors:active){.btn,.product,.order,.panel{border:1px solid CanvasText}}
`;

/** The shop's stylesheet. */
export const shopSheet = sheetOf(CSS);
