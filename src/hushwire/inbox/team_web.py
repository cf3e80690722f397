"""The team inbox's part of the web API, and saved replies (same rules as
:mod:`hushwire.inbox.web`: session or bearer token, own origin, JSON bodies).

* ``GET /api/team`` -> ``{"role": "host"|"operator"|null, "operators": [...], "team":
  {"name", "status"}|null}`` (``team``: on an operator's inbox, the team it belongs to)
* ``POST /api/team/operators`` -> ``{"link": FULL, "short_link": SHORT|null, "qr": SVG}``:
  a one-time operator invitation (the QR code of the short link when there is one)
* ``POST /api/team/operators/{id}/remove`` -> ``{"removed": NAME}`` (id or name)
* ``POST /api/conversations/{id}/assign`` with ``{"mine": true|false}``
* ``POST /api/conversations/{id}/typing`` with ``{"typing": true|false}`` -> ``{"shown": B}``
  (a live message to the others in a team conversation; nothing in a 1:1 one)
* saved replies (every inbox): ``GET /api/saved-replies``, ``POST /api/saved-replies`` with
  ``{"name", "text"}``, ``POST /api/saved-replies/{name}/delete``; each answers the list
"""

from __future__ import annotations

from aiohttp import web

from hushwire.agent.qr import qr_svg
from hushwire.inbox.saved import delete_saved_reply, save_reply, saved_replies
from hushwire.inbox.service import InboxError, InboxService
from hushwire.inbox.team import TeamHost
from hushwire.inbox.team_operator import TeamOperator
from hushwire.inbox.web import _api, _json_body, _service

__all__ = ["add_team_routes"]


def _host(service: InboxService) -> TeamHost:
    if not isinstance(service.team, TeamHost):
        raise InboxError("this is not a team inbox: start it with --team", 409)
    return service.team


@_api
async def api_team(request: web.Request) -> web.StreamResponse:
    service = _service(request)
    team = service.team
    role = None if team is None else ("host" if isinstance(team, TeamHost) else "operator")
    operators = team.operators_json() if isinstance(team, TeamHost) else []
    of = team.team_json() if isinstance(team, TeamOperator) else None
    return web.json_response({"role": role, "operators": operators, "team": of})


@_api
async def api_invite_operator(request: web.Request) -> web.StreamResponse:
    await _json_body(request)
    link, short = await _host(_service(request)).invite_operator_links()
    return web.json_response({"link": link, "short_link": short, "qr": qr_svg(short or link)})


@_api
async def api_remove_operator(request: web.Request) -> web.StreamResponse:
    await _json_body(request)
    name = await _host(_service(request)).remove_operator(request.match_info["id"])
    return web.json_response({"removed": name})


async def _conv_flag(request: web.Request, key: str) -> tuple[InboxService, str, bool]:
    """The service, the conversation of the path and the flag ``key`` of the JSON body."""
    service = _service(request)
    value = (await _json_body(request)).get(key)
    if not isinstance(value, bool):
        raise InboxError(f'give {{"{key}": true}} or {{"{key}": false}}')
    return service, service.resolve(request.match_info["id"]), value


@_api
async def api_assign(request: web.Request) -> web.StreamResponse:
    service, conv_id, mine = await _conv_flag(request, "mine")
    if service.team is None or not service.team.store.has_group(conv_id):
        raise InboxError("this is not a team conversation", 409)
    await service.team.assign(conv_id, mine)
    return web.json_response({"ok": True})


@_api
async def api_typing(request: web.Request) -> web.StreamResponse:
    service, conv_id, typing = await _conv_flag(request, "typing")
    shown = service.team is not None and await service.team.set_typing(conv_id, typing)
    return web.json_response({"shown": shown})


@_api
async def api_saved(request: web.Request) -> web.StreamResponse:
    return web.json_response({"replies": saved_replies(_service(request).store)})


@_api
async def api_save(request: web.Request) -> web.StreamResponse:
    body = await _json_body(request)
    name, text = body.get("name"), body.get("text")
    if not isinstance(name, str) or not isinstance(text, str):
        raise InboxError('give {"name": "...", "text": "..."}')
    return web.json_response({"replies": save_reply(_service(request).store, name, text)})


@_api
async def api_unsave(request: web.Request) -> web.StreamResponse:
    await _json_body(request)
    store = _service(request).store
    return web.json_response({"replies": delete_saved_reply(store, request.match_info["name"])})


def add_team_routes(app: web.Application) -> None:
    app.router.add_get("/api/team", api_team)
    app.router.add_post("/api/team/operators", api_invite_operator)
    app.router.add_post("/api/team/operators/{id}/remove", api_remove_operator)
    app.router.add_post("/api/conversations/{id}/assign", api_assign)
    app.router.add_post("/api/conversations/{id}/typing", api_typing)
    app.router.add_get("/api/saved-replies", api_saved)
    app.router.add_post("/api/saved-replies", api_save)
    app.router.add_post("/api/saved-replies/{name}/delete", api_unsave)
