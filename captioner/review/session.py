"""One clip under review: its files, its cues and words, saving, marking reviewed and burning.

A clip's files are fixed when the review starts (the page names clips by
number, never by path): the source video, the captioned output, the subtitle
file the review starts from, and the four sidecars it saves.  Every save bumps
a revision number; a save or a burn based on an older revision (a second tab,
or a tab opened before another program changed the sidecars on disk) is
refused with a message instead of overwriting what is there.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from ..asr.align import align_words, aligner_settings, load_aligner
from ..batch.records import load_record, save_record
from ..captions.lint import lint
from ..cues import Cue, Transcript, Word
from ..errors import CaptionerError, InputError
from ..formats import FORMATS, SIDECAR_FORMATS, decode_text, dumps, format_for, load_cues, sidecar_paths
from ..media.audio import load_audio
from ..media.outputs import OutputSet
from ..media.probe import MediaInfo, probe
from ..pipeline import burn, caption_rules
from ..render import get_renderer
from ..render.compose import Composition, compose
from ..settings import CaptionSettings
from ..text.bidi import is_rtl_text
from .document import (CueEdit, accepted, as_cue, assign_words, legacy_flags, match_words, parse_cue, parse_cues,
                       parse_revision, rebuild_words, tokens, word_flags)
from .i18n import lint_message
from .preview import CaptionPreview


class Conflict(CaptionerError):
    """A save or burn based on an older revision than the one on disk, or a burn already running (HTTP 409).

    ``code`` names the case for the page, which says it in its own language.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class BurnCancelled(Exception):
    """The server is stopping: the burn in progress is abandoned and leaves nothing behind."""


@dataclass(frozen=True)
class ClipFiles:
    """Where one clip's files are, fixed when the review starts."""

    name: str
    source: Path  # the video captions are burned into
    output: Path  # the captioned video Burn writes; its sidecars are what Save writes
    settings: CaptionSettings
    subs: Path | None = None  # a subtitle file to start from instead of the output's sidecars
    record: Path | None = None  # a batch clip's record file (reviewed state lives there)
    flagged: int = 0  # known before loading, to order a batch's queue
    reviewed: bool = False

    @property
    def sidecars(self) -> dict[str, Path]:
        return sidecar_paths(self.output)


@dataclass
class BurnJob:
    state: str = "idle"  # idle | running | done | failed | cancelled
    progress: float = 0.0
    revision: int = 0
    error: str = ""
    seconds: float | None = None
    changes: list[str] = field(default_factory=list)  # what the burn's re-flow and alignment said
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def to_dict(self) -> dict:
        return {"state": self.state, "progress": round(self.progress, 4), "revision": self.revision,
                "error": self.error, "seconds": self.seconds, "changes": list(self.changes)}


class _BurnProgress:
    """The pipeline's progress interface: records how far the encode is, and stops it when asked."""

    def __init__(self, job: BurnJob) -> None:
        self.job = job

    @contextmanager
    def task(self, description: str, total: float | None) -> Iterator[Callable[[float], None]]:
        def update(done: float) -> None:
            if self.job.cancel.is_set():
                raise BurnCancelled()
            if total:
                self.job.progress = max(0.0, min(1.0, done / total))

        yield update


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def existing_sidecar(output: Path) -> Path | None:
    """The sidecar a review starts from: the JSON (it keeps every word), unless a subtitle sidecar
    was edited after it (by hand, in another editor); None when there is none."""
    paths = sidecar_paths(output)
    json_path = paths[".json"]
    text_paths = [p for ext, p in paths.items() if ext != ".json" and p.is_file()]
    if json_path.is_file():
        newer = [p for p in text_paths if p.stat().st_mtime > json_path.stat().st_mtime + 1.0]
        if newer:
            try:
                if [(c.start, c.end, c.lines) for c in load_cues(newer[0])] != [
                        (c.start, c.end, c.lines) for c in load_cues(json_path)]:
                    return newer[0]
            except InputError:
                pass
        return json_path
    return text_paths[0] if text_paths else None


class Aligner:
    """The Whisper model that aligns typed words to the audio: loaded on the first save that needs it, shared by
    every clip of the review, used by one save at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple[str, str], object] = {}

    def align(self, audio, cues: Sequence[Cue], settings: CaptionSettings, language: str | None) -> list[Cue]:
        device, compute = aligner_settings(settings.compute_type, settings.device)
        with self._lock:
            key = (settings.model, device, compute)
            if key not in self._models:
                self._models[key] = load_aligner(settings.model, compute, device=device)
            return align_words(audio, cues, model=settings.model, language=language, compute_type=compute,
                               device=device, whisper=self._models[key])


class ReviewClip:
    """A clip's captions under review.  Thread-safe: the server calls it from worker threads."""

    def __init__(self, index: int, files: ClipFiles, *, burn_gate: threading.Lock | None = None,
                 ui: str = "en", aligner: Aligner | None = None) -> None:
        self.index = index
        self.ui = ui
        self.aligner = aligner or Aligner()
        self._audio = None
        self.aligned = 0  # cues whose typed words the last save aligned to the audio
        self.align_error = ""
        self.files = files
        self._lock = threading.RLock()
        self._burn_gate = burn_gate or threading.Lock()
        self.burn_job = BurnJob()
        self.loaded = False
        self.reviewed = files.reviewed
        self.revision = 0
        self.cues: list[Cue] = []
        self.words: list[Word] = []  # every word: the cues' in cue order, then words spoken in no cue
        self.dropped: list[Word] = []  # words the recogniser's review took out (no speech under them): kept as they are
        self._loose: list[Word] = []
        self._disk = ""
        self._disk_revisions: set[int] = set()  # revisions read from disk after another program changed it
        self._preview: CaptionPreview | None = None
        self.info: MediaInfo | None = None
        self.layout: Composition | None = None
        self.language = files.settings.lang if files.settings.lang not in (None, "auto") else "und"
        self.language_probability = 1.0

    # -- loading ------------------------------------------------------------------------------------------------

    @property
    def inputs(self) -> list[Path]:
        """Files a save or burn must never write over."""
        found = [self.files.source]
        if self.files.subs is not None and self.files.subs.resolve() not in {p.resolve() for p in self.files.sidecars.values()}:
            found.append(self.files.subs)
        sign = self.files.settings.sign_options()
        return found + ([sign.path] if sign else [])

    def ensure_loaded(self, refresh: bool = False) -> None:
        """Probe the source and read the captions once (the first time the page opens the clip).

        ``refresh`` (a page loading the clip) reads the captions again if another
        program changed the sidecars since: the page shows what is on disk.
        """
        with self._lock:
            if self.loaded:
                if refresh and self._disk_fingerprint() != self._disk:
                    self._read_captions()
                    self.revision += 1
                    self._disk_revisions.add(self.revision)
                return
            settings = self.files.settings
            settings.check_rendering()
            self.info = probe(self.files.source, require_audio=False)
            self.layout = compose(self.info, settings.resolved_preset(), reframe=settings.reframe,
                                  sign=settings.sign_options())
            get_renderer(settings.renderer).check_layout(self.layout, highlight=settings.highlight_words)
            self.rules = caption_rules(self.layout.style, float(self.info.fps), settings.cps)
            self._measurer = self.layout.style.measurer()
            self._read_captions(first=True)
            self._preview = CaptionPreview(self.info, settings)
            self.loaded = True

    def _read_captions(self, first: bool = False) -> None:
        """Read the captions: at first from ``--subs`` if given, else (and on every later read) from
        the sidecars Save writes."""
        start = self.files.subs if first and self.files.subs is not None else None
        start = start or existing_sidecar(self.files.output) or self.files.subs
        if start is None:
            raise InputError(f"{self.files.output}: no captions to review (no .json/.srt/.vtt/.ass beside it)")
        cues = load_cues(start)
        words: list[Word] = []
        doc: dict = {}
        self.dropped = []
        words_from = start if start.suffix.lower() == ".json" else start.with_suffix(".json")
        if words_from.is_file():
            try:
                text = decode_text(words_from.read_bytes(), words_from)
                _, words = FORMATS["json"].parse(text, words_from)
                doc = json.loads(text)
                dropped = doc.get("dropped", []) if isinstance(doc, dict) else []
                _, self.dropped = FORMATS["json"].parse(json.dumps({"cues": [], "words": dropped}), words_from)
            except (InputError, ValueError):
                words, doc = [], {}  # a damaged JSON beside a subtitle file: its text is reviewed without words
            raw_words = doc.get("words") if isinstance(doc, dict) else None
            if isinstance(raw_words, list) and not any(isinstance(w, dict) and "review" in w for w in raw_words):
                words = [legacy_flags(w) for w in words]  # written before words carried their review flag
        if isinstance(doc, dict):
            if isinstance(doc.get("language"), str):
                self.language = doc["language"]
            if isinstance(doc.get("language_probability"), (int, float)):
                self.language_probability = float(doc["language_probability"])
            if start == self.files.sidecars[".json"]:
                if isinstance(doc.get("revision"), int) and not isinstance(doc["revision"], bool):
                    self.revision = max(self.revision, doc["revision"])
                if self.files.record is None and isinstance(doc.get("reviewed"), bool):
                    self.reviewed = doc["reviewed"]
        per_cue, loose = assign_words([(c.start, c.end) for c in cues], words)
        self.cues = [replace(c, words=tuple(words[i] for i in idx)) for c, idx in zip(cues, per_cue)]
        self._loose = [words[i] for i in loose]
        self.words = [w for c in self.cues for w in c.words] + self._loose
        self._disk = self._disk_fingerprint()

    def _disk_fingerprint(self) -> str:
        digest = hashlib.sha256()
        for ext in SIDECAR_FORMATS:
            path = self.files.sidecars[ext]
            try:
                digest.update(ext.encode() + hashlib.sha256(path.read_bytes()).digest())
            except OSError:
                digest.update(ext.encode() + b"-")
        return digest.hexdigest()

    # -- what the page shows ------------------------------------------------------------------------------------

    def flags(self, word: Word) -> tuple[str, ...]:
        return word_flags(word)

    def flagged_count(self) -> int:
        if not self.loaded:
            return self.files.flagged
        # Words still in their cue's text (a word whose text was changed in another editor no longer counts).
        count = 0
        for cue in self.cues:
            matched = match_words(tokens(cue.lines), cue.words)
            count += sum(bool(self.flags(cue.words[j])) for j in matched if j is not None)
        return count

    def problems(self, cues: Sequence[Cue]) -> list[list[dict]]:
        per_cue: list[list[dict]] = [[] for _ in cues]
        with self._lock:
            for v in lint(cues, self.rules, self._measurer.width):
                per_cue[v.index - 1].append({"rule": v.rule, "message": lint_message(v.rule, v.message, self.ui)})
        return per_cue

    def document(self) -> dict:
        """Everything the page needs to show and edit the clip."""
        self.ensure_loaded(refresh=True)
        with self._lock:
            assert self.info is not None and self.layout is not None
            ids = {}
            for i, w in enumerate(self.words):
                ids.setdefault(id(w), i)
            problems = self.problems(self.cues)
            cues = []
            for cue, found in zip(self.cues, problems):
                cues.append({
                    "start": round(cue.start, 3), "end": round(cue.end, 3), "lines": list(cue.lines),
                    "rtl": is_rtl_text(cue.text), "problems": found,
                    "words": [{"id": ids[id(w)], "text": w.text, "start": round(w.start, 3), "end": round(w.end, 3),
                               "probability": round(w.probability, 3), "why": list(self.flags(w))} for w in cue.words],
                })
            frame, sign = self.layout.frame, self.layout.sign
            return {
                "clip": self.index,
                "name": self.files.name,
                "revision": self.revision,
                "reviewed": self.reviewed,
                "duration": round(self.info.duration, 3),
                "fps": float(self.info.fps),
                "min_gap": self.rules.min_gap,
                "max_lines": self.rules.max_lines,
                "frame": {"width": frame.width, "height": frame.height, "mode": frame.mode},
                "video": {"width": self.info.display_width, "height": self.info.display_height},
                "band": {"left": self.layout.style.geometry.left, "right": self.layout.style.geometry.right},
                "sign": None if sign is None else dict(zip(("left", "top", "right", "bottom"), sign[1].rect)),
                "output": {"path": str(self.files.output), "exists": self.files.output.is_file()},
                "saves": [str(p) for p in self.files.sidecars.values()],
                "flagged": self.flagged_count(),
                "aligned": self.aligned,
                "align_error": self.align_error,
                "cues": cues,
                "burn": self.burn_job.to_dict(),
            }

    def check(self, payload) -> list[dict]:
        """Cues as the page has them now (not saved): their normalised lines and what breaks the rules."""
        self.ensure_loaded()
        assert self.info is not None
        edits = parse_cues(payload, self.info.duration, word_count=len(self.words))
        cues = [as_cue(e) for e in edits]
        problems = self.problems(cues)
        return [{"lines": list(e.lines), "rtl": is_rtl_text(" ".join(e.lines)), "problems": p}
                for e, p in zip(edits, problems)]

    def render(self, payload) -> dict:
        """One cue (as the page has it now) drawn as the burn will draw it, and what the burn changes about it."""
        self.ensure_loaded()
        assert self.info is not None and self._preview is not None
        if not isinstance(payload, dict):
            raise InputError("the request must be a JSON object")
        edit = parse_cue(payload.get("cue"), 0, self.info.duration)
        if not edit.lines:
            return {"shots": [], "changes": []}
        shots, changes = self._preview.render(as_cue(edit))
        return {"shots": shots, "changes": changes}

    # -- saving -------------------------------------------------------------------------------------------------

    def _check_revision(self, revision: int) -> None:
        if self._disk_fingerprint() != self._disk or any(revision < r <= self.revision for r in self._disk_revisions):
            raise Conflict("the captions were changed on disk by another program since this page loaded them: "
                           "reload the page to see them (your edits here are not saved)", "conflict-disk")
        if revision != self.revision:
            raise Conflict(f"these captions were saved from another tab or window (revision {self.revision}, "
                           f"this page has {revision}): reload the page to see them (your edits here are not saved)", "conflict-tab")

    def save(self, payload) -> dict:
        """Write the edited cues to the four sidecars, atomically, as the next revision."""
        self.ensure_loaded()
        assert self.info is not None
        with self._lock:
            self._check_revision(parse_revision(payload))
            edits = [e for e in parse_cues(payload, self.info.duration, word_count=len(self.words)) if e.lines]
            edits.sort(key=lambda e: (e.start, e.end))
            words = list(self.words)
            for i in {i for e in edits for i in e.accepted}:
                words[i] = accepted(words[i])
            cues, typed = self._rebuild(edits, words)
            cues = self._align_typed(cues, typed)
            self._write(cues, self.revision + 1, self.reviewed)
        return self.document()

    def _align_typed(self, cues: list[Cue], typed: list[list[int]]) -> list[Cue]:
        """The words a person typed, timed from the audio (CTranslate2 ``Whisper.align``, as ``burn`` does);
        the recognised words they left keep the recogniser's timing.  A cue with no speech in its time keeps
        its typed words shared out by length."""
        assert self.info is not None
        todo = [k for k, positions in enumerate(typed) if positions]
        self.aligned, self.align_error = 0, ""
        settings = self.files.settings
        if not todo or not settings.align or not self.info.has_audio:
            return cues
        try:
            if self._audio is None:
                self._audio = load_audio(self.info.path)
            language = self.language if self.language not in ("", "und") else settings.lang
            aligned = self.aligner.align(self._audio, [cues[k] for k in todo], settings,
                                         None if language in (None, "auto") else language)
        except CaptionerError as exc:
            self.align_error = str(exc)  # saved all the same, typed words timed by length
            return cues
        out = list(cues)
        for k, timed in zip(todo, aligned):
            cue = cues[k]
            if len(timed.words) != len(cue.words) or not any(w.probability > 0 for w in timed.words):
                continue
            mine = set(typed[k])
            out[k] = replace(cue, words=tuple(replace(timed.words[i], review=False, why=()) if i in mine else w
                                              for i, w in enumerate(cue.words)))
            self.aligned += 1
        return out

    def _rebuild(self, edits: Sequence[CueEdit], words: list[Word]) -> tuple[list[Cue], list[list[int]]]:
        """The edited cues with their words: recognised words kept where their text is, typed ones new.

        Words spoken in no cue stay as they are unless a cue now takes them;
        the words of text a person deleted go.
        """
        per_cue, _ = assign_words([(e.start, e.end) for e in edits], words)
        taken: set[int] = set()
        cues, typed = [], []
        for edit, idx in zip(edits, per_cue):
            cue_words, new, kept = rebuild_words(edit, [words[i] for i in idx])
            taken.update(idx[k] for k in kept)
            cues.append(as_cue(edit, cue_words))
            typed.append(new)
        loose = set(range(len(self.words) - len(self._loose), len(self.words)))  # self.words ends with the loose ones
        self._loose = [w for i, w in enumerate(words) if i in loose and i not in taken]
        return cues, typed

    def _write(self, cues: list[Cue], revision: int, reviewed: bool) -> None:
        assert self.info is not None and self.layout is not None
        words = [w for c in cues for w in c.words] + self._loose
        transcript = Transcript(self.language, self.language_probability, self.info.duration,
                                tuple(sorted(words, key=lambda w: (w.start, w.end))), dropped=tuple(self.dropped))
        with OutputSet(force=True, inputs=self.inputs) as out:
            for ext, path in self.files.sidecars.items():
                tmp = out.add(path)
                text = dumps(cues, format_for(path), style=self.layout.style, transcript=transcript)
                if ext == ".json":
                    doc = json.loads(text)
                    doc.update(revision=revision, reviewed=reviewed)
                    text = json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
                tmp.write_text(text, encoding="utf-8")
        self.cues, self.words, self.revision, self.reviewed = cues, words, revision, reviewed
        self._disk = self._disk_fingerprint()

    def set_reviewed(self, payload) -> dict:
        """Mark the clip reviewed (or not): in its batch record, and in the JSON sidecar."""
        self.ensure_loaded()
        if not isinstance(payload, dict) or not isinstance(payload.get("reviewed"), bool):
            raise InputError("reviewed must be true or false")
        with self._lock:
            self._check_revision(parse_revision(payload))
            reviewed = payload["reviewed"]
            if self.files.record is not None:
                record = load_record(self.files.record)
                if record is None:
                    raise CaptionerError(f"{self.files.record}: the batch record is unreadable")
                record.reviewed, record.reviewed_at = reviewed, _now() if reviewed else ""
                save_record(self.files.record, record)
            self._write(list(self.cues), self.revision + 1, reviewed)
        return self.document()

    # -- burning ------------------------------------------------------------------------------------------------

    def start_burn(self, payload) -> dict:
        """Burn the saved captions into the output video, in a thread; the page polls :meth:`burn_status`."""
        self.ensure_loaded()
        with self._lock:
            self._check_revision(parse_revision(payload))
            if self.burn_job.state == "running":
                raise Conflict("this clip is being burned already", "busy")
            if not self._burn_gate.acquire(blocking=False):
                raise Conflict("another clip is being burned: wait for it to finish", "busy")
            job = BurnJob(state="running", revision=self.revision)
            job.thread = threading.Thread(target=self._burn, args=(job, list(self.cues)),
                                          name=f"captioner-burn-{self.index}", daemon=True)
            self.burn_job = job
            job.thread.start()
        return job.to_dict()

    def _burn(self, job: BurnJob, cues: list[Cue]) -> None:
        started = time.monotonic()
        try:
            burn(self.files.source, cues, self.files.output, self.files.settings, force=True,
                 progress=_BurnProgress(job), notify=job.changes.append)
            job.progress, job.state = 1.0, "done"
        except BurnCancelled:
            job.state, job.error = "cancelled", "stopped before it finished; nothing was written"
        except CaptionerError as exc:
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - the page says what went wrong; the server goes on
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.seconds = round(time.monotonic() - started, 2)
            self._burn_gate.release()

    def burn_status(self) -> dict:
        return {**self.burn_job.to_dict(), "output": {"path": str(self.files.output),
                                                       "exists": self.files.output.is_file()}}

    def close(self, timeout: float = 60.0) -> None:
        """Stop a burn in progress (its partial output is removed) and remove the preview's folder."""
        job = self.burn_job
        job.cancel.set()
        if job.thread is not None:
            job.thread.join(timeout)
        if self._preview is not None:
            self._preview.close()
