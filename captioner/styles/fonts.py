"""The caption font: found in a Python package, measured with HarfBuzz.

libass shapes with HarfBuzz too, so advances measured here are the widths
libass draws.  Vertical metrics follow libass: it requests the FreeType size
``REAL_DIM`` on OS/2 winAscent + winDescent, so an ASS ``Fontsize`` of *F*
gives an em of ``F * unitsPerEm / (winAscent + winDescent)`` pixels
(rtl-and-peers L6).
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import uharfbuzz as hb

from ..errors import CaptionerError, InputError

DEFAULT_FONT_PACKAGE = "fontpkg_noto_sans_arabic"
# The font packages a style may name: the fontpkg family on PyPI (fontpkg-noto-sans-arabic,
# fontpkg-amiri...), distributions of font files only, under PACKAGE/files/.
FONT_PACKAGE_PATTERN = re.compile(r"^fontpkg[_-][a-z0-9]+(?:[_-][a-z0-9]+)*$")
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
MAX_FONT_BYTES = 200_000_000


@dataclass(frozen=True)
class FontInfo:
    path: Path
    family: str
    units_per_em: int
    win_ascent: int
    win_descent: int

    @property
    def ass_size_ratio(self) -> float:
        """ASS Fontsize per pixel of em."""
        return (self.win_ascent + self.win_descent) / self.units_per_em


def package_font(package: str = DEFAULT_FONT_PACKAGE) -> Path:
    """The regular font file shipped by a fontpkg package (``PACKAGE/files/*.ttf``), found without importing it.

    A style file is data: the package it names is looked up by its installed
    metadata (the file list pip recorded) and its font is read as a file;
    nothing named by the style is imported or run.  Only the fontpkg family
    of font-only packages may be named (:data:`FONT_PACKAGE_PATTERN`); any
    other font is a ``font_file``.
    """
    if not isinstance(package, str) or not FONT_PACKAGE_PATTERN.match(package.lower()):
        raise InputError(f"font package {package!r} is not a fontpkg font package (fontpkg_NAME); "
                         "name a .ttf/.otf file with font_file instead")
    return _package_font(package.lower().replace("-", "_"))


@functools.lru_cache(maxsize=16)
def _package_font(module: str) -> Path:
    dist = _installed(module.replace("_", "-"))
    if dist is None:
        if module == DEFAULT_FONT_PACKAGE:
            raise CaptionerError("the caption font is missing: pip install fontpkg-noto-sans-arabic")
        raise InputError(f"font package {module!r} is not installed here; name a .ttf/.otf file with font_file "
                         "instead")
    root = Path(dist.locate_file(module)).resolve()
    files = []
    for entry in dist.files or ():
        parts = Path(str(entry)).parts
        if len(parts) == 3 and parts[0] == module and parts[1] == "files" and parts[2].lower().endswith(FONT_SUFFIXES):
            path = Path(dist.locate_file(entry)).resolve()
            if root in path.parents and path.is_file():
                files.append(path)
    if not files:
        raise CaptionerError(f"font package {module!r} ships no .ttf/.otf file")
    files.sort()
    regular = [f for f in files if "Regular" in f.name or "[" in f.name]
    return (regular or files)[0]


def _installed(distribution: str):
    """An installed distribution by name, from the interpreter's package folders only (not the current folder)."""
    try:
        here = Path.cwd().resolve()
    except OSError:
        here = None
    paths = [p for p in sys.path if p and os.path.isabs(p) and (here is None or Path(p).resolve() != here)]
    for dist in importlib.metadata.distributions(name=distribution, path=paths):
        return dist
    return None


@functools.lru_cache(maxsize=8)
def font_info(path: Path) -> FontInfo:
    face = hb.Face(hb.Blob.from_file_path(str(path)))
    os2 = face.reference_table("OS/2").data
    if len(os2) < 78:
        raise CaptionerError(f"{path}: font has no usable OS/2 table")
    # OS/2 usWinAscent and usWinDescent are uint16 at offsets 74 and 76.
    win_ascent, win_descent = struct.unpack(">HH", bytes(os2[74:78]))
    return FontInfo(path, _family_name(face) or path.stem, face.upem, win_ascent, win_descent)


def _family_name(face) -> str | None:
    for name_id in (hb.OTNameIdPredefined.TYPOGRAPHIC_FAMILY, hb.OTNameIdPredefined.FONT_FAMILY):
        name = face.get_name(name_id)
        if name:
            return name
    return None


class TextMeasurer:
    """Measures shaped line widths and ink extents in pixels at a given em size."""

    def __init__(self, path: Path, em_px: float) -> None:
        self.info = font_info(path)
        self.em_px = em_px
        self._font = hb.Font(hb.Face(hb.Blob.from_file_path(str(path))))
        self._scale = em_px / self.info.units_per_em
        self._cache: dict[str, float] = {}

    def _shape(self, text: str):
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        hb.shape(self._font, buf, {})
        return buf

    def width(self, text: str) -> float:
        """Advance width of one line, shaped as libass shapes it."""
        if text not in self._cache:
            buf = self._shape(text)
            self._cache[text] = sum(p.x_advance for p in buf.glyph_positions) * self._scale
        return self._cache[text]

    def opens_with_mark(self, text: str) -> bool:
        """Whether the leftmost glyph of the shaped line has no advance (a dot or mark placed before its
        letter): libass centres such lines off their advance centre (:mod:`captioner.render.centring`)."""
        buf = self._shape(text)
        return bool(buf.glyph_positions) and buf.glyph_positions[0].x_advance == 0

    def ink_extent(self, text: str) -> tuple[float, float]:
        """(highest ink above the baseline, lowest ink below it) in pixels, marks included."""
        buf = self._shape(text)
        top = bottom = 0.0
        for info, pos in zip(buf.glyph_infos, buf.glyph_positions):
            ext = self._font.get_glyph_extents(info.codepoint)
            if ext is None:
                continue
            glyph_top = pos.y_offset + ext.y_bearing
            glyph_bottom = glyph_top + ext.height
            top = max(top, glyph_top)
            bottom = min(bottom, glyph_bottom)
        return top * self._scale, -bottom * self._scale
