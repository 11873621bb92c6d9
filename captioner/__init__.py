"""captioner: accessible, correctly rendered captions for vertical video, Arabic first.

The package reads as the pipeline, one stage a folder: :mod:`.media` (probe,
audio, atomic outputs) → :mod:`.asr` (recognisers behind one interface, models)
→ :mod:`.captions` (segmentation, lint, re-flow) → :mod:`.text` (Arabic and
bidi hygiene) → :mod:`.formats` (SRT/VTT/ASS/JSON) → :mod:`.styles` (presets as
data, fonts) → :mod:`.render` (libass burn, inset, reframe, highlight; the
pillow renderer apart) → :mod:`.batch` (jobs, runner, engines, report), with
:mod:`.settings` (one settings object), :mod:`.pipeline` (the API) and
:mod:`.cli` on top.  :mod:`captioner.moviepy` gives moviepy users a captioned clip.

The Python API (typed; the CLI is a thin layer over it)::

    transcribe(media, lang="ar") -> Transcript
    make_cues(transcript, preset="tiktok") -> list[Cue]
    burn(video, cues_or_subtitle_file, output, renderer="libass") -> Path
    caption(video, output, renderer="libass") -> CaptionResult
    align(media, subtitle_file, output_json) -> AlignResult      (edited words timed by the audio)

Each takes a :class:`CaptionSettings` or its fields as keywords.
"""

from .version import __version__  # noqa: E402
from .cues import Cue, Transcript, Word  # noqa: E402
from .errors import CaptionerError, InputError  # noqa: E402
from .pipeline import CaptionResult, burn, caption, check_cues, make_cues, transcribe  # noqa: E402
from .settings import CaptionSettings  # noqa: E402
from .pipeline import AlignResult, align  # noqa: E402

__all__ = [
    "AlignResult",
    "CaptionResult",
    "CaptionSettings",
    "CaptionerError",
    "Cue",
    "InputError",
    "Transcript",
    "Word",
    "__version__",
    "align",
    "burn",
    "caption",
    "check_cues",
    "make_cues",
    "transcribe",
]
