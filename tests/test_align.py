"""Issue 11: edited captions keep exact word timing — words aligned to the audio with CTranslate2's Whisper.align.

Real speech: clips of the shared MSA set joined with 2 s pauses.  Each cue holds
one clip's reference transcript (what a creator would type) and is timed
sloppily, 0.8 s into the pauses on both sides; every aligned word must still
fall inside its own clip's stretch of audio (±0.2 s).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from captioner.asr.align import align_words
from captioner.captions.timing import cue_words
from captioner.cues import Cue
from captioner.formats import load_cues
from captioner.media.audio import SAMPLE_RATE, load_audio
from conftest import MEASUREMENTS, make_video, requires_speech, run_cli, run_ffmpeg, speech_manifest

PAUSE = 2.0
SLOPPY = 0.8
TOLERANCE = 0.2

pytestmark = requires_speech


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    """The first five shared clips joined with 2 s pauses: (wav, audio, [(start, end, reference)])."""
    folder = tmp_path_factory.mktemp("align")
    pieces, stretches, at = [np.zeros(int(PAUSE * SAMPLE_RATE), np.float32)], [], PAUSE
    for wav, reference, _ in speech_manifest()[:5]:
        audio = load_audio(wav)
        stretches.append((at, at + len(audio) / SAMPLE_RATE, reference))
        pieces += [audio, np.zeros(int(PAUSE * SAMPLE_RATE), np.float32)]
        at += len(audio) / SAMPLE_RATE + PAUSE
    audio = np.concatenate(pieces)
    raw = folder / "joined.f32"
    raw.write_bytes(audio.astype("<f4").tobytes())
    wav = folder / "joined.wav"
    run_ffmpeg("-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", str(raw), str(wav))
    return wav, audio, stretches


def sloppy_cues(stretches):
    return [Cue(max(0.0, s - SLOPPY), e + SLOPPY, (reference,)) for s, e, reference in stretches]


def test_every_word_lies_in_its_own_clips_speech(joined, recognizer):
    _, audio, stretches = joined
    cues = sloppy_cues(stretches)
    started = time.perf_counter()
    aligned = align_words(audio, cues, language="ar", whisper=recognizer.whisper_model)
    seconds = time.perf_counter() - started
    duration = len(audio) / SAMPLE_RATE
    MEASUREMENTS.append(f"alignment: {duration:.1f} s of speech and pauses ({sum(len(c.words) for c in aligned)} words) "
                        f"aligned in {seconds:.2f} s = {seconds / duration:.3f} x real time (shared machine)")
    outside = []
    for cue, aligned_cue, (s, e, reference) in zip(cues, aligned, stretches):
        assert (aligned_cue.start, aligned_cue.end, aligned_cue.lines) == (cue.start, cue.end, cue.lines)
        assert [w.text for w in aligned_cue.words] == [w for _, w in cue_words(cue)] == reference.split()
        previous = cue.start
        for word in aligned_cue.words:
            assert cue.start <= word.start <= word.end <= cue.end
            assert word.start >= previous  # in order
            previous = word.start
            if word.start < s - TOLERANCE or word.end > e + TOLERANCE:
                outside.append((word, s, e))
    assert outside == []
    # Timed, not shared out by length: the first word starts where the speech does, not where the cue does.
    assert all(c.words[0].start - c.start > SLOPPY - 0.3 for c in aligned)


def test_marks_and_sound_labels_are_not_aligned(joined, recognizer):
    _, audio, stretches = joined
    s, e, reference = stretches[0]
    cue = Cue(s - 0.5, e + 0.5, ("- " + reference, "[تصفيق]"))
    [aligned] = align_words(audio, [cue], whisper=recognizer.whisper_model)
    dash, first = aligned.words[0], aligned.words[1]
    assert dash.text == "-" and dash.start == dash.end == first.start
    label = aligned.words[-1]
    assert label.text == "[تصفيق]" and label.start == label.end


@pytest.fixture(scope="module")
def speech_clip(joined, tmp_path_factory):
    """A 540x960 video of the first two clips (with their pauses), and an SRT of their reference text."""
    wav, _, stretches = joined
    folder = tmp_path_factory.mktemp("align-cli")
    two = stretches[:2]
    video = make_video(folder / "clip.mp4", duration=round(two[-1][1] + PAUSE, 2), size=(540, 960), audio=wav,
                       background="color=c=0x707070")
    srt = folder / "edited.srt"

    def stamp(t: float) -> str:
        ms = int(round(t * 1000))
        return f"00:00:{ms // 1000:02d},{ms % 1000:03d}"

    srt.write_text("".join(f"{k + 1}\n{stamp(c.start)} --> {stamp(c.end)}\n{c.lines[0]}\n\n"
                           for k, c in enumerate(sloppy_cues(two))), encoding="utf-8")
    return video, srt, two


def test_align_command_writes_json_words_timed_by_the_audio(speech_clip, tmp_path):
    video, srt, stretches = speech_clip
    out = tmp_path / "edited.json"
    result = run_cli("align", str(video), "--subs", str(srt), "-o", str(out), "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"wrote {out}: ")
    doc = json.loads(out.read_text(encoding="utf-8"))
    # The SRT's text as captioner reads it (normalised: tanwin before the alif, ...), one timed word per word.
    assert [w["text"] for w in doc["words"]] == [w for c in load_cues(srt) for _, w in cue_words(c)]
    cues = load_cues(out)
    for cue, (s, e, _) in zip(cues, stretches):
        assert [w.text for w in cue.words] == [w for _, w in cue_words(cue)]
        assert all(s - TOLERANCE <= w.start <= w.end <= e + TOLERANCE for w in cue.words)
    # Bad usage: one line, exit 2, nothing written.
    bad = run_cli("align", str(video), "--subs", str(srt), "-o", str(tmp_path / "x.srt"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.srt").exists()


def test_burn_aligns_edited_words_only_when_it_needs_word_times(speech_clip, tmp_path):
    video, srt, _ = speech_clip
    out = tmp_path / "out.mp4"
    result = run_cli("burn", str(video), "--subs", str(srt), "-o", str(out), "--highlight", "word", "-q")
    assert result.returncode == 0, result.stderr
    assert "aligned the words of 2 cues to the audio" in result.stderr
    result = run_cli("burn", str(video), "--subs", str(srt), "-o", str(out), "--highlight", "word", "--no-align",
                     "-q", "--force")
    assert result.returncode == 0 and "aligned" not in result.stderr, result.stderr
    # No highlight, but cues too long for two lines are cut in time: by their words' times, so aligned.
    result = run_cli("burn", str(video), "--subs", str(srt), "-o", str(out), "-q", "--force")
    assert result.returncode == 0 and "aligned the words of 2 cues" in result.stderr, result.stderr
    assert "#1 00:00:01,200 split into" in result.stderr
    # Cues that fit, no highlight: no word time is needed and nothing is aligned.
    short = srt.with_name("short.srt")
    short.write_text("1\n00:00:01,200 --> 00:00:04,000\nعند حدوث جريان الماء\n", encoding="utf-8")
    result = run_cli("burn", str(video), "--subs", str(short), "-o", str(out), "-q", "--force")
    assert result.returncode == 0 and "aligned" not in result.stderr, result.stderr
    # A JSON sibling whose words say the SRT's text: its timings are used, nothing is aligned.
    sibling = srt.with_suffix(".json")
    assert run_cli("align", str(video), "--subs", str(srt), "-q", "--force").returncode == 0 and sibling.is_file()
    result = run_cli("burn", str(video), "--subs", str(srt), "-o", str(out), "--highlight", "word", "-q", "--force")
    assert result.returncode == 0 and "aligned" not in result.stderr, result.stderr
    # The creator edits a word: that cue no longer matches its sibling's words and is aligned again.
    text = srt.read_text(encoding="utf-8").replace("الماء", "المطر", 1)
    assert "المطر" in text
    srt.write_text(text, encoding="utf-8")
    result = run_cli("burn", str(video), "--subs", str(srt), "-o", str(out), "--highlight", "word", "-q", "--force")
    assert result.returncode == 0 and "aligned the words of 1 cue to the audio" in result.stderr, result.stderr
    sibling.unlink()
