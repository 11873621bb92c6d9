"""The caption track: every cue rendered once by libass, then overlaid on the video.

Drawing captions with ffmpeg's ``ass`` filter re-lays out and re-blends every
caption on every frame (about 3 ms a frame at 1080x1920), which costs 10-20%
of an ultrafast encode.  Captions change a few times a second at most, so
captioner renders each cue once — libass shapes and rasterises the text exactly
as the ``ass`` filter would — composites it over its boxes into one RGBA image
of the caption band, and lists the images with their times in an ffconcat file.
The burn pass then blends that image sequence with ffmpeg's SIMD ``overlay``
filter: still one encode, audio still copied.

libass's output is taken as coverage only (its alpha channel), so colours and
box opacity are exact: ffmpeg's ``ass`` filter with ``alpha=1`` writes TV-range
colours and multiplies a translucent drawing's alpha twice.
"""

from __future__ import annotations

import struct
import subprocess
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..captions.timing import cue_words, word_starts
from ..cues import Cue
from ..errors import CaptionerError
from ..processes import child_options
from ..styles.colours import rgb
from ..styles.style import CaptionStyle
from ..text.bidi import is_rtl_text, rtl_mark
from .ass_script import burn_script
from .centring import needs_measuring
from .ffmpeg import error_summary
from .layout import layout_cue


@dataclass(frozen=True)
class CaptionTrack:
    """An ffconcat list of caption images, to overlay at (x, y)."""

    concat: Path
    x: int
    y: int
    width: int
    height: int


def _even(value: float, down: bool) -> int:
    v = int(value) if down else int(-(-value // 1))
    return v - (v % 2) if down else v + (v % 2)


def write_png(path: Path, rgba: np.ndarray) -> None:
    """Write an 8-bit RGBA image as PNG (stdlib zlib; no imaging library needed)."""
    height, width, _ = rgba.shape
    raw = np.zeros((height, width * 4 + 1), dtype=np.uint8)  # filter byte 0 (None) per row
    raw[:, 1:] = rgba.reshape(height, width * 4)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)) + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Shot:
    """One caption image on screen: a cue, from ``start`` to ``end``, with word ``active`` highlighted."""

    cue: int
    start: float
    end: float
    active: int | None = None


def shots_for(cues: Sequence[Cue], highlight: bool) -> list[Shot]:
    if not highlight:
        return [Shot(k, c.start, c.end) for k, c in enumerate(cues)]
    shots = []
    for k, cue in enumerate(cues):
        starts = word_starts(cue)
        if not starts:
            shots.append(Shot(k, cue.start, cue.end))
            continue
        if starts[0] > cue.start + 0.02:
            shots.append(Shot(k, cue.start, starts[0]))
        for i, begin in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else cue.end
            if end > begin:
                shots.append(Shot(k, begin, end, i))
    return shots


def render_track(
    cues: Sequence[Cue], style: CaptionStyle, work: Path, ffmpeg: str, *, highlight: bool = False
) -> CaptionTrack | None:
    """Render every cue (every word state of it with ``highlight``) into ``work`` and return
    the track, or None when there is nothing to show."""
    cues = [c for c in cues if c.end > c.start and c.lines]
    if not cues:
        return None
    g, p = style.geometry, style.preset
    measurer = style.measurer()
    layouts = [layout_cue(cue, style, measurer) for cue in cues]
    # The region every caption can touch, and no more (blending costs per pixel, on
    # every frame): all boxes, and the text of a line wider than its box (a single
    # word wider than a line), on even pixels for 4:2:0.
    lefts, rights, tops, bottoms = [], [], [], []
    for boxes in layouts:
        for lb in boxes:
            half = measurer.width(lb.text) * lb.scale / 2
            lefts.append(min(lb.box[0], lb.x - half))
            rights.append(max(lb.box[2], lb.x + half))
            tops.append(lb.box[1])
            bottoms.append(lb.box[3])
    x0 = max(0, _even(min(lefts) - 2, True))
    x1 = min(g.width - g.width % 2, _even(max(rights) + 2, False))
    y0 = max(0, _even(min(tops) - 2, True))
    y1 = min(g.height - g.height % 2, _even(max(bottoms) + 2, False))
    width, height = x1 - x0, y1 - y0

    # One render frame a second: a shot's image, and with a word highlighted a second
    # image where only that word leaves ink (the same layout), to find its pixels.
    shots = shots_for(cues, highlight)
    frame_cues, inked = [], []
    for shot in shots:
        n = len(cue_words(cues[shot.cue]))
        frame_cues.append(cues[shot.cue])
        inked.append([True] * n if highlight else None)
        if shot.active is not None:
            frame_cues.append(cues[shot.cue])
            inked.append([i == shot.active for i in range(n)])
    frames = len(frame_cues)
    # libass draws some lines off the centre it is given (centring.py): they are drawn on a canvas
    # wider than the region by a margin, measured, moved to their box's centre, then cut to the region.
    margin = _even(style.em * 1.5, False)
    canvas = width + 2 * margin
    script = burn_script(frame_cues, style, boxes=False, times=[(k, k + 1) for k in range(frames)], inked=inked,
                         region=(x0 - margin, y0, canvas, height), centred=False)
    script.info.pop("YCbCr Matrix", None)
    script.save(str(work / "render.ass"), encoding="utf-8")
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "lavfi", "-i", f"color=c=black@0:s={canvas}x{height}:r=1:d={frames},format=rgba",
        "-vf", "ass=filename=render.ass:fontsdir=fonts:shaping=complex:alpha=1",
        "-frames:v", str(frames), "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1",
    ]
    text_rgb = np.array(rgb(p.text_colour), dtype=np.float32)
    word_rgb = np.array(rgb(p.highlight_colour), dtype=np.float32)
    box_rgb = np.array(rgb(p.box_colour), dtype=np.float32)
    frame_bytes = canvas * height * 4
    # Per cue, per line: (first row, last row, columns to move right) for lines libass draws off centre.
    moves: dict[int, list[tuple[int, int, int]]] = {}

    def coverage(data: bytes) -> np.ndarray:
        return np.frombuffer(data, dtype=np.uint8).reshape(height, canvas, 4)[..., 3].astype(np.float32) * (1 / 255)

    def centred(cov: np.ndarray, cue: int) -> np.ndarray:
        """The canvas coverage with each off-centre line moved onto its box's centre, cut to the region."""
        if cue not in moves:
            found = []
            rtl = is_rtl_text(cues[cue].text)
            for lb in layouts[cue]:
                if not needs_measuring(rtl_mark(lb.text, rtl) + lb.text, style, measurer):
                    continue
                top, bottom = max(lb.box[1] - y0, 0), min(lb.box[3] - y0, height)
                cols = np.flatnonzero((cov[top:bottom] >= 0.25).any(axis=0))
                if len(cols):
                    shift = round((lb.box[0] + lb.box[2]) / 2 - x0 + margin - (cols[0] + cols[-1] + 1) / 2)
                    if shift:
                        found.append((top, bottom, shift))
            moves[cue] = found
        out = cov.copy() if moves[cue] else cov
        for top, bottom, shift in moves[cue]:
            out[top:bottom] = np.roll(cov[top:bottom], shift, axis=1)
            if shift > 0:
                out[top:bottom, :shift] = 0
            else:
                out[top:bottom, shift:] = 0
        return np.ascontiguousarray(out[:, margin : margin + width])

    def composite(text: np.ndarray, colour, box_alpha: np.ndarray) -> np.ndarray:
        # Text over the translucent box ("over" operator, straight alpha).
        under = box_alpha * (1 - text)
        alpha = text + under
        rgb = (text[..., None] * colour + under[..., None] * box_rgb) / np.maximum(alpha, 1e-6)[..., None]
        out = np.empty(text.shape + (4,), dtype=np.uint8)
        out[..., :3] = np.clip(rgb + 0.5, 0, 255)
        out[..., 3] = alpha * 255 + 0.5
        return out

    # Per cue: its image with no word highlighted (and its coverage and boxes), made once;
    # a highlighted shot redraws only the pixels of its word.
    plain: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    written, writes = 0, []
    with ThreadPoolExecutor(max_workers=2) as pool, \
            subprocess.Popen(command, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             **child_options()) as proc:
        assert proc.stdout is not None
        for k, shot in enumerate(shots):
            data = proc.stdout.read(frame_bytes)
            if len(data) != frame_bytes:
                break
            if shot.cue not in plain:
                text = centred(coverage(data), shot.cue)
                box_alpha = np.zeros((height, width), dtype=np.float32)
                for left, top, right, bottom in (lb.box for lb in layouts[shot.cue]):
                    box_alpha[max(top - y0, 0) : bottom - y0, max(left - x0, 0) : right - x0] = p.box_opacity
                plain[shot.cue] = (composite(text, text_rgb, box_alpha), text, box_alpha)
            image, text, box_alpha = plain[shot.cue]
            if shot.active is not None:
                data = proc.stdout.read(frame_bytes)
                if len(data) != frame_bytes:
                    break
                word = centred(coverage(data), shot.cue)
                ys, xs = np.flatnonzero(word.any(axis=1)), np.flatnonzero(word.any(axis=0))
                if len(ys):
                    image = image.copy()
                    rows, cols = slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1)
                    share = (word[rows, cols] / np.maximum(text[rows, cols], 1e-6)).clip(0, 1)[..., None]
                    colour = text_rgb + (word_rgb - text_rgb) * share
                    image[rows, cols] = composite(text[rows, cols], colour, box_alpha[rows, cols])
            # zlib releases the GIL: images are compressed on other threads while
            # libass renders the next ones (a highlighted track has one per word).
            writes.append(pool.submit(write_png, work / f"shot{k:05d}.png", image))
            written += 1
        stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    for done in writes:
        done.result()
    if proc.returncode != 0 or written != len(shots):
        raise CaptionerError(f"rendering captions failed: {error_summary(stderr, proc.returncode)}")
    write_png(work / "blank.png", np.zeros((height, width, 4), dtype=np.uint8))

    entries = ["ffconcat version 1.0"]
    shown_until = 0.0
    for k, shot in enumerate(shots):
        start = max(shot.start, shown_until)
        if start > shown_until:
            entries += ["file blank.png", f"duration {start - shown_until:.6f}"]
        entries += [f"file shot{k:05d}.png", f"duration {max(shot.end - start, 0.001):.6f}"]
        shown_until = max(shot.end, start + 0.001)
    # A closing blank; the concat demuxer ignores the duration of the last entry, hence twice.
    entries += ["file blank.png", "duration 1", "file blank.png"]
    concat = work / "captions.ffconcat"
    concat.write_text("\n".join(entries) + "\n", encoding="utf-8")
    return CaptionTrack(concat, x0, y0, width, height)
