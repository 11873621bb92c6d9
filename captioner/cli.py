"""The ``captioner`` command: parsing flags and printing results, over :mod:`captioner.pipeline`.

Every command builds its options, calls one API function, and prints what it
made; no pipeline work happens here.  Exit codes: 0 success, 1 failure, 2 bad
usage or bad input (``lint``: 1 when any cue breaks a rule).  Errors are one
line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

from . import doctor, pipeline
from . import review as review_page
from .version import __version__
from .asr import DEVICES, backends, compute_types
from .asr import models
from .batch import make_engine, run_batch
from .batch.run import ENGINES
from .errors import CaptionerError, InputError, first_line, one_line
from .processes import install_stop_handlers, interrupt_exit_code, received_stop_signal
from .progress import default_progress
from .render import renderers
from .render.ffmpeg import DEFAULT_QUALITY, QUALITIES, X264_PRESETS, EncoderSettings
from .settings import CaptionSettings
from .styles.presets import PRESETS

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
MAX_WORKERS = 1024
MAX_TIMEOUT = 7 * 86400.0  # a week: past that a clock's "timeout" is a typo (and inf overflows the wait)
REVIEW_SHOWN = 20  # flagged words listed without -v


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other bad input
        self.exit(EXIT_USAGE, f"captioner: error: {message} (see --help)\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    if not math.isfinite(value):  # inf: a time limit or rate no clock or encoder can hold
        raise argparse.ArgumentTypeError(f"must be a finite number: {text!r}")
    return value


def _bounded(kind, high: float, unit: str = ""):
    """An argument type: ``kind`` (e.g. :func:`_positive_float`) no larger than ``high``."""
    def check(text: str):
        value = kind(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:g}{unit}: {text!r}")
        return value

    return check


def _fraction(text: str) -> float:
    if "/" in text:
        num, _, den = text.partition("/")
        try:
            value = float(num) / float(den)
        except (ValueError, ZeroDivisionError):
            raise argparse.ArgumentTypeError(f"not a fraction: {text!r}") from None
    else:
        value = _positive_float(text)
    if not 1 / 6 - 1e-6 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"must be from 1/6 (0.167, the smallest discernible interpreter) to 0.5: {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value != value or abs(value) > 86400:
        raise argparse.ArgumentTypeError(f"not a usable number of seconds: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:  # also a number of more than 4300 digits
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 (a free port) to 65535: {text!r}")
    return value


def add_preset(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--preset",
        default="tiktok",
        choices=sorted(PRESETS),
        help="platform: caption band, safe area, style and rules (default: tiktok, Arabic UI)",
    )
    p.add_argument("--style", metavar="FILE.toml",
                   help="house style: a TOML file overriding any preset field (font, size, colours, "
                   "box opacity, position, reading speed; see README)")


def add_composition(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("sign-language interpreter, reframing and highlighting")
    g.add_argument("--sign", metavar="VIDEO", help="inset this interpreter video (its audio is never used)")
    g.add_argument("--sign-position", choices=("auto", "left", "right"), default="auto",
                   help="side of the inset (default: auto, away from the platform's button rail)")
    g.add_argument("--sign-size", type=_fraction, metavar="FRACTION",
                   help="inset area as a share of the frame, 1/6 to 1/2 (default: the preset's, 1/6 = 0.167)")
    g.add_argument("--sign-offset", type=_seconds, default=0.0, metavar="SECONDS",
                   help="start the interpreter this many seconds into the clip (negative: skip its start)")
    g.add_argument("--sign-key", default="none", metavar="none|green|blue|#RRGGBB",
                   help="remove a chroma-key background (soft edge, spill removed; default: none)")
    g.add_argument("--sign-border", action="store_true", help="a contrasting frame around the inset (no key)")
    g.add_argument("--sign-hold", action="store_true",
                   help="hold the interpreter's last frame if it ends before the clip (default: the inset goes)")
    g.add_argument("--reframe", choices=("auto", "fit", "fill", "none"), default="auto",
                   help="landscape/square input: fit (centred over a blurred copy) or fill (centre crop) a "
                   "1080x1920 frame; default auto: fit unless the input is 9:16")
    g.add_argument("--highlight", choices=("none", "word"), default="none",
                   help="mark the word being spoken (default: none)")


def add_encoder(p: argparse.ArgumentParser) -> None:
    qualities = ", ".join(f"{name} = x264 {preset} CRF {crf}" for name, (preset, crf) in QUALITIES.items())
    p.add_argument("--quality", default=DEFAULT_QUALITY, choices=tuple(QUALITIES),
                   help=f"encode speed against file size: {qualities} (default: {DEFAULT_QUALITY}; see README "
                   "'Picture quality and file size'); with --device cuda the GPU's H.264 encoder where ffmpeg has it")
    p.add_argument("--x264-preset", default=None, metavar="PRESET", choices=X264_PRESETS,
                   help="for experts: the x264 preset, ultrafast (fastest, largest files) to veryslow (smallest); "
                   "wins over --quality's (and keeps libx264 on a GPU)")
    p.add_argument("--crf", type=int, default=None, choices=range(0, 52), metavar="N",
                   help="for experts: H.264 constant quality, 0-51, lower is better; wins over --quality's")
    p.add_argument("--renderer", default="libass", choices=renderers(),
                   help="libass (default: ffmpeg + libass, fastest) or pillow (Pillow + moviepy, "
                   "needs pip install 'captioner[moviepy]')")


def add_burn_fitting(p: argparse.ArgumentParser) -> None:
    """How ``burn`` fits a subtitle file's cues to the caption band and times their words."""
    g = p.add_argument_group("fitting and timing a subtitle file")
    g.add_argument("--keep-lines", action="store_true",
                   help="keep every line exactly as typed; refuse (exit 2, naming the cue) a line wider than the "
                   "caption band (default: re-flow lines that do not fit, one line on stderr per changed cue)")
    g.add_argument("--no-align", dest="align", action="store_false",
                   help="do not align edited words to the audio (default: align them when word times are needed: "
                   "--highlight word, or a cue cut in time, and no JSON sibling has the same words)")
    g.add_argument("--lang", default="ar", help="spoken language for aligning words, or 'auto' (default: ar)")
    g.add_argument("--model", default="base", help="Whisper model for aligning words (default: base, embedded)")
    add_device(g)


def add_recognition(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", default="ar", help="spoken language code, or 'auto' to detect (default: ar)")
    p.add_argument(
        "--model",
        default="base",
        help="Whisper model: 'base' (embedded, offline, for either backend), a name such as small or "
        "large-v3 (downloaded), a local CTranslate2 model folder, or (openai-whisper) a .pt checkpoint",
    )
    p.add_argument("--backend", default="faster-whisper", choices=backends(),
                   help="speech recogniser: faster-whisper (default, several times faster on CPU) or "
                   "openai-whisper (needs pip install 'captioner[openai]'); same words and timings "
                   "with --compute-type float32")
    p.add_argument("--compute-type", default="auto", choices=compute_types(),
                   help="recognition precision: auto (default: on a CPU int8 for faster-whisper, the fast path, "
                   "float32 for openai-whisper; on a GPU float16), int8, int8_float32, int16 or float32 "
                   "(faster-whisper's slower exact mode; openai-whisper takes float32 only on a CPU), "
                   "float16 and the other GPU types with --device cuda")
    add_device(p)
    p.add_argument("--cps", type=_bounded(_positive_float, 100), help="maximum reading speed in characters per second "
                   "(default: the preset's, 20 for adults, 17 for children)")


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=DEVICES,
                   help="where recognition runs: auto (default: a CUDA GPU when the backend's engine sees one, "
                   "else the CPU), cpu, or cuda (refused on a machine without one); on a GPU the video is "
                   "encoded with its H.264 encoder where ffmpeg can use it")


def add_prompting(p: argparse.ArgumentParser) -> None:
    """Text that steers recognition (settings: caption, transcribe and batch)."""
    g = p.add_argument_group("steering recognition")
    g.add_argument("--prompt", metavar="TEXT",
                   help="text said before the clip, in its language and register: Whisper takes it as context "
                   "(spelling, style); see README for what it did to accuracy here")
    g.add_argument("--hotwords", metavar="'WORD ...'",
                   help="names and terms said in the clip, e.g. \"TikTok CreateForGood\": Whisper is nudged "
                   "toward them in every window (openai-whisper: as a prompt carried into every window); "
                   "terms not said may be written anyway, so list only what is said; a batch manifest's "
                   "hotwords column sets them per clip")


def _review_probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a probability from 0 to 1: {text!r}")
    return value


def add_review(p: argparse.ArgumentParser) -> None:
    """The review-flag option (a setting: caption, transcribe and batch)."""
    p.add_argument("--review-below", type=_review_probability, default=0.0, metavar="P",
                   help="also flag for review every word recognised with probability below P (default: 0, the "
                   "combined review decision only; see README 'Review flags')")


def add_verbose(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true",
                   help=f"list every word flagged for review (default: the first {REVIEW_SHOWN})")


def add_caption_options(p: argparse.ArgumentParser) -> None:
    """The flags that shape a captioned video, shared by ``caption`` and ``batch``.

    Every flag added here must become a :class:`~captioner.settings.CaptionSettings`
    field in :func:`settings_from_args`; ``batch`` then passes it to every clip and
    hashes it into the settings fingerprint that decides what a rerun redoes.
    """
    add_recognition(p)
    add_prompting(p)
    add_review(p)
    add_preset(p)
    add_composition(p)
    add_encoder(p)


_SIGN_OPTIONS = ("sign_position", "sign_size", "sign_offset", "sign_key", "sign_border", "sign_hold")


def settings_from_args(args: argparse.Namespace) -> CaptionSettings:
    """The :class:`~captioner.settings.CaptionSettings` a command's flags ask for (flags it lacks keep defaults)."""
    flags = vars(args)
    options = {name: flags[name] for name in CaptionSettings.names() if name in flags}
    if "x264_preset" in flags:
        options["encoder"] = EncoderSettings(quality=args.quality, preset=args.x264_preset, crf=args.crf)
    defaults = CaptionSettings()
    given = any(name in flags and flags[name] != getattr(defaults, name) for name in _SIGN_OPTIONS)
    if given and not flags.get("sign") and args.command != "batch":
        # batch takes interpreter videos from its manifest's sign column too: there they stand alone.
        raise InputError("--sign-* options need an interpreter video: --sign VIDEO")
    return CaptionSettings(**options)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    parser = _Parser(
        prog="captioner",
        description="Accessible, correctly rendered Arabic (and any Whisper language) captions for vertical video.",
    )
    parser.add_argument("--version", action="version", version=f"captioner {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("caption", parents=[common], help="transcribe, cut captions, burn them in, write sidecars",
                       description="Transcribe INPUT, cut captions that follow the caption standards, burn them in, "
                       "and write .srt, .vtt, .ass and .json sidecars beside OUTPUT.")
    p.add_argument("input", metavar="INPUT", help="video file")
    p.add_argument("-o", "--output", metavar="OUTPUT", help="output video (default: INPUT stem + .captioned.mp4)")
    add_caption_options(p)
    add_verbose(p)
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")

    p = sub.add_parser(
        "batch", parents=[common], help="caption a folder or CSV manifest of clips, resumably, with a report",
        description="Caption every video under INPUTS (a folder, searched recursively, or a CSV manifest with a "
        "'path' column and optional 'lang', 'sign', 'output' and 'hotwords' columns) into OUT_DIR, mirroring the inputs' "
        "relative paths. A rerun skips clips already captioned with the same content and settings. Writes "
        "report.json, report.csv and report.html (a contact sheet) in OUT_DIR. Exit 0 when every clip "
        "succeeded, 1 when any failed, 2 on bad usage.")
    p.add_argument("inputs", metavar="INPUTS", help="folder of videos, or a CSV manifest")
    p.add_argument("--out", required=True, metavar="OUT_DIR", help="output folder (created if missing)")
    p.add_argument("--workers", type=_bounded(_positive_int, MAX_WORKERS), default=0, metavar="N",
                   help="clips captioned at once (default: one per core here; one per CPU of the Ray cluster)")
    p.add_argument("--engine", choices=tuple(ENGINES), default="local",
                   help="local: worker processes on this machine (default); ray: actors on a Ray cluster")
    p.add_argument("--ray-address", default="auto", metavar="ADDR",
                   help="Ray cluster to use with --engine ray, host:port or 'auto' (default: auto)")
    p.add_argument("--timeout", type=_bounded(_positive_float, MAX_TIMEOUT, " s"), default=1800.0, metavar="SECONDS",
                   help="stop a clip that takes longer than this and mark it failed (default: 1800)")
    add_caption_options(p)
    p.add_argument("--force", action="store_true",
                   help="redo every clip, even those already captioned, and overwrite outputs this batch did not make")

    p = sub.add_parser("transcribe", parents=[common], help="recognise speech and write captions, no burning",
                       description="Recognise speech and cut captions; the format follows SUBS's extension "
                       "(.srt, .vtt, .ass, .json). Edit the file, then burn it with 'captioner burn'.")
    p.add_argument("input", metavar="INPUT", help="video or audio file")
    p.add_argument("-o", "--output", metavar="SUBS", required=True, help="subtitle file to write")
    add_recognition(p)
    add_prompting(p)
    add_preset(p)
    add_review(p)
    add_verbose(p)
    p.add_argument("--force", action="store_true", help="overwrite an existing SUBS")

    p = sub.add_parser("burn", parents=[common], help="burn a (hand-edited) subtitle file into a video",
                       description="Burn an SRT, VTT, ASS or captioner JSON file into INPUT with the preset's style.")
    p.add_argument("input", metavar="INPUT", help="video file")
    p.add_argument("--subs", required=True, metavar="SUBS", help="subtitle file (.srt, .vtt, .ass, .json)")
    p.add_argument("-o", "--output", metavar="OUTPUT", help="output video (default: INPUT stem + .captioned.mp4)")
    add_preset(p)
    add_composition(p)
    add_encoder(p)
    add_burn_fitting(p)
    p.add_argument("--force", action="store_true", help="overwrite an existing OUTPUT")

    p = sub.add_parser("align", parents=[common], help="time an edited subtitle file's words by the audio",
                       description="Align the words of SUBS (SRT, VTT, ASS or captioner JSON, edited by hand) to the "
                       "speech of INPUT with the Whisper model, and write captioner JSON whose words carry start and "
                       "end times from the audio (what --highlight word and re-flowing use).")
    p.add_argument("input", metavar="INPUT", help="video or audio file the captions belong to")
    p.add_argument("--subs", required=True, metavar="SUBS", help="subtitle file (.srt, .vtt, .ass, .json)")
    p.add_argument("-o", "--output", metavar="OUTPUT.json", help="JSON file to write (default: SUBS with .json)")
    p.add_argument("--lang", default="ar", help="spoken language code, or 'auto' to detect (default: ar)")
    p.add_argument("--model", default="base", help="Whisper model (default: base, embedded)")
    p.add_argument("--compute-type", default="auto", choices=compute_types("faster-whisper"),
                   help="CTranslate2 precision (default: auto, int8 on a CPU, float16 on a GPU)")
    add_device(p)
    p.add_argument("--force", action="store_true", help="overwrite an existing OUTPUT")

    p = sub.add_parser("lint", parents=[common], help="list cues that break the caption rules",
                       description="List every cue that breaks the caption rules (reading speed, line length, "
                       "lines, duration, gaps, overlaps). Exit 1 if any, 0 if none.")
    p.add_argument("subs", metavar="SUBS", help="subtitle file (.srt, .vtt, .ass, .json)")
    add_preset(p)
    p.add_argument("--cps", type=_bounded(_positive_float, 100), help="maximum characters per second (default: the preset's)")
    p.add_argument("--fps", type=_bounded(_positive_float, 1000), default=30.0,
                   help="frame rate for the 2-frame gap rule (default: 30)")
    p.add_argument("--size", default="1080x1920", metavar="WxH", help="frame size the captions are for (default: 1080x1920)")
    p.add_argument("--fix", action="store_true",
                   help="write the cues re-flowed to fit (as burn draws them), gaps up to 0.5 s closed to 2 frames "
                   "and too-short cues merged or lengthened, to -o FIXED; then list what still breaks a rule")
    p.add_argument("-o", "--output", metavar="FIXED", help="with --fix: the file to write (format by extension)")
    p.add_argument("--force", action="store_true", help="with --fix: overwrite an existing FIXED")

    p = sub.add_parser("models", parents=[common], help="list the models, pull one, convert one for openai-whisper",
                       description="The Whisper models captioner knows. 'models list' shows them, 'models pull' "
                       "downloads one by name, 'models convert' turns the embedded CTranslate2 base model (or a "
                       "CTranslate2 model folder) into an openai-whisper checkpoint.")
    models_sub = p.add_subparsers(dest="models_command", metavar="ACTION", parser_class=_Parser, required=True)
    models_sub.add_parser("list", parents=[common], help="the Whisper models captioner knows, and which are here",
                          description="Show every model of the registry (models/registry.toml): size, licence, "
                          "Arabic WER from the Whisper paper and measured here, and whether it is embedded, "
                          "pulled or not here; and the embedded model's openai-whisper conversion.")
    q = models_sub.add_parser("pull", parents=[common], help="download a larger model by name (needs internet)",
                              description="Download MODEL (a name from 'captioner models list', or a Hugging Face "
                              "repository of a CTranslate2 Whisper model) into captioner's cache, checking every "
                              "file's SHA-256 the registry knows; an interrupted or corrupted download is never "
                              "kept. --model MODEL then uses it, offline. Without internet it says so in one line: "
                              "copy a CTranslate2 model folder instead and use --model /path/to/folder.")
    q.add_argument("model", metavar="MODEL", help="e.g. small, large-v3, or Systran/faster-whisper-small")
    q.add_argument("--force", action="store_true", help="download again even if it is already here")
    q = models_sub.add_parser("convert", parents=[common], help="write an openai-whisper checkpoint",
                              description="Convert MODEL ('base', the embedded model, or a CTranslate2 Whisper model "
                              "folder in float16/float32) into an openai-whisper checkpoint that whisper.load_model() "
                              "reads. Without -o, 'base' goes to the cache that '--backend openai-whisper --model "
                              "base' uses.")
    q.add_argument("model", metavar="MODEL", help="'base' or a CTranslate2 model folder")
    q.add_argument("--to", default="openai-whisper", choices=["openai-whisper"], help="target format (default: openai-whisper)")
    q.add_argument("-o", "--output", metavar="PATH", help="checkpoint to write (default for base: the cache)")
    q.add_argument("--force", action="store_true", help="overwrite PATH / convert the cached copy again")

    p = sub.add_parser(
        "review", parents=[common], help="check and fix captions in a browser page, then burn them",
        description="Open a local page (127.0.0.1, with a private token in its URL) to check and fix INPUT's captions "
        "before they are burned: the video with the caption drawn exactly as it will be burned, the flagged words "
        "first, editing, Save (the SRT/VTT/ASS/JSON sidecars beside OUTPUT), Burn (INPUT again into OUTPUT) and "
        "Mark reviewed. It starts from the sidecars that 'caption' wrote beside OUTPUT (or --subs), transcribing "
        "INPUT first when there are none. With a batch's OUT_DIR it opens every captioned clip as a queue, those "
        "needing review first, each with its batch settings. Ctrl-C stops the server.")
    p.add_argument("input", metavar="INPUT|OUT_DIR", help="video file, or a batch's output folder")
    p.add_argument("--subs", metavar="SUBS", help="start from this subtitle file (.srt, .vtt, .ass, .json); "
                   "Save still writes the sidecars beside OUTPUT, never SUBS")
    p.add_argument("-o", "--output", metavar="OUTPUT", help="captioned video that Burn writes, with the sidecars "
                   "beside it (default: INPUT stem + .captioned.mp4)")
    p.add_argument("--ui", choices=review_page.LANGUAGES, help="the page's language: ar (right to left) or en "
                   "(default: ar where the locale is Arabic, else en)")
    p.add_argument("--no-browser", action="store_true", help="print the page's URL, do not open a browser")
    p.add_argument("--port", type=_port, default=0, metavar="N",
                   help="port on 127.0.0.1 (default: a free one)")
    add_caption_options(p)
    g = p.add_argument_group("fitting and timing edited captions (as burn)")
    g.add_argument("--keep-lines", action="store_true",
                   help="Burn keeps every line exactly as typed and refuses one wider than the caption band "
                   "(default: re-flowed, as the page's caption shows)")
    g.add_argument("--no-align", dest="align", action="store_false",
                   help="Save does not align typed words to the audio (default: it does, as burn does)")

    sub.add_parser("doctor", parents=[common], help="check ffmpeg, libass, the font and the model",
                   description="Check which ffmpeg is used and whether it has libass, the caption font, the embedded "
                   "model (assembled, checksum) and the Python packages. Exit 1 with the fix if anything is missing.")
    return parser


def _progress(args):
    return default_progress(not args.quiet)


def _info(message: str) -> None:
    print(one_line(message), file=sys.stderr)


def cmd_caption(args) -> int:
    result = pipeline.caption(args.input, args.output, settings_from_args(args), force=args.force,
                              progress=_progress(args), notify=_info)
    _info(f"wrote {result.video}")
    _info("sidecars: " + ", ".join(str(p) for p in result.sidecars.values()))
    _info(f"{len(result.transcript.words)} words ({result.transcript.language}), {len(result.cues)} captions, "
          f"{len(result.transcript.flagged)} flagged for review")
    if not result.cues:
        _info("warning: no speech was recognised; the video was written without captions")
    _print_review(result.transcript, result.cues, args.verbose, where=str(result.sidecars[".json"]), prompt=args.prompt)
    for violation in result.violations:
        _info(f"note: {violation} (unavoidable: speech too fast or a word too long)")
    return EXIT_OK


def cmd_batch(args) -> int:
    settings = settings_from_args(args)
    engine = make_engine(args.engine, workers=args.workers, timeout=args.timeout, address=args.ray_address,
                         device=settings.device, backend=settings.backend)
    batch = run_batch(args.inputs, args.out, settings, engine=engine, force=args.force, show_progress=not args.quiet)
    counts = ", ".join(f"{batch.count(s)} {s}" for s in ("ok", "skipped", "failed", "interrupted") if batch.count(s))
    if batch.interrupted:  # one line: what was kept, where the report is, what a rerun does
        _info(f"captioner: interrupted ({counts}); finished clips are kept and a rerun continues with the rest; "
              f"report: {batch.reports['html']}")
        return interrupt_exit_code()
    review = f"; {len(batch.needs_review)} need review" if batch.needs_review else ""
    _info(f"{len(batch.results)} clips: {counts}{review}; report: {batch.reports['html']}")
    for result in batch.failed:
        _info(f"failed: {result.name}: {result.error}")
    return EXIT_FAILURE if batch.failed else EXIT_OK


def cmd_transcribe(args) -> int:
    result = pipeline.transcribe_to_file(args.input, args.output, settings_from_args(args), force=args.force,
                                         progress=_progress(args))
    transcript = result.transcript
    _info(f"wrote {result.path}: {len(transcript.words)} words ({transcript.language}), {len(result.cues)} captions")
    where = str(result.path) if result.path.suffix.lower() == ".json" else "a .json output"
    _print_review(transcript, result.cues, args.verbose, where=where, prompt=args.prompt)
    return EXIT_OK


def _clock(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def _print_review(transcript, cues, verbose: bool, where: str, prompt: str | None = None) -> None:
    """The words flagged for review, grouped by the caption they are in (number, time, text), and the words not
    burned because no speech is under them."""
    if prompt:
        _info("recognised with --prompt: Whisper can write words of a prompt where they were not said "
              "(README: Prompt and hotwords); check the captions against the audio")
    flagged = transcript.flagged
    if transcript.dropped:
        listed = ", ".join(f"{w.text} ({w.start:.1f}s)" for w in transcript.dropped[: None if verbose else REVIEW_SHOWN])
        more = "" if verbose or len(transcript.dropped) <= REVIEW_SHOWN else f" and {len(transcript.dropped) - REVIEW_SHOWN} more"
        _info(f"not captioned: {len(transcript.dropped)} words with no speech under them: {listed}{more}")
    if not flagged:
        _info(f"review: no word flagged of {len(transcript.words)}")
        return
    _info(f"review: {len(flagged)} of {len(transcript.words)} words may be wrong; check them before publishing "
          f"(every word's flag and reasons are in {where}):")
    limit = len(flagged) if verbose else REVIEW_SHOWN
    shown = 0
    placed: set[int] = set()
    groups = []
    for number, cue in enumerate(cues, 1):
        words = [w for w in cue.words if w.review]
        placed.update(id(w) for w in cue.words)
        if words:
            groups.append((f"#{number} {_clock(cue.start)} --> {_clock(cue.end)}  {cue.text}", words))
    stray = [w for w in flagged if id(w) not in placed]
    if stray:
        groups.append(("(in no caption)", stray))
    for heading, words in groups:
        if shown >= limit:
            break
        _info(f"  {heading}")
        for w in words[: limit - shown]:
            _info(f"      {w.text}  {w.start:.2f}s  p={w.probability:.2f}  {', '.join(w.why)}")
        shown += min(len(words), limit - shown)
    if shown < len(flagged):
        _info(f"  ... and {len(flagged) - shown} more (-v lists them all)")


def cmd_burn(args) -> int:
    output = pipeline.burn(args.input, args.subs, args.output, settings_from_args(args), force=args.force,
                           progress=_progress(args), notify=_info)
    _info(f"wrote {output}")
    return EXIT_OK


def cmd_align(args) -> int:
    result = pipeline.align(args.input, args.subs, args.output, settings_from_args(args), force=args.force,
                            progress=_progress(args))
    words = sum(len(c.words) for c in result.cues)
    _info(f"wrote {result.path}: {words} words of {len(result.cues)} captions aligned to the audio")
    return EXIT_OK


def _frame_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must look like 1080x1920, not {text!r}") from None
    return width, height


def cmd_lint(args) -> int:
    if args.fix or args.output:
        return _lint_fix(args)
    cues, violations = pipeline.lint_file(args.subs, settings_from_args(args), frame=_frame_size(args.size),
                                          fps=args.fps)
    for violation in violations:
        print(violation)
    _info(f"{len(cues)} captions, {len(violations)} problems" if violations else f"{len(cues)} captions, no problems")
    return EXIT_FAILURE if violations else EXIT_OK


def _lint_fix(args) -> int:
    if not (args.fix and args.output):
        raise InputError("--fix writes the fixed cues to -o FIXED (the input is never changed); give both")
    result = pipeline.fix_file(args.subs, args.output, settings_from_args(args), frame=_frame_size(args.size),
                               fps=args.fps, force=args.force)
    for line in result.changes:
        _info(line)
    for violation in result.violations:
        print(violation)
    _info(f"wrote {result.path}: {len(result.cues)} captions, {len(result.changes)} changed; "
          + (f"{len(result.violations)} problems remain" if result.violations else "no problems remain"))
    return EXIT_FAILURE if result.violations else EXIT_OK


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:g}%"


def _measured(a) -> str:
    if a.wer is None:
        return "not measured"
    return f"{a.wer:.2f} / {a.cer:.2f}" + (f", {a.rtf_cpu:g}x" if a.rtf_cpu is not None else "")


def cmd_models(args) -> int:
    if args.models_command == "list":
        rows = [("MODEL", "SIZE", "LICENCE", "ARABIC WER, PAPER: CV9 / FLEURS", "HERE: WER / CER, CPU TIME", "ON THIS MACHINE")]
        for listed in models.list_models():
            e, a = listed.entry, listed.entry.arabic
            if a.paper_wer_common_voice_9 is not None or a.paper_wer_fleurs is not None:
                paper = f"{_percent(a.paper_wer_common_voice_9)} / {_percent(a.paper_wer_fleurs)}"
            elif a.readme_wer_common_voice_15 is not None:
                paper = f"n/a (README: CV15 {_percent(a.readme_wer_common_voice_15)})"
            else:
                paper = "-"
            rows.append((e.name, e.approx_size, e.licence, paper, _measured(a), listed.status))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
        print(f"base on openai-whisper: {models.openai_status()}")
        print("captioner models pull NAME downloads one (verified by SHA-256); any CTranslate2 Whisper folder works "
              "too: --model /path/to/folder. Which to pick for Arabic: README 'Choosing a model'.")
        return EXIT_OK
    if args.models_command == "pull":
        announce = None if args.quiet else (lambda repo: _info(f"downloading {args.model} ({repo}) ..."))
        done = models.pull_model(args.model, force=args.force, on_download=announce)
        if done.embedded:
            _info(f"{args.model} is embedded: nothing to download ({done.path})")
        elif not done.downloaded:
            _info(f"already pulled: {done.path} (--force downloads it again)")
        else:
            checked = f"SHA-256 checked: {', '.join(done.verified)}" if done.verified else "no SHA-256 known to check"
            unknown = f"; not in the registry, not checked: {', '.join(done.unverified)}" if done.unverified else ""
            _info(f"pulled {args.model} into {done.path} ({checked}{unknown}); use it with --model {args.model}")
        return EXIT_OK
    done = models.convert_for_openai(args.model, args.output, force=args.force)
    if not done.converted:
        _info(f"already converted: {done.path} (--force converts it again)")
        return EXIT_OK
    size = done.path.stat().st_size / 1e6
    _info(f"wrote {done.path} ({size:.0f} MB): use it with --backend openai-whisper "
          f"--model {'base' if args.output is None else done.path}, or whisper.load_model()")
    return EXIT_OK


def cmd_doctor(args) -> int:
    ok = True
    for check in doctor.run_checks():
        mark = "ok  " if check.ok else "FAIL"
        print(f"{mark} {check.name}: {check.detail}")
        if not check.ok:
            ok = False
            print(f"     fix: {check.fix}")
    return EXIT_OK if ok else EXIT_FAILURE


def cmd_review(args) -> int:
    opened = review_page.open_review(args.input, args.output, args.subs, settings_from_args(args), ui=args.ui,
                                progress=_progress(args))
    for note in opened.notes:
        _info(note)
    stopped_burn = review_page.serve(opened.review, port=args.port, open_browser=not args.no_browser,
                                announce=lambda url: print(f"Review page: {url}", flush=True))
    _info("captioner review: stopped" + ("; the burn in progress was stopped and wrote nothing" if stopped_burn else ""))
    return EXIT_OK


COMMANDS = {"caption": cmd_caption, "review": cmd_review, "batch": cmd_batch, "transcribe": cmd_transcribe, "burn": cmd_burn, "lint": cmd_lint,
            "models": cmd_models, "doctor": cmd_doctor}
COMMANDS["align"] = cmd_align


def main(argv: list[str] | None = None) -> int:
    # SIGTERM (timeout, CI, docker, Ray) and SIGHUP stop a run as Ctrl-C does: same cleanup, exit 128 + N.
    install_stop_handlers()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        try:
            return COMMANDS[args.command](args)
        except KeyboardInterrupt as exc:
            _info("captioner: interrupted; no output was written")
            return interrupt_exit_code(exc)
        except CaptionerError as exc:
            if received_stop_signal():  # a child stopped by the same signal failed first
                _info("captioner: interrupted; no output was written")
                return interrupt_exit_code()
            if args.debug:
                raise
            _info(f"captioner: error: {exc}")
            return exc.exit_code
        except BrokenPipeError:  # `captioner lint x.srt | head`: the reader went away, nothing to report
            _quiet_stdout()
            return EXIT_FAILURE
        except RecursionError:
            if args.debug:
                raise
            _info("captioner: error: input nested too deeply to read (rerun with --debug for details)")
            return EXIT_USAGE
        except Exception as exc:  # an unexpected failure is still one line unless --debug
            if args.debug:
                raise
            _info(f"captioner: error: {type(exc).__name__}: {first_line(exc)} (rerun with --debug for details)")
            return EXIT_FAILURE
    except KeyboardInterrupt as exc:  # a second signal while the first one's cleanup ran
        return interrupt_exit_code(exc)


def _quiet_stdout() -> None:
    # Python flushes stdout once more at exit: point it at /dev/null so that flush cannot fail again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
