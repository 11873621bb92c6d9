"""Platform presets: caption geometry, style and timing rules, as data.

Pixel values are for a 1080x1920 frame and are scaled to the real frame size.
Sources and reasoning: ``../shared/docs/caption-standards.md`` (§ numbers below).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    # Caption band edges in px at 1080x1920: the box (padding included) stays inside.
    band_left: int
    band_right: int
    band_bottom: int  # distance of the band's bottom edge from the frame's bottom
    band_top: int  # highest the top line may reach, from the frame's top
    # Text: em in px per 1080 px of the frame's shorter side (§6: visible em 60-64 px;
    # 58 px gives a line pitch of 84 px = 4.4% of 1920, inside BBC's 3.9-4.5%).
    em_px: float = 58.0
    line_pitch_em: float = 1.45  # §7: 1.4-1.6 x font
    box_padding_em: float = 0.5  # §6: 0.5 em at the sides (BBC)
    box_opacity: float = 0.75  # §6/§11: 75% black (>= 66% gives 7:1 on white)
    text_colour: str = "#FFFFFF"
    box_colour: str = "#000000"
    font_package: str = "fontpkg_noto_sans_arabic"
    # Rules (§1-§3).
    max_cps: float = 20.0  # adult Arabic subtitles
    max_lines: int = 2
    max_chars: int = 42  # a cap only: rendered width is the real limit (§3)
    min_duration: float = 5 / 6
    max_duration: float = 7.0
    chain_gap: float = 0.5  # gaps up to this are closed to min_gap_frames
    min_gap_frames: int = 2
    max_linger: float = 1.5  # out-time at most this long after the speech ends (BBC §5)

    def scaled(self, width: int, height: int) -> "Geometry":
        sx, sy = width / 1080, height / 1920
        em = self.em_px * min(width, height) / 1080
        return Geometry(
            width=width,
            height=height,
            left=round(self.band_left * sx),
            right=round(width - self.band_right * sx),
            bottom=round(height - self.band_bottom * sy),
            top=round(self.band_top * sy),
            em=em,
        )

    def with_overrides(self, **changes) -> "Preset":
        return replace(self, **changes)


@dataclass(frozen=True)
class Geometry:
    """A preset's caption band in the pixels of one frame."""

    width: int
    height: int
    left: int
    right: int
    bottom: int
    top: int
    em: float

    @property
    def centre_x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def box_width(self) -> int:
        return self.right - self.left

    def text_width(self, padding_em: float) -> float:
        """Widest line of text: the band less the box's side padding."""
        return self.box_width - 2 * padding_em * self.em


TIKTOK = Preset(
    name="tiktok",
    description="TikTok, Arabic UI: the button rail is mirrored to the left (§8), so the band "
    "keeps 180 px clear on the left and 120 px on the right, bottom edge at y 1420",
    band_left=180,
    band_right=120,
    band_bottom=500,
    band_top=840,
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        TIKTOK,
        replace(
            TIKTOK,
            name="children",
            description="as tiktok, with the children's reading speed of 17 characters per second (§2)",
            max_cps=17.0,
        ),
        Preset(
            name="generic",
            description="no platform UI: BBC 9:16 region (§8), 54 px sides, 240 px bottom",
            band_left=54,
            band_right=54,
            band_bottom=240,
            band_top=240,
        ),
    )
}


def get_preset(name: str) -> Preset:
    from .errors import InputError

    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown preset {name!r} (available: {', '.join(PRESETS)})") from None
