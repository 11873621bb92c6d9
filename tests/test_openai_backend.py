"""The openai-whisper backend: the converted weights, both backends agreeing, the CLI, the missing extra.

The embedded CTranslate2 base model is converted to an openai-whisper checkpoint,
so both backends run the very same weights.  faster-whisper runs it here in
float32, like openai-whisper on the CPU, so that any difference is the
conversion's or the decoding's, not int8 quantization's.  One model load per
backend (module fixtures), a few seconds of audio.
"""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from captioner.asr import models
from captioner.errors import InputError

from conftest import MEASUREMENTS, ROOT, requires_speech, run_cli, run_ffmpeg, speech_manifest

SAMPLE = ROOT / "samples" / "createforgood-ar.mp4"
requires_openai = pytest.mark.skipif(
    find_spec("whisper") is None or find_spec("torch") is None,
    reason="the openai extra is not installed (pip install torch==2.13.0 && pip install -e '.[openai]')",
)


@pytest.fixture(scope="module")
def openai_recognizer():
    from captioner.asr.openai_whisper_backend import OpenAIWhisperRecognizer

    return OpenAIWhisperRecognizer("base", workers=1)


@pytest.fixture(scope="module")
def float_recognizer():
    """faster-whisper on the same weights in float32: the reference the conversion must match."""
    from captioner.asr.faster_whisper_backend import FasterWhisperRecognizer

    return FasterWhisperRecognizer("base", workers=1, compute_type="float32")


@pytest.fixture(scope="module")
def sample_mel():
    import whisper

    from captioner.media.audio import load_audio

    audio = whisper.pad_or_trim(load_audio(SAMPLE))
    return whisper.log_mel_spectrogram(audio).numpy()[None]


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    """The sample's first caption (5.6 s of speech) as a WAV."""
    path = tmp_path_factory.mktemp("openai") / "first-caption.wav"
    run_ffmpeg("-i", str(SAMPLE), "-t", "5.6", "-vn", "-ac", "1", "-ar", "16000", str(path))
    return path


# --- conversion ---------------------------------------------------------------


@requires_openai
def test_converted_encoder_matches_ctranslate2(openai_recognizer, float_recognizer, sample_mel):
    import ctranslate2
    import torch

    ct2 = float_recognizer._models[0].model
    expected = np.array(ct2.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(sample_mel)), to_cpu=True))
    with torch.no_grad():
        got = openai_recognizer._models[0].encoder(torch.from_numpy(sample_mel)).numpy()
    assert got.shape == expected.shape == (1, 1500, 512)
    # float16 weights in both; float32 arithmetic in different kernels.  A wrong
    # split of q/k/v, a swapped LayerNorm or a missing bias is off by whole units.
    assert np.abs(got - expected).max() < 2e-3, np.abs(got - expected).max()


@requires_openai
def test_converted_decoder_matches_ctranslate2(openai_recognizer, float_recognizer, sample_mel):
    """Logits of every step of a greedy continuation: CTranslate2's against the converted decoder's."""
    import ctranslate2
    import torch
    import whisper

    model = openai_recognizer._models[0]
    tokenizer = whisper.tokenizer.get_tokenizer(True, num_languages=model.num_languages, language="ar")
    prompt = list(tokenizer.sot_sequence_including_notimestamps)
    result = float_recognizer._models[0].model.generate(
        ctranslate2.StorageView.from_array(np.ascontiguousarray(sample_mel)), [prompt], beam_size=1, max_length=24,
        return_scores=True, return_logits_vocab=True, suppress_blank=False, suppress_tokens=[],
    )[0]
    tokens = result.sequences_ids[0]
    assert len(tokens) >= 5
    expected = np.stack([np.array(step).reshape(-1) for step in result.logits[0]])
    with torch.no_grad():
        logits = model.decoder(torch.tensor([prompt + tokens]), model.encoder(torch.from_numpy(sample_mel)))[0].numpy()
    got = logits[len(prompt) - 1 : len(prompt) - 1 + len(tokens)]
    assert got.shape == expected.shape == (len(tokens), model.dims.n_vocab)
    assert np.abs(got - expected).max() < 1e-2, np.abs(got - expected).max()
    assert list(got.argmax(-1)) == tokens  # the tied output projection picks the same words
    # CTranslate2's score is the mean log-probability of the tokens.
    logprobs = torch.log_softmax(torch.from_numpy(got), -1).numpy()[np.arange(len(tokens)), tokens]
    assert abs(logprobs.mean() - result.scores[0]) < 1e-3


@requires_openai
def test_converted_checkpoint_is_what_whisper_load_model_reads(tmp_path, openai_recognizer):
    import torch
    import whisper

    target = models.convert_embedded_for_openai(tmp_path / "base.pt")
    loaded = whisper.load_model(str(target), device="cpu")
    assert loaded.dims == openai_recognizer._models[0].dims
    ours = openai_recognizer._models[0].state_dict()
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, ours[name]), name
    # whisper.load_model leaves a path's alignment heads at its default; ours come from config.json.
    heads = openai_recognizer._models[0].alignment_heads.to_dense().nonzero().tolist()
    assert heads == [[3, 1], [4, 2], [4, 3], [4, 7], [5, 1], [5, 2], [5, 4], [5, 6]]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


@requires_openai
def test_damaged_cached_checkpoint_is_converted_again(tmp_path, monkeypatch):
    embedded = models.ensure_embedded_model()  # assembled once in the usual cache, not again here
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(models, "ensure_embedded_model", lambda **_: embedded)
    assert "not converted yet" in models.openai_checkpoint_status()
    path = models.convert_embedded_for_openai()
    assert path == tmp_path / "cache" / "models" / models.OPENAI_CHECKPOINT and models.checkpoint_current(path)
    with open(path, "r+b") as fh:
        fh.truncate(1000)
    assert not models.checkpoint_current(path)
    assert "stale or damaged" in models.openai_checkpoint_status()
    assert models.convert_embedded_for_openai() == path
    assert models.checkpoint_current(path) and path.stat().st_size > 100_000_000


def test_not_a_ctranslate2_model_is_refused(tmp_path):
    from captioner.asr.convert import read_ct2_model

    junk = tmp_path / "model.bin"
    junk.write_bytes(b"\x06\x00\x00\x00" + b"\xff" * 10)
    with pytest.raises(InputError, match="not a CTranslate2 model.bin"):
        read_ct2_model(junk)
    junk.write_bytes(b"\x05\x00\x00\x00")
    with pytest.raises(InputError, match="binary version 5"):
        read_ct2_model(junk)


# --- both backends on real speech -----------------------------------------------


@requires_openai
@requires_speech
def test_backends_agree_on_real_speech(openai_recognizer, float_recognizer):
    """Two shared clips with 3 s of silence between, language detected: same words, times, cues."""
    import jiwer

    from captioner.media.audio import SAMPLE_RATE, load_audio
    from captioner.pipeline import make_cues
    from captioner.text.scoring import normalise_for_scoring

    rows = speech_manifest()[1:3]
    first, second = (load_audio(wav) for wav, _, _ in rows)
    gap = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)  # VAD drops it; word times must skip it
    audio = np.concatenate([first, gap, second])
    ours = openai_recognizer.transcribe(audio, language=None)
    theirs = float_recognizer.transcribe(audio, language=None)

    assert ours.language == theirs.language == "ar"
    assert abs(ours.language_probability - theirs.language_probability) < 0.02
    wer = jiwer.wer(normalise_for_scoring(theirs.text), normalise_for_scoring(ours.text))
    MEASUREMENTS.append(f"openai-whisper vs faster-whisper (float32, same weights) WER on {len(audio) / SAMPLE_RATE:.0f}s: {wer:.3f}")
    assert wer <= 0.1, (ours.text, theirs.text)
    pairs = [(a, b) for a, b in zip(ours.words, theirs.words) if a.text == b.text]
    assert len(pairs) >= 0.9 * len(theirs.words)
    assert max(abs(a.start - b.start) + abs(a.end - b.end) for a, b in pairs) <= 0.1
    assert max(abs(a.probability - b.probability) for a, b in pairs) <= 0.05
    cues_ours, cues_theirs = make_cues(ours), make_cues(theirs)
    assert len(cues_ours) == len(cues_theirs)
    assert all(abs(a.start - b.start) <= 0.1 and abs(a.end - b.end) <= 0.1 for a, b in zip(cues_ours, cues_theirs))

    # Word times are mapped back across the silence that VAD removed.
    starts = [w.start for w in ours.words]
    assert starts == sorted(starts) and ours.words[-1].end <= len(audio) / SAMPLE_RATE + 0.05
    boundary = len(first) / SAMPLE_RATE
    assert not any(boundary + 0.3 < w.start < boundary + 2.7 for w in ours.words), "a word inside the silence"
    assert any(w.start >= boundary + 2.7 for w in ours.words), "no word of the second clip"
    reference = normalise_for_scoring(" ".join(ref for _, ref, _ in rows))
    assert jiwer.wer(reference, normalise_for_scoring(ours.text)) <= 0.8

    # Both give the review flags their signals (segment records, one per word), alike, and so the same flags.
    from captioner.captions.flags import decide

    for t in (ours, theirs):
        assert t.segments and len(t.signals) == len(t.words)
        assert all(0 <= s.segment < len(t.segments) and s.speech >= 0.5 for s in t.signals)
    segment_of = {id(w): t.segments[s.segment] for t in (ours, theirs) for w, s in zip(t.words, t.signals)}
    for a, b in pairs:
        sa, sb = segment_of[id(a)], segment_of[id(b)]
        assert abs(sa.avg_logprob - sb.avg_logprob) <= 0.05 and abs(sa.no_speech_prob - sb.no_speech_prob) <= 0.05
        assert abs(sa.compression_ratio - sb.compression_ratio) <= 0.1 and sa.temperature == sb.temperature
    ours_flags = {(w.text, round(w.start, 1)): d.why for w, d in zip(ours.words, decide(ours))}
    theirs_flags = {(w.text, round(w.start, 1)): d.why for w, d in zip(theirs.words, decide(theirs))}
    common = set(ours_flags) & set(theirs_flags)
    assert sum(bool(ours_flags[k]) == bool(theirs_flags[k]) for k in common) >= 0.9 * len(common)


# --- the CLI --------------------------------------------------------------------


@requires_openai
def test_cli_transcribe_with_openai_backend(tmp_path, short_clip, float_recognizer):
    from captioner.media.audio import load_audio

    out = tmp_path / "first.json"
    result = run_cli("transcribe", str(short_clip), "-o", str(out), "--backend", "openai-whisper", "-q")
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    words = data["words"]
    assert words and data["cues"]
    assert all(0 <= w["start"] <= w["end"] <= 5.65 and 0 <= w["probability"] <= 1 for w in words)
    # Same weights, same decoding: faster-whisper in float32 reads the same words (measured: identical; one
    # word in six may differ where float rounding flips a beam on another CPU).
    import jiwer

    expected = float_recognizer.transcribe(load_audio(short_clip), language="ar")
    assert jiwer.wer(" ".join(w.text for w in expected.words), " ".join(w["text"] for w in words)) <= 0.2


@requires_openai
def test_hotwords_and_prompt_steer_openai_whisper(openai_recognizer, short_clip):
    """openai-whisper has no hotwords: they go first in a prompt carried into every window
    (carry_initial_prompt), so they steer it as faster-whisper's do.  Unprompted it writes "حمتي سمي" for
    "حملة اصنع الخير" (test_cli_transcribe_with_openai_backend's words); steered, the words said."""
    from captioner.captions.flags import bare
    from captioner.media.audio import load_audio

    said = "مرحبا بكم في حملة اصنع الخير."
    steered = openai_recognizer.transcribe(load_audio(short_clip), language="ar", hotwords=said)
    assert {"حملة", "اصنع", "الخير"} <= {bare(w.text) for w in steered.words}, [w.text for w in steered.words]


@requires_openai
@requires_speech
def test_cli_both_backends_give_the_same_words_with_compute_type_float32(tmp_path):
    """The user-facing way to get the same transcript out of both backends: ``--compute-type float32``."""
    import jiwer

    wav = speech_manifest()[4][0]
    outputs = {}
    for backend in ("faster-whisper", "openai-whisper"):
        out = tmp_path / f"{backend}.json"
        result = run_cli("transcribe", str(wav), "-o", str(out), "--backend", backend, "--compute-type", "float32",
                         "--lang", "ar", "-q")
        assert result.returncode == 0, result.stderr
        outputs[backend] = json.loads(out.read_text(encoding="utf-8"))
    fw, ow = outputs["faster-whisper"], outputs["openai-whisper"]
    fw_text = " ".join(w["text"] for w in fw["words"])
    ow_text = " ".join(w["text"] for w in ow["words"])
    wer = jiwer.wer(fw_text, ow_text)
    MEASUREMENTS.append(f"CLI --compute-type float32, openai-whisper vs faster-whisper WER on {wav.name}: {wer:.3f}")
    assert wer <= 0.1, (fw_text, ow_text)
    pairs = [(a, b) for a, b in zip(fw["words"], ow["words"]) if a["text"] == b["text"]]
    assert len(pairs) >= 0.9 * len(fw["words"])
    assert max(abs(a["start"] - b["start"]) + abs(a["end"] - b["end"]) for a, b in pairs) <= 0.1
    assert max(abs(a["probability"] - b["probability"]) for a, b in pairs) <= 0.05
    assert len(fw["cues"]) == len(ow["cues"])


def test_compute_type_reaches_the_model():
    """``compute_type`` is what CTranslate2 actually runs: auto is int8 (CPU), float32 is float32 (batch included)."""
    from captioner.batch.runner import JobRunner
    from captioner.asr import make_recognizer

    assert make_recognizer("faster-whisper", "base", workers=1)._models[0].model.compute_type.startswith("int8")
    runner = JobRunner(threads=1)
    exact = runner.recognizer("base", "faster-whisper", "float32")
    assert exact._models[0].model.compute_type == "float32"
    assert runner.recognizer("base", "faster-whisper", "auto") is not exact


@pytest.mark.parametrize("command", [
    ["transcribe", str(SAMPLE), "-o", "{tmp}/x.srt"],
    ["caption", str(SAMPLE), "-o", "{tmp}/x.mp4"],
    ["batch", str(SAMPLE.parent), "--out", "{tmp}/out"],
])
def test_openai_backend_refuses_quantized_compute_types(tmp_path, command):
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    result = run_cli(*args, "--backend", "openai-whisper", "--compute-type", "int8")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == ("captioner: error: openai-whisper computes in float32 only; "
                                     "--compute-type int8 is for faster-whisper")
    assert list(tmp_path.iterdir()) == [], "nothing written"


def test_unknown_backend_is_bad_usage(tmp_path):
    result = run_cli("transcribe", str(SAMPLE), "-o", str(tmp_path / "x.srt"), "--backend", "whisperx")
    assert result.returncode == 2 and "invalid choice: 'whisperx'" in result.stderr
    assert not (tmp_path / "x.srt").exists()


def _blocked_whisper(tmp_path: Path) -> dict:
    """An environment in which ``import whisper`` fails, as where the extra is not installed."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "whisper.py").write_text('raise ImportError("No module named \'whisper\'", name="whisper")\n')
    import os

    return {"PYTHONPATH": os.pathsep.join([str(shim), str(ROOT)])}


@pytest.mark.parametrize("command", [
    ["transcribe", str(SAMPLE), "-o", "{tmp}/x.srt", "--backend", "openai-whisper"],
    ["caption", str(SAMPLE), "-o", "{tmp}/x.mp4", "--backend", "openai-whisper"],
    ["models", "convert", "base", "-o", "{tmp}/x.pt"],
])
def test_missing_extra_is_one_line_naming_it(tmp_path, command):
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    result = run_cli(*args, env=_blocked_whisper(tmp_path))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "pip install 'captioner[openai]'" in lines[0] and "cannot import whisper" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shim"], "nothing written"


@requires_openai
def test_models_convert_writes_atomically_and_refuses_to_overwrite(tmp_path):
    import whisper

    target = tmp_path / "base.pt"
    result = run_cli("models", "convert", "base", "--to", "openai-whisper", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert whisper.load_model(str(target)).dims.n_text_layer == 6
    stamp = target.stat().st_mtime_ns
    again = run_cli("models", "convert", "base", "-o", str(target))
    assert again.returncode == 2 and "already exists (use --force" in again.stderr
    assert target.stat().st_mtime_ns == stamp
    folder = run_cli("models", "convert", str(models.ensure_embedded_model()), "-o", str(target), "--force")
    assert folder.returncode == 0, folder.stderr
    assert target.stat().st_mtime_ns != stamp and whisper.load_model(str(target)).dims.n_vocab == 51865
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.pt"], "no temporary file left"
    listed = run_cli("models", "list")
    assert listed.returncode == 0 and "openai-whisper" in listed.stdout


@pytest.mark.parametrize("command", [["models"], ["models", "convert"], ["models", "list"]])
def test_models_commands_have_help(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0 and "usage: captioner " + " ".join(command) in result.stdout


def test_backend_flag_on_every_recognising_command():
    for command in ("caption", "transcribe"):
        result = run_cli(command, "--help")
        assert "--backend {faster-whisper,openai-whisper}" in result.stdout.replace("\n", " ").replace("  ", " ")
