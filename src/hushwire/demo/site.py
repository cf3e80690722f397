"""The demo website: one page of a made-up bakery that embeds the widget, served on
127.0.0.1 under the strict Content Security Policy a real site would use."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from aiohttp import web

from hushwire.widget import SnippetOptions, module_files, snippet, widget_file

BUNDLE = "hushwire-widget.js"


def _static(name: str) -> bytes:
    return resources.files("hushwire.static").joinpath(name).read_bytes()


def site_csp(relay_ws: str) -> str:
    """The policy docs/widget.md gives a host page (plus the page's own stylesheet): the
    widget's script (SRI-pinned), a blob: worker for the keys, a WebSocket to the relay,
    nothing inline, Trusted Types enforced."""
    return (
        "default-src 'none'; script-src 'self'; worker-src blob:; "
        f"connect-src {relay_ws}; style-src 'self'; img-src 'none'; "
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
<p>Tell us what you would like and when you will come by; we will confirm in the chat.</p>
</div>
<div class="card"><h2>Allergies?</h2>
<p>Ask us anything: your question goes to the baker, not to a chat company.</p>
</div>
</main>
{tag}
</body>
</html>
"""

    def app(self) -> web.Application:
        page = self.page().encode()
        csp = site_csp(self.relay_ws)

        def respond(body: bytes, content_type: str) -> web.Response:
            resp = web.Response(body=body, content_type=content_type)
            resp.headers["Content-Security-Policy"] = csp
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

        async def css(_: web.Request) -> web.Response:
            return respond(_static("demo/site.css"), "text/css")

        app = web.Application()
        app.router.add_get("/", index)
        app.router.add_get(f"/{BUNDLE}", bundle)
        for name in module_files():  # the bundle's modules, next to it
            app.router.add_get(f"/hushwire-widget-{name}.js", bundle)
        app.router.add_get("/site.css", css)
        return app
