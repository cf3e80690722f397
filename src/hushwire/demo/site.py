"""The demo website: one page of a made-up bakery that embeds the widget, served on
127.0.0.1 under the strict Content Security Policy a real site would use."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

from hushwire.widget import SnippetOptions, module_files, snippet, widget_file

BUNDLE = "hushwire-widget.js"


def _static(name: str) -> bytes:
    return resources.files("hushwire.static").joinpath(name).read_bytes()


def site_csp(relay_ws: str, *, images: bool = False) -> str:
    """The policy docs/widget.md gives a host page (plus the page's own stylesheet): the
    widget's script (SRI-pinned), a blob: worker for the keys, a WebSocket to the relay,
    nothing inline, Trusted Types enforced. ``images``: the shop page, whose product images
    the widget shows from ``blob:`` URLs (they come through the encrypted channel)."""
    img = "blob:" if images else "'none'"
    return (
        "default-src 'none'; script-src 'self'; worker-src blob:; "
        f"connect-src {relay_ws}; style-src 'self'; img-src {img}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
        "require-trusted-types-for 'script'; trusted-types hushwire"
    )


@dataclass(frozen=True, slots=True)
class DemoSite:
    address: str
    relay_ws: str

    def page(self) -> str:
        tag = snippet(SnippetOptions(self.address, self.relay_ws, src=f"/{BUNDLE}", ask_name=True))
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tiny Bakery · Hushwire demo</title>
<link rel="stylesheet" href="/site.css">
</head>
<body>
<header><h1>Tiny Bakery</h1><p>Sourdough, rye and cinnamon buns, baked at dawn.</p></header>
<main>
<div class="card hint">
<p><strong>Hushwire demo.</strong> Press <em>Open chat</em> at the bottom right and write
to the bakery. Read and answer in the inbox tab. Everything you type is end-to-end
encrypted between this page and the inbox: the relay in between sees only padded
ciphertext.</p>
</div>
<div class="card"><h2>Order for Saturday</h2>
<p>Tell us what you would like and when you will come by; we will confirm in the chat.
Or order in <a href="/shop">our shop</a>.</p>
</div>
<div class="card"><h2>Allergies?</h2>
<p>Ask us anything: your question goes to the baker, not to a chat company.</p>
</div>
</main>
{tag}
</body>
</html>
"""

    def shop_tag(self) -> str:
        """The widget's tag in shop mode (``data-mode="shop"``)."""
        opts = SnippetOptions(self.address, self.relay_ws, src=f"/{BUNDLE}")
        if "shop" in {f.name for f in dataclasses.fields(SnippetOptions)}:
            shop: dict[str, Any] = {"shop": True}  # the widget's own option, when it has one
            return snippet(dataclasses.replace(opts, **shop))
        # A widget without shop mode in its snippet: the attribute by hand.
        tag, _, rest = snippet(opts).partition("\n")
        return tag.replace(" async>", ' data-mode="shop" async>', 1) + "\n" + rest

    def shop_page(self) -> str:
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop · Tiny Bakery · Hushwire demo</title>
<link rel="stylesheet" href="/site.css">
</head>
<body>
<header><h1>Tiny Bakery shop</h1><p>Order bread for Saturday: pick up at the bakery or by
bike courier.</p></header>
<main>
<div class="card hint">
<p><strong>Hushwire demo.</strong> The catalog, the pictures, your cart and your order
travel end-to-end encrypted between this page and the bakery's inbox: this web server only
ever serves this page and the widget's files. Watch the order arrive in the inbox's
<em>Orders</em> view, confirm it there, and see the status change here.</p>
</div>
<div data-hushwire-shop></div>
<p><a href="/">Back to the bakery</a></p>
</main>
{self.shop_tag()}
</body>
</html>
"""

    def app(self) -> web.Application:
        page = self.page().encode()
        shop_page = self.shop_page().encode()
        csp = site_csp(self.relay_ws)
        shop_csp = site_csp(self.relay_ws, images=True)

        def respond(body: bytes, content_type: str, policy: str = csp) -> web.Response:
            resp = web.Response(body=body, content_type=content_type)
            resp.headers["Content-Security-Policy"] = policy
            resp.headers["X-Content-Type-Options"] = "nosniff"
            resp.headers["Referrer-Policy"] = "no-referrer"
            return resp

        async def index(_: web.Request) -> web.Response:
            return respond(page, "text/html")

        async def bundle(req: web.Request) -> web.Response:
            body = widget_file(req.path.removeprefix("/"))
            if body is None:  # pragma: no cover - only the routes below lead here
                raise web.HTTPNotFound()
            resp = respond(body, "text/javascript")
            resp.headers["Access-Control-Allow-Origin"] = "*"
            return resp

        async def shop(_: web.Request) -> web.Response:
            return respond(shop_page, "text/html", shop_csp)

        async def css(_: web.Request) -> web.Response:
            return respond(_static("demo/site.css"), "text/css")

        app = web.Application()
        app.router.add_get("/", index)
        app.router.add_get("/shop", shop)
        app.router.add_get(f"/{BUNDLE}", bundle)
        for name in module_files():  # the bundle's modules, next to it
            app.router.add_get(f"/hushwire-widget-{name}.js", bundle)
        app.router.add_get("/site.css", css)
        return app
