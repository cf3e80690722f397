"""Running the inbox as a service: start the agent and the web UI, print what the owner
needs (address, QR code, embed snippet, login link), stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from hushwire.agent.qr import qr_terminal
from hushwire.agent.routing import RoutingSettings
from hushwire.client import ClientConfig
from hushwire.datadir import DataDirLock, lock_data_dir, stop_on_signals
from hushwire.inbox.auth import login_link, remove_service_file, write_service_file
from hushwire.inbox.grpgate import NEEDS_GRP_RELAY
from hushwire.inbox.service import WIDGET_NOTE, InboxService
from hushwire.inbox.team import TeamHost
from hushwire.inbox.team_common import TeamSettings
from hushwire.inbox.team_operator import TeamOperator
from hushwire.inbox.web import WebServer, start_web
from hushwire.smp.address import SMPServer


@dataclass
class RunningInbox:
    service: InboxService
    web: WebServer
    lock: DataDirLock

    @property
    def login_link(self) -> str:
        return login_link(self.web.port, self.service.secret)

    async def stop(self) -> None:
        try:
            await self.web.stop()
            remove_service_file(self.service.data)
            await self.service.stop()
        finally:
            self.lock.release()


async def start_inbox(
    data: Path,
    relay: SMPServer,
    *,
    ws_url: str | None = None,
    name: str | None = None,
    ui_port: int = 0,
    passphrase: str | None = None,
    client_config: ClientConfig | None = None,
    widget_relay: str | None = None,
    routing: RoutingSettings | None = None,
    team: str | None = None,
    join_team: str | None = None,
    team_settings: TeamSettings | None = None,
    shop: Path | None = None,
    require_grp: bool | None = None,
) -> RunningInbox:
    """``team``: ``host`` (``--team``) or ``operator`` (``--join-team LINK``, joined once)."""
    if join_team is not None:
        team = "operator"
    # First of all: one process per data directory (a second one must not touch the
    # agent store, nor write or remove the service file of the one that runs).
    lock = lock_data_dir(data)
    try:
        service = InboxService(
            data,
            relay,
            ws_url=ws_url,
            name=name,
            passphrase=passphrase,
            client_config=client_config,
            widget_relay=widget_relay,
            routing=routing,
            team=team,
            team_settings=team_settings,
            shop=shop,
            require_grp=require_grp,
        )
        # The history is sealed with the agent store's key under a passphrase.
        try:
            service.store.use_sealer(service.agent.store.sealer)
            if service.team is not None:
                service.team.store.use_sealer(service.agent.store.sealer)
        except BaseException:
            service.store.close()
            service.agent.store.close()
            if service.team is not None:
                service.team.store.close()
            raise
        await service.start()
        try:
            if join_team is not None and isinstance(service.team, TeamOperator):
                await service.team.join_team(join_team)
            web = await start_web(service, ui_port)
        except BaseException:
            await service.stop()
            raise
    except BaseException:
        lock.release()
        raise
    write_service_file(data, web.port)
    return RunningInbox(service, web, lock)


def print_banner(
    inbox: RunningInbox, out: TextIO, *, qr: bool = True, show_login: bool = True
) -> None:
    s = inbox.service
    kind = "business address of a team inbox" if s.team_role == "host" else "contact address"
    print(f"{kind.capitalize()} ({s.name}):", file=out)
    if s.short_address:
        print(s.short_address, file=out)
    print(s.address, file=out)
    if qr:
        print(qr_terminal(s.short_address or s.address), file=out, end="")
    if s.snippet:
        print("Widget embed snippet (paste into your site's pages):", file=out)
        print(s.snippet, file=out)
    else:
        print(NEEDS_GRP_RELAY if s.require_grp else WIDGET_NOTE, file=out)
    if isinstance(s.team, TeamHost):
        ops = ", ".join(o["name"] for o in s.team.operators_json()) or "none yet"
        print(
            f"Team operators: {ops}. Invite one: hushwire inbox invite-operator --data {s.data}",
            file=out,
        )
    elif isinstance(s.team, TeamOperator):
        team = s.team.team_json()
        if team is not None:
            print(f"Operator of the team inbox {team['name']} ({team['status']})", file=out)
    if s.shop_file is not None:
        count = len(s.shop_file.catalog.products)
        print(f"Shop: {count} products from {s.shop_file.path}; orders under Orders", file=out)
    print(f"Inbox web UI: {inbox.web.url} (this machine only)", file=out)
    if show_login:
        print(f"Log in: {inbox.login_link}", file=out)
    else:
        print(f"Log in: run `hushwire inbox link --data {s.data}` for the login link", file=out)
    out.flush()


def serve_forever(
    start: Callable[[], Awaitable[RunningInbox]], *, qr: bool = True, out: TextIO = sys.stdout
) -> None:
    """Start the inbox with ``start`` (a call of :func:`start_inbox`), print its banner and
    run it until SIGTERM/SIGINT."""

    async def go() -> None:
        stop = stop_on_signals()
        inbox = await start()
        try:
            # The login link holds the secret: printed on a terminal, not into a log.
            print_banner(inbox, out, qr=qr, show_login=out.isatty())
            await stop.wait()
        finally:
            await inbox.stop()

    asyncio.run(go())
