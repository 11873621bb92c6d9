"""The caption as it will be burned, for the review page: each cue rendered by the burn's own renderer.

A browser's ``<track>`` rendering differs from the burn (font, box, position,
line breaks, Arabic shaping): the page instead overlays on the video a PNG of
the caption region made exactly as the libass caption track makes it for the
burn (:func:`captioner.render.track.render_track`: same ASS script, font,
boxes, colours and layout, at the output frame's size).  The page scales it
with the video.  Renders are cached by cue (text and times), so scrubbing back
and forth renders nothing twice.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from ..captions.reflow import fit_lines
from ..captions.segment import Rules
from ..cues import Cue
from ..render.compose import Composition
from ..render.ffmpeg import ffmpeg_exe
from ..render.track import render_track

_CACHE_SIZE = 512


def burned_cues(cues: Sequence[Cue], layout: Composition, rules: Rules) -> list[Cue]:
    """The cues as ``burn`` hands them to the renderer (re-flowed where the band narrows for the interpreter)."""
    if layout.sign is not None:
        return fit_lines(cues, rules, layout.style.measurer().width)
    return list(cues)


class CaptionPreview:
    """Renders cues with the caption track's renderer into PNGs of the caption region.

    One private temporary folder (the font copied under a plain name, as the
    burn does); renders are serialised, as they share it.  ``close`` removes it.
    """

    def __init__(self, layout: Composition, rules: Rules) -> None:
        self.layout = layout
        self.rules = rules
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, list[dict]] = OrderedDict()
        self._work = Path(tempfile.mkdtemp(prefix="captioner-review-"))
        style = layout.style
        (self._work / "fonts").mkdir()
        shutil.copyfile(style.font_path, self._work / "fonts" / f"caption{style.font_path.suffix}")

    def render(self, cue: Cue) -> list[dict]:
        """The shots of one cue as burned: ``{start, end, x, y, width, height, png}`` (PNG as base64).

        Usually one; several where the burn cuts the cue in parts.
        """
        key = (cue.start, cue.end, cue.lines)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            parts = burned_cues([cue], self.layout, self.rules)
            shots: list[dict] = []
            for old in self._work.glob("shot*.png"):
                old.unlink()
            track = render_track(parts, self.layout.style, self._work, ffmpeg_exe())
            if track is not None:
                drawn = [c for c in parts if c.end > c.start and c.lines]
                for k, part in enumerate(drawn):
                    png = (self._work / f"shot{k:05d}.png").read_bytes()
                    shots.append({"start": part.start, "end": part.end, "lines": list(part.lines),
                                  "x": track.x, "y": track.y, "width": track.width, "height": track.height,
                                  "png": base64.b64encode(png).decode("ascii")})
            self._cache[key] = shots
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
            return shots

    def close(self) -> None:
        with self._lock:
            shutil.rmtree(self._work, ignore_errors=True)
