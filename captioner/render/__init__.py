"""Rendering: cues drawn into the video in one encode.

- :mod:`.layout`: where each line and its box land (both renderers draw this layout);
- :mod:`.ass_script`: the ASS script libass burns; :mod:`.track`: each cue rendered once by libass;
- :mod:`.libass`: the default renderer (ffmpeg + libass); :mod:`.pillow`: the Pillow + moviepy renderer;
- :mod:`.compose`: the output frame, decided before slow work: :mod:`.reframe` (landscape input),
  :mod:`.inset` (the sign-language interpreter);
- :mod:`.ffmpeg`: running ffmpeg, encoder settings; :mod:`.registry`: renderers by name.

Importing this package registers every renderer.
"""

from . import libass  # noqa: F401  (registers the libass renderer)
from .pillow import composite  # noqa: F401  (registers the pillow renderer; its extra is imported on use)
from .registry import Renderer, get_renderer, renderers

__all__ = ["Renderer", "get_renderer", "renderers"]
