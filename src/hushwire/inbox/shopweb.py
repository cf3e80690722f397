"""The shop's part of the inbox's local API (docs/inbox.md, "Shop"): the orders list, one
order, status changes and the export of one order as JSON or CSV. Same authentication and
origin rules as every other call (:func:`hushwire.inbox.web._api`)."""

from __future__ import annotations

import json

from aiohttp import web

from hushwire.inbox.service import InboxError, InboxService
from hushwire.inbox.web import _api, _json_body, _service
from hushwire.shop.orders import StoredOrder
from hushwire.shop.service import ShopOwner, order_csv
from hushwire.shop.wire import ShopError

ACTIONS = ("confirmed", "paid", "shipped", "delivered", "cancelled")


def _shop(service: InboxService) -> ShopOwner:
    if service.shop is None:
        raise InboxError("this inbox has no shop: start it with --shop catalog.toml", 404)
    return service.shop


@_api
async def api_orders(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    if service.shop is None:
        return web.json_response({"shop": False, "orders": []})
    orders = [o.to_json() for o in service.shop.orders()]
    return web.json_response({"shop": True, "orders": orders})


def _order(request: web.Request) -> StoredOrder:
    try:
        return _shop(_service(request)).order(request.match_info["number"])
    except ShopError as e:
        raise InboxError(str(e), 404) from e


@_api
async def api_order(request: web.Request) -> web.StreamResponse:
    return web.json_response({"order": _order(request).to_json()})


@_api
async def api_order_status(request: web.Request) -> web.StreamResponse:
    shop = _shop(_service(request))
    body = await _json_body(request)
    status, tracking, note = body.get("status"), body.get("tracking"), body.get("note")
    if status not in ACTIONS:
        raise InboxError(f"status must be one of {', '.join(ACTIONS)}")
    if not isinstance(tracking, str | None) or not isinstance(note, str | None):
        raise InboxError("tracking and note must be text")
    try:
        order = await shop.set_status(
            request.match_info["number"], str(status), tracking=tracking, note=note
        )
    except ShopError as e:
        raise InboxError(str(e), 409) from e
    return web.json_response({"order": order.to_json()})


@_api
async def api_order_export(request: web.Request) -> web.StreamResponse:
    order = _order(request)
    kind = request.match_info["kind"]
    name = f"order-{order.number}.{kind}"
    if kind == "json":
        text = json.dumps(order.to_json(), ensure_ascii=False, indent=1)
        ctype = "application/json"
    else:
        text, ctype = order_csv(order.to_json()), "text/csv"
    return web.Response(
        text=text,
        content_type=ctype,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def add_shop_routes(app: web.Application) -> None:
    app.router.add_get("/api/orders", api_orders)
    app.router.add_get("/api/orders/{number}", api_order)
    app.router.add_post("/api/orders/{number}/status", api_order_status)
    app.router.add_get(r"/api/orders/{number}/export.{kind:json|csv}", api_order_export)
