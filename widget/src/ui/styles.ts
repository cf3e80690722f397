/**
 * The widget's stylesheet, applied to its shadow root as a constructable stylesheet
 * (`adoptedStyleSheets`): no <style> element and no style attribute, so a CSP without
 * 'unsafe-inline' in style-src (even `style-src 'none'`) does not block it, and nothing leaks
 * into or out of the host page. A site may set `--hushwire-accent` on the host element.
 */

const CSS = `
:host{all:initial;display:block;position:fixed;right:16px;bottom:16px;z-index:2147483000;
font:15px/1.4 system-ui,sans-serif;color:#1b1f24;
--a:var(--hushwire-accent,#1f56c9);--b:#d7dce2}
*,*::before,*::after{box-sizing:border-box}
[hidden]{display:none!important}
button,input,textarea{font:inherit;color:inherit}
:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
svg{width:22px;height:22px;fill:currentColor;flex:none}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.launcher{position:relative;display:grid;place-items:center;width:56px;height:56px;margin-left:auto;border:0;
border-radius:50%;background:var(--a);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.28);transition:transform .15s}
.launcher:hover{transform:scale(1.06)}
.launcher svg{width:26px;height:26px}
.badge{position:absolute;top:-3px;right:-3px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;
background:#c5221f;color:#fff;font-size:12px;font-weight:600;line-height:20px}
.panel{position:absolute;right:0;bottom:68px;display:flex;flex-direction:column;width:370px;height:540px;
max-width:calc(100vw - 32px);max-height:calc(100vh - 100px);overflow:hidden;background:#fff;border-radius:14px;
box-shadow:0 12px 40px rgba(0,0,0,.28);animation:rise .18s ease-out}
@keyframes rise{from{opacity:0;transform:translateY(10px)}}
.head{display:flex;align-items:center;gap:10px;padding:12px 14px;background:var(--a);color:#fff}
.head h2{margin:0;font-size:16px;font-weight:600}
.head p{display:flex;align-items:center;gap:4px;margin:0;font-size:12px;opacity:.92}
.head p svg{width:12px;height:12px}
.bar{display:flex;align-items:center;gap:8px;padding:6px 10px 6px 14px;font-size:12.5px;color:#3c434b;
background:#f4f6f8;border-bottom:1px solid var(--b)}
.state{flex:1;min-width:0}
.q{display:inline-flex;align-items:flex-end;gap:2px;height:12px}
.q i{width:3px;border-radius:1px;background:#c3c9d0}
.q i:nth-child(1){height:5px}.q i:nth-child(2){height:8px}.q i:nth-child(3){height:12px}
.q[data-q="3"] i{background:#1e8e3e}
.q[data-q="1"] i:nth-child(1){background:#c5221f}
.q[data-q="2"] i:nth-child(-n+2){background:#e37400}
.link{padding:4px 6px;border:0;border-radius:6px;background:none;color:#a11a17;font-size:12.5px;text-decoration:underline;cursor:pointer}
.link:hover{background:#fbe9e7}
.log{flex:1;display:flex;flex-direction:column;gap:6px;margin:0;padding:12px;overflow-y:auto;list-style:none;
overscroll-behavior:contain;scroll-behavior:smooth}
.msg{max-width:85%;padding:7px 11px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere}
.msg.in{align-self:flex-start;background:#eceff3;border-bottom-left-radius:4px}
.from{display:block;font-size:.8em;font-weight:600}.live{opacity:.7}
.msg.out{align-self:flex-end;background:var(--a);color:#fff;border-bottom-right-radius:4px}
.tick{margin-left:6px;font-size:12px;letter-spacing:-2px;opacity:.85;white-space:nowrap}
.tick[data-state="delivered"]{opacity:1;font-weight:700}
.note{align-self:center;max-width:95%;font-size:12.5px;color:#56606b;text-align:center}
.compose{display:flex;align-items:flex-end;gap:6px;padding:8px;border-top:1px solid var(--b)}
textarea{flex:1;min-width:0;height:42px;max-height:120px;padding:9px 11px;resize:none;border:1px solid #aeb6bf;border-radius:10px;background:#fff}
.send{display:grid;place-items:center;width:42px;height:42px;border:0;border-radius:10px;background:var(--a);color:#fff;cursor:pointer}
.send:disabled{opacity:.5;cursor:default}
.name{display:flex;flex-direction:column;gap:8px;margin:auto 0;padding:20px}
.name label{font-weight:600}
.name input{padding:9px 11px;border:1px solid #aeb6bf;border-radius:10px}
.name p{margin:0;font-size:13px;color:#56606b}
.row{display:flex;flex-wrap:wrap;gap:8px;margin-top:6px}
.btn{padding:9px 14px;border:1px solid var(--a);border-radius:10px;background:var(--a);color:#fff;font-weight:600;cursor:pointer}
.btn.alt{background:#fff;color:var(--a)}
.center{align-self:center}
@media (max-width:480px){:host{right:8px;bottom:8px}
.panel{position:fixed;top:8px;right:8px;bottom:76px;left:8px;width:auto;height:auto;max-width:none;max-height:none}}
@media (max-width:359px){.ms{display:none}}
@media (prefers-reduced-motion:reduce){*,*::before,*::after{animation:none!important;transition:none!important;scroll-behavior:auto!important}}
@media (forced-colors:active){.launcher,.send,.btn,.msg{border:1px solid CanvasText}}
`;

/** A getter of the constructable stylesheet of `css`, built on first use, once per page. */
export function sheetOf(css: string): () => CSSStyleSheet {
  let sheet: CSSStyleSheet | null = null;
  return () => {
    if (sheet === null) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
    }
    return sheet;
  };
}

/** The chat's stylesheet. */
export const styleSheet = sheetOf(CSS);
