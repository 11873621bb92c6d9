"""``captioner review``: check and fix captions in a local browser page before they are burned.

:func:`open_review` finds what to review (one clip and its sidecars, transcribing
it first when it has none, or a batch's output folder as a queue) and
:func:`serve` serves the page on 127.0.0.1 until Ctrl-C.
"""

from .clips import Opened, batch_queue, clip_files, is_batch_folder, open_review
from .i18n import LANGUAGES, default_ui
from .server import Review, serve
from .session import ClipFiles, ReviewClip

__all__ = ["LANGUAGES", "ClipFiles", "Opened", "Review", "ReviewClip", "batch_queue", "clip_files", "default_ui",
           "is_batch_folder", "open_review", "serve"]
