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
from pathlib import Path

from ..cues import Cue
from ..media.probe import MediaInfo
from ..pipeline import fit_cues
from ..render.ffmpeg import ffmpeg_exe
from ..render.track import render_track
from ..settings import CaptionSettings

_CACHE_SIZE = 512


class CaptionPreview:
    """Renders cues with the caption track's renderer into PNGs of the caption region.

    One private temporary folder (the font copied under a plain name, as the
    burn does); renders are serialised, as they share it.  ``close`` removes it.
    """

    def __init__(self, info: MediaInfo, settings: CaptionSettings) -> None:
        self.info = info
        self.settings = settings
        self.preset = settings.resolved_preset()
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, tuple[list[dict], list[str]]] = OrderedDict()
        self._work = Path(tempfile.mkdtemp(prefix="captioner-review-"))
        layout, _ = fit_cues([], info, settings, self.preset)
        style = layout.style
        (self._work / "fonts").mkdir()
        shutil.copyfile(style.font_path, self._work / "fonts" / f"caption{style.font_path.suffix}")

    def render(self, cue: Cue) -> tuple[list[dict], list[str]]:
        """The shots of one cue as burned: ``{start, end, x, y, width, height, png}`` (PNG as base64), and
        what the burn's re-flow changes about it (``#1 00:00:00,200 re-broken into 2 lines``).

        Usually one shot; several where the burn cuts the cue in parts over its time.
        """
        key = (cue.start, cue.end, cue.lines)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            # The burn's own re-flow (pipeline.fit_cues): lines re-broken to fit the band, a cue too long cut in time.
            layout, flowed = fit_cues([cue], self.info, self.settings, self.preset)
            parts = flowed.cues
            shots: list[dict] = []
            for old in self._work.glob("shot*.png"):
                old.unlink()
            track = render_track(parts, layout.style, self._work, ffmpeg_exe())
            if track is not None:
                drawn = [c for c in parts if c.end > c.start and c.lines]
                for k, part in enumerate(drawn):
                    png = (self._work / f"shot{k:05d}.png").read_bytes()
                    shots.append({"start": part.start, "end": part.end, "lines": list(part.lines),
                                  "x": track.x, "y": track.y, "width": track.width, "height": track.height,
                                  "png": base64.b64encode(png).decode("ascii")})
            self._cache[key] = (shots, list(flowed.changes))
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
            return self._cache[key]

    def close(self) -> None:
        with self._lock:
            shutil.rmtree(self._work, ignore_errors=True)
