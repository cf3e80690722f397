"""``hushwire room host`` and ``hushwire chat`` as a user runs them: a relay, a room host and
several members, each its own process, talking through loopback."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from hushwire.testing import start_relay_process

TIMEOUT = 60


class Proc:
    """A process whose stdout lines are read by a thread into a queue."""

    def __init__(self, args: list[str], *, stdin: bool = False, log: Path | None = None) -> None:
        """``log``: a file for the process's standard error (discarded without)."""
        err = log.open("wb") if log is not None else None
        self.p = subprocess.Popen(
            [sys.executable, "-m", "hushwire", *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err if err is not None else subprocess.DEVNULL,
            text=True,
        )
        if err is not None:
            err.close()  # the child has its own copy
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, predicate: object, what: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if callable(predicate) and predicate(line):
                return line
        raise AssertionError(f"no {what}; saw {self.seen}")

    def say(self, text: str) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()

    def kill(self) -> None:
        """kill -9, then close its pipe once the reader has seen its end."""
        self.p.kill()
        self.p.wait(30)
        self.reader.join(30)
        for pipe in (self.p.stdin, self.p.stdout):
            if pipe is not None:
                pipe.close()

    def stop(self) -> None:
        if self.p.stdin is not None:
            try:
                self.say("/quit")
                self.p.stdin.close()
            except BrokenPipeError:  # pragma: no cover
                pass
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.p.kill()
        else:
            self.p.terminate()
            self.p.wait(30)
        if self.p.stdout is not None:
            self.p.stdout.close()


class Lab:
    """A relay and the processes of one test: a room host and its members, all stopped at
    the end (``with Lab(tmp_path) as lab``); the relay must stop cleanly."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.relay = start_relay_process(tmp / "relay")
        self.procs: list[Proc] = []

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        for p in reversed(self.procs):
            if p.p.poll() is None:
                p.stop()
        assert self.relay.stop() == 0

    def host_args(self, *extra: str) -> list[str]:
        return [
            "room", "host", "--data", str(self.tmp / "host"), "--relay",
            self.relay.address.encode(), "--ws", self.relay.ws_url, "--name", "Lobby", *extra,
        ]  # fmt: skip

    def start(self, args: list[str], *, stdin: bool = False, log: Path | None = None) -> Proc:
        proc = Proc(args, stdin=stdin, log=log)
        self.procs.append(proc)
        return proc

    def host(self, *extra: str, stdin: bool = False, log: Path | None = None) -> tuple[Proc, str]:
        """A room host and the room's full link (printed below its short link)."""
        host = self.start(self.host_args(*extra), stdin=stdin, log=log)
        return host, host.expect(lambda x: x.startswith("simplex:/contact#"), "link")

    def member(self, link: str, name: str) -> Proc:
        """``hushwire chat LINK`` as ``name`` (its data in a directory of that name)."""
        args = ["chat", link, "--data", str(self.tmp / name), "--ws", self.relay.ws_url]
        return self.start([*args, "--name", name], stdin=True)

    def join(self, link: str, name: str) -> Proc:
        """A member that has joined the room."""
        member = self.member(link, name)
        member.expect(lambda x: x.startswith("Joined the room"), f"{name} joined")
        return member


def test_three_members_talk_and_a_late_joiner_gets_the_last_ten(tmp_path: Path) -> None:
    with Lab(tmp_path) as lab:
        _host, link = lab.host()
        assert "data=" in link and "group" in link

        def join(name: str) -> Proc:
            member = lab.member(link, name)
            member.expect(lambda x: x.startswith("Joined the room Lobby"), f"{name} joined")
            return member

        ada, bob, cy = join("ada"), join("bob"), join("cy")
        ada.expect(lambda x: x == "* cy joined", "ada sees cy join")
        ada.say("hello from ada")
        for other in (bob, cy):
            other.expect(lambda x: x == "< ada: hello from ada", "ada's message")
        bob.say("bob here")
        for other in (ada, cy):
            other.expect(lambda x: x == "< bob: bob here", "bob's message")
        cy.say("and cy")
        for other in (ada, bob):
            other.expect(lambda x: x == "< cy: and cy", "cy's message")
        # nine more: twelve messages in all, each seen before the next is sent
        speakers = [(ada, "ada"), (bob, "bob"), (cy, "cy")]
        for i in range(3, 12):
            who, name = speakers[i % 3]
            listener = speakers[(i + 1) % 3][0]
            who.say(f"message {i}")
            listener.expect(lambda x, n=name, i=i: x == f"< {n}: message {i}", f"message {i}")
        assert ada.seen[:2] == [
            "Joining... (waiting for the other side to accept)",
            "Joined the room Lobby. Type a message and press Enter; /quit to leave, /end to "
            "leave the room.",
        ]
        assert all(x.startswith(("* ", "< ")) for x in ada.seen[2:]), ada.seen

        dee = join("dee")
        texts = ["< ada: hello from ada", "< bob: bob here", "< cy: and cy"] + [
            f"< {speakers[i % 3][1]}: message {i}" for i in range(3, 12)
        ]
        got = [dee.expect(lambda x: x.startswith("< "), f"history {k}") for k in range(10)]
        assert got == texts[2:]
        # and the room goes on with the late joiner in it
        dee.say("hi all")
        for other in (ada, bob, cy):
            other.expect(lambda x: x == "< dee: hi all", "dee's message")
        time.sleep(1)
        assert [x for x in dee.seen if x.startswith("< ")] == texts[2:]


def test_room_survives_a_host_restart(tmp_path: Path) -> None:
    with Lab(tmp_path) as lab:
        host, link = lab.host("--history", "5")

        def join(name: str) -> Proc:
            return lab.member(link, name)

        ada = join("ada")
        ada.expect(lambda x: x.startswith("Joined the room"), "ada joined")
        bob = join("bob")
        bob.expect(lambda x: x.startswith("Joined the room"), "bob joined")
        ada.expect(lambda x: x == "* bob joined", "ada sees bob")
        host.stop()
        # while the host is away: a message waits on the relay, and so does a joiner
        ada.say("while you were away")
        cy = join("cy")
        cy.expect(lambda x: x.startswith("Joining..."), "cy waits")
        host = lab.start(lab.host_args("--history", "5"), stdin=True)
        assert host.expect(lambda x: x.startswith("simplex:"), "link again") == link
        bob.expect(lambda x: x == "< ada: while you were away", "the held message")
        host.say("the host is back")
        ada.expect(lambda x: x == "< Lobby: the host is back", "the host's own message")
        cy.expect(lambda x: x.startswith("Joined the room"), "cy joined after the restart")
        cy.expect(lambda x: x == "< ada: while you were away", "history after the restart")


def test_kill_9_of_the_host_during_joins_leaves_nobody_stuck(tmp_path: Path) -> None:
    with Lab(tmp_path) as lab:
        host, link = lab.host()
        members = [lab.member(link, name) for name in ("ada", "bob", "cy")]
        # the host dies somewhere in the middle of the three joins
        time.sleep(0.8)
        host.kill()
        host = lab.start(lab.host_args())
        host.expect(lambda x: x.startswith("simplex:"), "link again")
        for m in members:
            m.expect(lambda x: x.startswith("Joined the room"), "joined after the crash")
        members[0].say("all here?")
        for m in members[1:]:
            m.expect(lambda x: x == "< ada: all here?", "ada's message once")
        members[1].say("yes")
        members[0].expect(lambda x: x == "< bob: yes", "bob's answer")
        for m in members[1:]:
            assert m.seen.count("< ada: all here?") == 1


def test_clear_history_and_remove_from_the_host(tmp_path: Path) -> None:
    with Lab(tmp_path) as lab:
        host, link = lab.host(stdin=True)

        def join(name: str) -> Proc:
            return lab.join(link, name)

        ada, bob = join("ada"), join("bob")
        ada.expect(lambda x: x == "* bob joined", "ada sees bob")
        for i in range(3):
            ada.say(f"note {i}")
            bob.expect(lambda x, i=i: x == f"< ada: note {i}", f"note {i}")
        host.say("/clear")
        host.expect(lambda x: x == "* history cleared for everybody", "cleared")
        for m in (ada, bob):
            m.expect(lambda x: x == "* 3 messages were deleted", "the clear")
        cy = join("cy")
        host.say("/remove bob")
        host.expect(lambda x: x == "* bob removed", "removed")
        bob.expect(lambda x: x == "* bob was removed", "bob told")
        ada.expect(lambda x: x == "* bob was removed", "ada told")
        ada.say("after")
        cy.expect(lambda x: x == "< ada: after", "a message after the clear")
        assert [x for x in cy.seen if x.startswith("< ")] == ["< ada: after"]
        state = json.loads((tmp_path / "ada" / "room-member.json").read_text())
        assert [item["msg"]["params"]["content"]["text"] for item in state["group"]["log"]] == [
            "after"
        ]


def test_introduced_members_talk_while_the_host_is_away(tmp_path: Path) -> None:
    with Lab(tmp_path) as lab:
        host, link = lab.host("--introduce")

        def join(name: str) -> Proc:
            return lab.join(link, name)

        ada = join("ada")
        bob = join("bob")
        bob.expect(lambda x: x == "* ada joined", "bob is introduced to ada")
        ada.expect(lambda x: x == "* bob joined", "ada hears of bob")
        ada.say("via the host or directly")
        bob.expect(lambda x: x == "< ada: via the host or directly", "first message")
        # wait until both report the direct connection to the host
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            state = json.loads((tmp_path / "bob" / "room-member.json").read_text())
            statuses = [m["status"] for m in state["group"]["members"]]
            if len(state["conns"]) == 1 and statuses.count("connected") == 2:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"bob never connected to ada directly: {state}")
        time.sleep(1)
        host.stop()
        ada.say("the host is gone")
        bob.expect(lambda x: x == "< ada: the host is gone", "a direct message")
        bob.say("we still talk")
        ada.expect(lambda x: x == "< bob: we still talk", "a direct answer")
        assert bob.seen.count("< ada: via the host or directly") == 1


def test_room_survives_a_relay_restart(tmp_path: Path) -> None:
    with Lab(tmp_path) as lab:
        relay = lab.relay
        ports = {"ws_port": relay.ws_port or 0, "tls_port": relay.tls_port or 0}
        _host, link = lab.host()
        ada, bob = lab.join(link, "ada"), lab.join(link, "bob")
        ada.say("before")
        bob.expect(lambda x: x == "< ada: before", "before the restart")
        assert relay.stop() == 0
        lab.relay = start_relay_process(tmp_path / "relay", **ports)
        ada.say("after")
        bob.expect(lambda x: x == "< ada: after", "after the restart")
        bob.say("still here")
        ada.expect(lambda x: x == "< bob: still here", "the answer")
        assert bob.seen.count("< ada: before") == 1


def _log_texts(data: Path) -> list[str]:
    """The texts a member keeps in ``room-member.json`` (what it holds of the room)."""
    state = json.loads((data / "room-member.json").read_text())
    return [item["msg"]["params"]["content"]["text"] for item in state["group"]["log"]]


def test_kill_9_of_a_member_during_history_delivery(tmp_path: Path) -> None:
    """A joiner killed while its history arrives (several batches: long messages) comes back
    with exactly the history: each message once, none missing, in order."""
    with Lab(tmp_path) as lab:
        _host, link = lab.host("--history", "12")
        ada, bob = lab.join(link, "ada"), lab.join(link, "bob")
        texts = [f"{i:02d} " + "h" * 4000 for i in range(12)]  # about four history bodies
        for text in texts:
            ada.say(text)
        bob.expect(lambda x: x == f"< ada: {texts[-1]}", "the last message")
        dee = lab.member(link, "dee")
        dee.expect(lambda x: x.startswith("< ada: "), "the first history message")
        dee.kill()
        again = lab.member(link, "dee")
        ada.say("after the crash")
        again.expect(lambda x: x == "< ada: after the crash", "a message after the crash")
        assert _log_texts(tmp_path / "dee") == [*texts, "after the crash"]
        shown = [x for x in dee.seen + again.seen if x.startswith("< ")]
        assert len(shown) == len(set(shown))  # nothing shown twice
        assert set(shown) <= {f"< ada: {t}" for t in [*texts, "after the crash"]}


def test_kill_9_of_the_relay_during_forwarding(tmp_path: Path) -> None:
    """The relay dies while the host forwards a burst; restarted on the same data directory
    and ports, every message of the burst reaches the other member once, in order."""
    with Lab(tmp_path) as lab:
        relay = lab.relay
        ports = {"ws_port": relay.ws_port or 0, "tls_port": relay.tls_port or 0}
        _host, link = lab.host()
        ada, bob = lab.join(link, "ada"), lab.join(link, "bob")
        ada.expect(lambda x: x == "* bob joined", "ada sees bob")
        burst = [f"burst {i}" for i in range(6)]
        for text in burst:
            ada.say(text)
        bob.expect(lambda x: x == "< ada: burst 0", "the first of the burst")
        relay.kill9()
        lab.relay = start_relay_process(tmp_path / "relay", **ports)
        bob.expect(lambda x: x == "< ada: burst 5", "the last of the burst")
        bob.say("all here")
        ada.expect(lambda x: x == "< bob: all here", "the answer after the crash")
        ada.say("done")
        bob.expect(lambda x: x == "< ada: done", "a message after the answer")
        assert [x for x in bob.seen if x.startswith("< ada: burst")] == [
            f"< ada: {t}" for t in burst
        ]
        assert _log_texts(tmp_path / "bob") == [*burst, "all here", "done"]


def test_a_joiner_over_the_member_limit_is_told_and_the_log_keeps_no_profile(
    tmp_path: Path,
) -> None:
    log = tmp_path / "host.log"
    with Lab(tmp_path) as lab:
        _host, link = lab.host("--max-members", "1", log=log)
        ada = lab.join(link, "ada")
        bob = lab.member(link, "bob-the-secret-name")
        bob.expect(lambda x: x == "The room refused to admit you: the group is full", "the refusal")
        ada.say("still two of us")  # the host and ada: the room goes on
        cy = lab.member(link, "cy")
        cy.expect(lambda x: x.startswith("The room refused"), "a second refusal")
        assert not any(x.startswith("Joined") for x in bob.seen + cy.seen)
        deadline = time.monotonic() + TIMEOUT  # once each has taken its rejection
        while log.read_text().count(": deleted") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    text = log.read_text()
    assert text.count(": deleted") == 2
    assert text.count("a joiner refused: the group has 1 members") == 2
    assert "bob-the-secret-name" not in text
