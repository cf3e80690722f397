"""hushwire.agent.qr: structural checks (no QR decoder offline): SVG size, PNG header and
dimensions, terminal geometry, and that the exact link bytes are encoded in byte mode."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET

import pytest
import segno

from conftest import load_vectors
from hushwire.agent.qr import QUIET_ZONE, make_qr, qr_png, qr_svg, qr_terminal

LINK = load_vectors("agent_links.json")["contact_link"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _reference(text: str) -> segno.QRCode:
    return segno.make_qr(text.encode("utf-8"), mode="byte", error="l", boost_error=True)


def test_make_qr_encodes_the_exact_bytes_in_byte_mode() -> None:
    qr = make_qr(LINK)
    assert qr.mode == "byte"
    assert not qr.is_micro
    ref = _reference(LINK)
    assert qr.version == ref.version
    assert list(qr.matrix_iter(border=0)) == list(ref.matrix_iter(border=0))
    # Case is kept (alphanumeric mode would upper-case), so another case is another code.
    assert list(make_qr(LINK.upper()).matrix_iter(border=0)) != list(qr.matrix_iter(border=0))


def test_unicode_is_encoded_as_utf8() -> None:
    text = "simplex:/contact#/?data=привет"
    assert list(make_qr(text).matrix_iter(border=0)) == list(_reference(text).matrix_iter(border=0))


def test_too_long_for_a_qr_code() -> None:
    with pytest.raises(ValueError, match="too long"):
        make_qr("x" * 3000)


def test_svg_is_xml_of_the_right_size() -> None:
    modules = make_qr(LINK).symbol_size(border=0)[0]
    svg = qr_svg(LINK, scale=3)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    side = (modules + 2 * QUIET_ZONE) * 3
    assert root.get("width") == str(side)
    assert root.get("height") == str(side)
    assert "#fff" in svg  # light modules are painted, not transparent


def test_png_signature_and_dimensions() -> None:
    modules = make_qr(LINK).symbol_size(border=0)[0]
    png = qr_png(LINK, scale=2, border=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width == height == (modules + 2) * 2


@pytest.mark.parametrize("border", [QUIET_ZONE, 1])
def test_terminal_geometry(border: int) -> None:
    qr = make_qr(LINK)
    side = qr.symbol_size(border=border)[0]
    out = qr_terminal(LINK, border=border)
    lines = out.split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) == (side + 1) // 2
    for line in lines:
        assert line.startswith("\x1b[30;107m") and line.endswith("\x1b[0m")
        assert len(ANSI.sub("", line)) == side


def test_terminal_draws_the_matrix() -> None:
    qr = make_qr("hello")
    rows = [[bool(m) for m in r] for r in qr.matrix_iter(border=QUIET_ZONE)]
    rows.append([False] * len(rows[0]))  # odd number of rows: padded with light
    plain = qr_terminal("hello", ansi=False).splitlines()
    chars = {" ": (False, False), "▀": (True, False), "▄": (False, True), "█": (True, True)}
    for i, line in enumerate(plain):
        for j, c in enumerate(line):
            assert chars[c] == (rows[2 * i][j], rows[2 * i + 1][j])
    # The quiet zone is light: first two lines and the margins are blank.
    assert plain[0].strip() == plain[1].strip() == ""
    assert all(line[:QUIET_ZONE] == " " * QUIET_ZONE for line in plain)


def test_version_1_terminal_is_compact() -> None:
    qr = make_qr("hi")
    assert qr.version == 1  # 21 modules
    out = qr_terminal("hi", ansi=False)
    assert len(out.splitlines()) == (21 + 2 * QUIET_ZONE + 1) // 2 == 15
