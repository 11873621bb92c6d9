"""The sign-language interpreter inset: where it goes, and how ffmpeg draws it.

Rules (``../shared/docs/caption-standards.md`` §9): at least 1/6 of the picture
(Ofcom), the whole signing space visible (so the interpreter's video is scaled,
never cropped), opposite the platform's button rail, above the caption band and
never overlapping it.  The inset is placed as low as it can go above the
captions, so the eye moves little between signer and text; when it is too tall
for that, its top sits at the safe area's top and the caption band narrows to
the side away from it (the line widths are then measured for that band).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..media.probe import MediaInfo, probe
from ..styles.colours import parse_hex_colour, rgb
from ..styles.presets import MIN_SIGN_FRACTION, Preset
from ..styles.style import CaptionStyle
from .ffmpeg import media_input
from .layout import nominal_pitch

# Chroma-key colours: studio green and blue screens, not pure #00FF00/#0000FF.
KEY_COLOURS = {"green": "#00B140", "blue": "#0047BB"}
# colorkey: RGB distance from the key colour that counts as background, and the soft edge
# beyond it.  (ffmpeg's chromakey keys in YUV but costs 4-5x as much per pixel here.)
_KEY_SIMILARITY, _KEY_BLEND = 0.25, 0.1
_BORDER_PX = 6  # at 1080 wide
_BORDER_COLOUR = "#FFFFFF"  # contrasts with the dark caption box and most backgrounds
_GAP_EM = 0.5  # between the inset and the captions
# The caption band may narrow to make room, but not below this share of its width.
_MIN_BAND_SHARE = 0.45
# Interpreters up to this frame area are decoded on one thread: next to the main
# video's decoder and x264, which keep every core busy, a frame-threaded decoder
# only adds hand-offs (measured: the inset ~4% cheaper per plain re-encode at
# 720x1280).  A larger one keeps frame threads, so it never holds the pass back.
_ONE_THREAD_MAX_PIXELS = 1920 * 1080


@dataclass(frozen=True)
class SignOptions:
    """What ``--sign`` and its companions ask for."""

    path: Path
    position: str = "auto"  # auto | left | right
    size: float | None = None  # share of the frame's area; None: the preset's (1/6)
    offset: float = 0.0  # seconds: the interpreter starts this late (negative: its first seconds are skipped)
    key: str = "none"  # none | green | blue | #RRGGBB
    border: bool = False
    hold: bool = False  # show the last frame when the interpreter ends early

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if self.position not in ("auto", "left", "right"):
            raise InputError(f"sign position must be auto, left or right, not {self.position!r}")
        if self.size is not None and not MIN_SIGN_FRACTION - 1e-9 <= self.size <= 0.5:
            raise InputError(
                f"sign size {self.size:g} is outside 1/6 ({MIN_SIGN_FRACTION:.3f}, the smallest an interpreter "
                "stays discernible) to 0.5 of the frame"
            )
        if not math.isfinite(self.offset):
            raise InputError("sign offset must be a number of seconds")
        key_colour(self.key)  # validates

    @property
    def keyed(self) -> bool:
        return self.key != "none"


def key_colour(key: str) -> str | None:
    if key == "none":
        return None
    try:
        return parse_hex_colour(KEY_COLOURS.get(key, key))
    except ValueError:
        raise InputError(f"sign key must be none, green, blue or #RRGGBB, not {key!r}") from None


@dataclass(frozen=True)
class Inset:
    """The interpreter's picture in frame pixels: content at (x, y), size (width, height), plus a border."""

    x: int
    y: int
    width: int
    height: int
    border: int
    side: str
    source_pixels: int = 0  # the interpreter's own frame area, which sets how it is decoded

    @property
    def rect(self) -> tuple[int, int, int, int]:
        """left, top, right, bottom of everything drawn, border included."""
        b = self.border
        return self.x - b, self.y - b, self.x + self.width + b, self.y + self.height + b


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def side_for(preset: Preset, position: str) -> str:
    if position != "auto":
        return position
    return {"left": "right", "right": "left"}.get(preset.rail, "right")


def caption_block_height(style: CaptionStyle, lines: int) -> float:
    """How far above the band's bottom ``lines`` caption lines reach (their boxes)."""
    return lines * nominal_pitch(style)


def caption_room(style: CaptionStyle, inset: Inset | None = None) -> int:
    """How many caption lines fit above the band's bottom: up to the band's top (and the safe
    area's), or up to the interpreter where it sits above the captions."""
    g = style.geometry
    top = max(g.top, g.safe[1])
    if inset is not None:
        left, _, right, bottom = inset.rect
        if left < g.right and right > g.left and bottom <= g.bottom:
            top = max(top, bottom + round(_GAP_EM * style.em))
    return max(1, int((g.bottom - top) // nominal_pitch(style)))


def place(style: CaptionStyle, source: MediaInfo, options: SignOptions, lines: int) -> tuple[Inset, CaptionStyle]:
    """Place the inset for an interpreter video; return it and the caption style, its band narrowed if need be."""
    g, preset = style.geometry, style.preset
    width, height = g.width, g.height
    share = options.size or preset.sign_size
    aspect = source.display_width / source.display_height
    w = _even(math.sqrt(share * width * height * aspect))
    h = _even(w / aspect)
    border = round(_BORDER_PX * width / 1080) if options.border and not options.keyed else 0
    s_left, s_top, s_right, s_bottom = g.safe
    room_w, room_h = s_right - s_left - 2 * border, s_bottom - s_top - 2 * border
    if w > room_w or h > room_h:
        fit = min(room_w / w, room_h / h) ** 2 * share
        raise InputError(
            f"an interpreter of {source.display_width}x{source.display_height} at {share:.3f} of the frame "
            f"({w}x{h} px) does not fit in the {preset.name} safe area; at most {fit:.3f} fits"
        )
    side = side_for(preset, options.position)
    x = s_right - border - w if side == "right" else s_left + border
    gap = round(_GAP_EM * style.em)
    captions_top = g.bottom - caption_block_height(style, lines)
    y = int(captions_top - gap - border - h)
    pixels = source.width * source.height
    if y - border >= s_top:
        return Inset(x, y, w, h, border, side, pixels), style
    # Too tall to sit above the captions: top at the safe area's top, band narrowed beside it.
    y = s_top + border
    if side == "right":
        left, right = g.left, min(g.right, x - border - gap)
    else:
        left, right = max(g.left, x + w + border + gap), g.right
    if right - left < _MIN_BAND_SHARE * (g.right - g.left):
        above = (captions_top - gap - s_top - 2 * border) / h
        fit = max(MIN_SIGN_FRACTION, share * min(above, 1.0) ** 2)
        raise InputError(
            f"an interpreter at {share:.3f} of the frame leaves the captions too little room; "
            f"at most about {fit:.3f} fits above them with the {preset.name} preset"
        )
    return Inset(x, y, w, h, border, side, pixels), style.with_band(left, right)


def sign_stream(options: SignOptions, inset: Inset):
    """The interpreter's video as an ffmpeg-python stream, timed, scaled, keyed or framed."""
    # -ss before -i for a negative offset seeks the interpreter (its first seconds skipped).
    # The picture is shrunk to the inset, so H.264's deblocking filter would smooth
    # nothing that shows: skipping it makes decoding the interpreter ~25% cheaper.
    input_args = {"skip_loop_filter": "all"}
    if 0 < inset.source_pixels <= _ONE_THREAD_MAX_PIXELS:
        input_args["threads"] = 1
    if options.offset < 0:
        input_args["ss"] = f"{-options.offset:.3f}"
    stream = media_input(options.path, **input_args)["v:0"]
    delay = max(options.offset, 0.0)
    stream = stream.filter("setpts", f"PTS-STARTPTS+{delay:.3f}/TB")
    # "area" averages the source pixels each output pixel covers: the right filter for
    # shrinking (no aliasing on the signer's fingers) and cheaper than bilinear here.
    stream = stream.filter("scale", inset.width, inset.height, flags="area")
    colour = key_colour(options.key)
    if colour:
        # Keyed with a soft edge; despill pulls the key colour out of the edges and
        # the hair, so no green (or blue) fringe stays.
        stream = stream.filter("format", "rgba")
        stream = stream.filter("colorkey", color=colour.replace("#", "0x"), similarity=_KEY_SIMILARITY, blend=_KEY_BLEND)
        r, g, b = rgb(colour)
        stream = stream.filter("despill", type="blue" if b > g else "green", mix=0.5, expand=0.1)
    elif inset.border:
        stream = stream.filter(
            "pad", inset.width + 2 * inset.border, inset.height + 2 * inset.border, inset.border, inset.border,
            color=_BORDER_COLOUR.replace("#", "0x"),
        )
    return stream


def overlay_position(inset: Inset) -> tuple[int, int]:
    return inset.x - inset.border, inset.y - inset.border


def check_sign_input(path: str | os.PathLike) -> MediaInfo:
    """Probe the interpreter video before any encoding: missing, unreadable or no video fails here."""
    try:
        return probe(path, require_audio=False, require_video=True)
    except InputError as exc:
        raise InputError(f"interpreter video: {exc}") from None
