"""captioner: accessible, correctly rendered captions for vertical video, Arabic first.

The pipeline, one module a stage: :mod:`media` (probe, audio) → :mod:`recognize`
(Whisper backends) → :mod:`segment` (caption rules) → :mod:`text` (RTL hygiene)
→ :mod:`formats` (SRT/VTT/ASS/JSON) → :mod:`render` and :mod:`burn` (libass
via ffmpeg) → :mod:`cli`.  The pillow renderer (``renderer="pillow"``) is
:mod:`draw` (Pillow) and :mod:`composite` (moviepy); :mod:`captioner.moviepy`
gives moviepy users a captioned clip.

The Python API (typed; the CLI is a thin layer over it)::

    transcribe(media, lang="ar") -> Transcript
    make_cues(transcript, preset="tiktok") -> list[Cue]
    burn(video, cues_or_subtitle_file, output, renderer="libass") -> Path
    caption(video, output, renderer="libass") -> CaptionResult
"""

__version__ = "0.1.0"

from .cues import Cue, Transcript, Word  # noqa: E402
from .errors import CaptionerError, InputError  # noqa: E402
from .pipeline import CaptionResult, burn, caption, check_cues, make_cues, transcribe  # noqa: E402

__all__ = [
    "CaptionResult",
    "CaptionerError",
    "Cue",
    "InputError",
    "Transcript",
    "Word",
    "__version__",
    "burn",
    "caption",
    "check_cues",
    "make_cues",
    "transcribe",
]
