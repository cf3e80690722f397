"""QR codes of connection links: SVG, PNG and a compact terminal rendering.

A SimpleX app scans these to join a Hushwire contact address or invitation. The link text
is encoded as its exact UTF-8 bytes in byte mode (no case folding, no ECI), error
correction level L raised as far as the chosen version allows (segno ``boost_error``),
with the 4-module quiet zone that ISO/IEC 18004 asks for.
"""

from __future__ import annotations

import io
from typing import Final

import segno

__all__ = ["QUIET_ZONE", "make_qr", "qr_png", "qr_svg", "qr_terminal"]

QUIET_ZONE: Final = 4
"""Light modules around the symbol (ISO/IEC 18004 section 6.3.8)."""

# Foreground black, background bright white, so the code reads the same on a dark or a
# light terminal; reset at the end of every line.
_ANSI_START: Final = "\x1b[30;107m"
_ANSI_RESET: Final = "\x1b[0m"
# (upper module dark, lower module dark) -> half-block character drawn in the foreground.
_HALF_BLOCKS: Final = {
    (False, False): " ",
    (True, False): "\u2580",
    (False, True): "\u2584",
    (True, True): "\u2588",
}


def make_qr(text: str) -> segno.QRCode:
    """The QR code of ``text`` (byte mode, UTF-8); ``ValueError`` if it cannot fit."""
    data = text.encode("utf-8")
    try:
        return segno.make_qr(data, mode="byte", error="l", boost_error=True)
    except segno.DataOverflowError as e:
        raise ValueError(f"the link is too long for a QR code ({len(data)} bytes)") from e


def qr_svg(text: str, *, scale: int = 4, border: int = QUIET_ZONE) -> str:
    """A standalone SVG document, ``(modules + 2 * border) * scale`` pixels square."""
    out = io.BytesIO()
    make_qr(text).save(
        out, kind="svg", scale=scale, border=border, xmldecl=False, dark="#000", light="#fff"
    )
    return out.getvalue().decode("utf-8")


def qr_png(text: str, *, scale: int = 4, border: int = QUIET_ZONE) -> bytes:
    """A PNG image, ``(modules + 2 * border) * scale`` pixels square."""
    out = io.BytesIO()
    make_qr(text).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def qr_terminal(text: str, *, border: int = QUIET_ZONE, ansi: bool = True) -> str:
    """The code drawn with half-block characters, two modules per character cell.

    With ``ansi`` (the default) dark modules are black on a bright white background, so the
    code reads on dark and light terminals alike. Without it, dark modules are drawn in
    the terminal's text colour: readable on a light background only. Lines end with
    ``\\n``; each is ``modules + 2 * border`` cells wide.
    """
    rows = [[bool(m) for m in row] for row in make_qr(text).matrix_iter(scale=1, border=border)]
    rows.append([False] * len(rows[0]))  # pairs up an odd last row; unused when even
    lines = []
    for upper, lower in zip(rows[0::2], rows[1::2], strict=False):
        cells = "".join(_HALF_BLOCKS[u, d] for u, d in zip(upper, lower, strict=True))
        lines.append(f"{_ANSI_START}{cells}{_ANSI_RESET}" if ansi else cells)
    return "".join(f"{line}\n" for line in lines)
