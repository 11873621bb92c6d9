"""Colours as presets, style files and flags write them: ``#RRGGBB``."""

from __future__ import annotations

import re

_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


def parse_hex_colour(value: object) -> str:
    """``#RRGGBB`` in upper case; ValueError for anything else."""
    if not isinstance(value, str) or not _HEX.match(value):
        raise ValueError(f"must be a colour written #RRGGBB, not {value!r}")
    return value.upper()


def rgb(hex_colour: str) -> tuple[int, int, int]:
    """The red, green and blue of ``#RRGGBB``, 0-255."""
    h = parse_hex_colour(hex_colour)
    return int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)


def ass_colour(hex_colour: str, opacity: float = 1.0) -> tuple[str, str]:
    """``#RRGGBB`` and an opacity as an ASS override colour and alpha (``&HBBGGRR&``, ``&HAA&``)."""
    r, g, b = rgb(hex_colour)
    return f"&H{b:02X}{g:02X}{r:02X}&", f"&H{round(255 * (1 - opacity)):02X}&"
