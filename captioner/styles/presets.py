"""Platform presets and house styles: caption geometry, style and timing rules, as data.

The presets live in ``presets.toml`` beside this module; a ``--style FILE.toml``
overrides any of their fields with the same keys.  Pixel values are for a
1080x1920 frame and are scaled to the real frame size.  Sources and reasoning:
``../shared/docs/caption-standards.md`` (§ numbers in the data file).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..media.files import local_file, read_data_file
from .colours import parse_hex_colour
from .fonts import FONT_PACKAGE_PATTERN, FONT_SUFFIXES, MAX_FONT_BYTES

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REFERENCE_WIDTH, REFERENCE_HEIGHT = 1080, 1920
MAX_STYLE_BYTES = 1_000_000  # a house style is a few hundred bytes of TOML
MIN_SIGN_FRACTION = 1 / 6  # Ofcom's minimum interpreter size (§9)


@dataclass(frozen=True)
class Preset:
    name: str
    description: str = ""
    # Visible area no platform UI covers, in px at 1080x1920 (§8).
    safe_top: int = 240
    safe_bottom: int = 240
    safe_left: int = 54
    safe_right: int = 54
    rail: str = "none"  # side of the platform's button rail: left, right or none
    # Caption band edges: the box (padding included) stays inside.
    band_left: int = 54
    band_right: int = 54
    band_bottom: int = 240  # distance of the band's bottom edge from the frame's bottom
    band_top: int = 240  # highest the top line may reach, from the frame's top
    # Text: em in px per 1080 px of the frame's shorter side (§6: visible em 60-64 px;
    # 58 px gives a line pitch of 84 px = 4.4% of 1920, inside BBC's 3.9-4.5%).
    em_px: float = 58.0
    line_pitch_em: float = 1.45  # §7: 1.4-1.6 x font
    box_padding_em: float = 0.5  # §6: 0.5 em at the sides (BBC)
    box_opacity: float = 0.75  # §6/§11: 75% black (>= 66% gives 7:1 on white)
    text_colour: str = "#FFFFFF"
    box_colour: str = "#000000"
    highlight_colour: str = "#FFFF00"  # the spoken word with --highlight word: BBC yellow, 19.6:1 on black (§6)
    font_package: str = "fontpkg_noto_sans_arabic"
    font_file: str = ""  # a .ttf/.otf instead of the package's font
    # Rules (§1-§3).
    max_cps: float = 20.0  # adult Arabic subtitles
    max_lines: int = 2
    max_chars: int = 42  # a cap only: rendered width is the real limit (§3)
    min_duration: float = 5 / 6
    max_duration: float = 7.0
    chain_gap: float = 0.5  # gaps up to this are closed to min_gap_frames
    min_gap_frames: int = 2
    max_linger: float = 1.5  # out-time at most this long after the speech ends (BBC §5)
    # Sign-language interpreter inset: default share of the frame's area (§9: at least 1/6).
    sign_size: float = MIN_SIGN_FRACTION

    def scaled(self, width: int, height: int) -> "Geometry":
        sx, sy = width / REFERENCE_WIDTH, height / REFERENCE_HEIGHT
        em = self.em_px * min(width, height) / REFERENCE_WIDTH
        return Geometry(
            width=width,
            height=height,
            left=round(self.band_left * sx),
            right=round(width - self.band_right * sx),
            bottom=round(height - self.band_bottom * sy),
            top=round(self.band_top * sy),
            em=em,
            safe=(
                round(self.safe_left * sx),
                round(self.safe_top * sy),
                round(width - self.safe_right * sx),
                round(height - self.safe_bottom * sy),
            ),
        )

    def with_overrides(self, **changes) -> "Preset":
        return replace(self, **changes)


@dataclass(frozen=True)
class Geometry:
    """A preset's caption band and safe area in the pixels of one frame."""

    width: int
    height: int
    left: int
    right: int
    bottom: int
    top: int
    em: float
    safe: tuple[int, int, int, int] = (0, 0, 0, 0)  # left, top, right, bottom

    @property
    def centre_x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def box_width(self) -> int:
        return self.right - self.left

    def text_width(self, padding_em: float) -> float:
        """Widest line of text: the band less the box's side padding."""
        return self.box_width - 2 * padding_em * self.em


# --- validation: one rule per field, shared by presets.toml and --style files ---------------

def _number(low: float, high: float, integer: bool = False):
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            raise ValueError(f"must be {'a whole number' if integer else 'a number'} from {low:g} to {high:g}")
        if not low <= value <= high:
            raise ValueError(f"must be from {low:g} to {high:g}, not {value}")
        return value if integer else float(value)

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


def _font_package(value: Any) -> str:
    # Only a name of the fontpkg family: it is looked up as installed data, never imported (styles/fonts.py).
    if not isinstance(value, str) or not FONT_PACKAGE_PATTERN.match(value.lower()):
        raise ValueError(f"must name a fontpkg font package (fontpkg_NAME), not {value!r}; "
                         "for any other font set font_file")
    return value


def _choice(*options: str):
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, not {value!r}")
        return value

    return check


_PX_W = _number(0, REFERENCE_WIDTH, integer=True)
_PX_H = _number(0, REFERENCE_HEIGHT, integer=True)
_VALIDATORS = {
    "description": _text,
    "safe_top": _PX_H, "safe_bottom": _PX_H, "safe_left": _PX_W, "safe_right": _PX_W,
    "rail": _choice("left", "right", "none"),
    "band_left": _PX_W, "band_right": _PX_W, "band_bottom": _PX_H, "band_top": _PX_H,
    "em_px": _number(16, 160),
    "line_pitch_em": _number(1.0, 3.0),
    "box_padding_em": _number(0.0, 2.0),
    "box_opacity": _number(0.0, 1.0),
    "text_colour": parse_hex_colour, "box_colour": parse_hex_colour, "highlight_colour": parse_hex_colour,
    "font_package": _font_package,
    "font_file": _text,
    "max_cps": _number(5, 40),
    "max_lines": _number(1, 3, integer=True),
    "max_chars": _number(10, 100, integer=True),
    "min_duration": _number(0.2, 5.0),
    "max_duration": _number(1.0, 20.0),
    "chain_gap": _number(0.0, 3.0),
    "min_gap_frames": _number(0, 12, integer=True),
    "max_linger": _number(0.0, 5.0),
    "sign_size": _number(MIN_SIGN_FRACTION, 0.5),
}
FIELDS = tuple(f.name for f in fields(Preset) if f.name != "name")
assert set(_VALIDATORS) == set(FIELDS)


def _apply(base: Preset, values: dict, source: str, folder: Path | None) -> Preset:
    changes = {}
    for key, value in values.items():
        if key not in _VALIDATORS:
            raise InputError(f"{source}: unknown key {key!r} (known: {', '.join(FIELDS)})")
        try:
            changes[key] = _VALIDATORS[key](value)
        except ValueError as exc:
            raise InputError(f"{source}: {key} {exc}") from None
    if changes.get("font_file") and folder is not None:
        font = Path(changes["font_file"]).expanduser()
        changes["font_file"] = str(font if font.is_absolute() else (folder / font).resolve())
    if "font_package" in changes and "font_file" not in changes:
        changes["font_file"] = ""  # a house style that names a package means that package
    preset = replace(base, **changes)
    _check_consistent(preset, source)
    return preset


def _check_consistent(p: Preset, source: str) -> None:
    if REFERENCE_WIDTH - p.band_left - p.band_right < 300:
        raise InputError(f"{source}: band_left + band_right leave less than 300 px of the 1080 px width for captions")
    if REFERENCE_WIDTH - p.safe_left - p.safe_right < 300 or REFERENCE_HEIGHT - p.safe_top - p.safe_bottom < 600:
        raise InputError(f"{source}: the safe area is smaller than 300x600 px")
    if p.band_top >= REFERENCE_HEIGHT - p.band_bottom - p.em_px * p.line_pitch_em:
        raise InputError(f"{source}: band_top leaves no room for a caption line above band_bottom")
    if p.min_duration >= p.max_duration:
        raise InputError(f"{source}: min_duration must be shorter than max_duration")
    if p.font_file:
        if not Path(p.font_file).is_file() and not Path(p.font_file).exists():
            raise InputError(f"{source}: font_file {p.font_file!r} does not exist")
        try:
            local_file(p.font_file, max_bytes=MAX_FONT_BYTES)
        except InputError as exc:
            raise InputError(f"{source}: font_file {exc}") from None
        if not p.font_file.lower().endswith(FONT_SUFFIXES):
            raise InputError(f"{source}: font_file {p.font_file!r} must be a font file ({', '.join(FONT_SUFFIXES)})")


@functools.lru_cache(maxsize=1)
def _load_builtin() -> dict[str, Preset]:
    data = tomllib.loads((Path(__file__).with_name("presets.toml")).read_text(encoding="utf-8"))
    presets: dict[str, Preset] = {}
    for name, values in data.items():
        values = dict(values)
        parent = values.pop("inherits", None)
        base = replace(presets[parent], name=name) if parent else Preset(name)
        presets[name] = _apply(base, values, f"presets.toml [{name}]", None)
    return presets


PRESETS: dict[str, Preset] = _load_builtin()


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown preset {name!r} (available: {', '.join(PRESETS)})") from None


def load_style(path: str | Path, base: Preset) -> Preset:
    """A house style: ``base`` with the fields a TOML file sets (or the preset it names) replaced.

    Unknown keys, wrong types and out-of-range values are one-line errors that
    name the file and the key.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise InputError(f"{path}: style file not found")
    raw = read_data_file(path, "style file", MAX_STYLE_BYTES)
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot read style file: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: not valid TOML: nested too deeply") from None
    if "preset" in data:
        name = data.pop("preset")
        if not isinstance(name, str) or name not in PRESETS:
            raise InputError(f"{path}: preset must be one of {', '.join(PRESETS)}, not {name!r}")
        base = PRESETS[name]
    nested = [k for k, v in data.items() if isinstance(v, dict)]
    if nested:
        raise InputError(f"{path}: unknown table [{nested[0]}] (a style file sets keys at the top level)")
    return replace(_apply(base, data, str(path), path.parent.resolve()), name=f"{base.name}+{path.stem}")
