"""The levers a user reaches for: --prompt and --hotwords, --device, --quality (issue 15).

Prompt and hotwords are checked on what Whisper writes: the sample's synthetic voice says
"مرحبا بكم في حملة اصنع الخير." and Whisper base, unprompted, writes none of "حملة", "اصنع",
"الخير"; given the sentence as a prompt or as hotwords it writes them (both backends).  A word
that is one of the hotwords is flagged for review: hotwords are written where they were not said.

The machines this runs on have no GPU: ``--device cuda`` must be refused in one line, and the GPU's
H.264 encoder must be found unusable with the reason said.  The GPU paths themselves (float16 on
CUDA, NVENC, one GPU per worker) are checked as far as a machine without a GPU can: what they would
ask the encoder, Ray and the workers for.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from conftest import ROOT, make_video, run_cli, run_ffmpeg

SAMPLE = ROOT / "samples" / "createforgood-ar.mp4"
SAID = "مرحبا بكم في حملة اصنع الخير."
# Words of SAID that Whisper base does not write unprompted (it writes "حمتي سمي ..." there).
STEERED = {"حملة", "اصنع", "الخير"}


def words_of(transcript) -> set[str]:
    from captioner.captions.flags import bare

    return {bare(w.text) for w in transcript.words}


@pytest.fixture(scope="module")
def first_caption(tmp_path_factory) -> Path:
    """The sample's first sentence (5.6 s) as a WAV."""
    path = tmp_path_factory.mktemp("levers") / "first.wav"
    run_ffmpeg("-i", str(SAMPLE), "-t", "5.6", "-vn", "-ac", "1", "-ar", "16000", str(path))
    return path


@pytest.fixture(scope="module")
def unprompted(first_caption, recognizer):
    from captioner.pipeline import transcribe

    return transcribe(first_caption, recognizer=recognizer)


# --- prompt and hotwords ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lever", ["prompt", "hotwords"])
def test_prompt_and_hotwords_steer_faster_whisper(first_caption, recognizer, unprompted, lever):
    from captioner.captions.flags import bare
    from captioner.pipeline import transcribe

    assert not STEERED & words_of(unprompted), [w.text for w in unprompted.words]
    steered = transcribe(first_caption, recognizer=recognizer, **{lever: SAID})
    assert STEERED <= words_of(steered), [w.text for w in steered.words]
    flagged = {w.text: w.why for w in steered.words}
    if lever == "hotwords":
        # Every word that is a hotword is flagged for review, as a hotword, and no other word is.
        said = {bare(w) for w in SAID.split()}
        assert all(("hotword" in why) == (bare(text) in said) for text, why in flagged.items()), flagged
    else:
        assert not any("hotword" in why for why in flagged.values()), flagged
    assert not any("hotword" in w.why for w in unprompted.words)


def test_hotword_flags_only_the_hotwords(first_caption, recognizer, unprompted):
    """Hotwords not said change nothing here, and flag no other word; a hotword after a proclitic is found."""
    from captioner.captions.flags import hotword_keys, hotword_match

    keys = hotword_keys("TikTok CreateForGood، مبادرة, لغة الإشارة")
    for word in ("والمبادرة،", "مبادرة", "TikTok!", "tiktok", "بالإشارة", "إشارة", "الإشارة"):
        assert hotword_match(word, keys), word
    for word in ("tiktoker", "مبادرات", "في", "إشارات", "a"):
        assert not hotword_match(word, keys), word
    assert hotword_keys(None) == hotword_keys("  ،, ") == frozenset()


def test_transcribe_cli_passes_hotwords_and_flags_them_in_the_sidecar(tmp_path, first_caption):
    import json

    from captioner.captions.flags import bare

    out = tmp_path / "first.json"
    done = run_cli("transcribe", str(first_caption), "-o", str(out), "--hotwords", SAID)
    assert done.returncode == 0, done.stderr
    words = json.loads(out.read_text(encoding="utf-8"))["words"]
    assert STEERED <= {bare(w["text"]) for w in words}, words
    said = {bare(w) for w in SAID.split()}
    assert all(("hotword" in w.get("why", [])) == (bare(w["text"]) in said) for w in words), words
    assert all(w["review"] for w in words if bare(w["text"]) in said), words
    assert re.search(r"حملة .*hotword", done.stderr), done.stderr  # the printout of flagged words says why


def test_transcribe_cli_with_a_prompt_says_to_check_the_words(tmp_path, first_caption):
    done = run_cli("transcribe", str(first_caption), "-o", str(tmp_path / "first.srt"), "--prompt", SAID)
    assert done.returncode == 0, done.stderr
    assert "recognised with --prompt: Whisper can write words of a prompt where they were not said" in done.stderr
    assert "حملة" in (tmp_path / "first.srt").read_text(encoding="utf-8")


@pytest.mark.parametrize("flag", ["--prompt", "--hotwords"])
def test_too_long_a_prompt_is_refused_before_any_recognition(tmp_path, first_caption, flag):
    """Whisper reads 223 tokens of prompt; more would be cut silently (faster-whisper) or from the start (openai)."""
    done = run_cli("transcribe", str(first_caption), "-o", str(tmp_path / "x.srt"), flag, " ".join(["كلمة"] * 200))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and re.fullmatch(
        rf"captioner: error: {flag}: \d+ tokens, more than the 223 Whisper reads before a window; .*", lines[0]), lines
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value, message", [
    ("a\x00b", "control character"),
    ("x" * 2001, "2001 characters long"),
])
def test_bad_prompt_text_is_one_line(tmp_path, value, message, capsys, monkeypatch):
    from test_numbers import in_process, one_line_exit_2

    clip = make_video(tmp_path / "c.mp4", duration=1.0, size=(216, 384))
    for flag in ("--prompt", "--hotwords"):
        line = one_line_exit_2(in_process(capsys, monkeypatch, tmp_path, "caption", str(clip), flag, value))
        assert message in line and flag.lstrip("-") in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4"]


def test_manifest_hotwords_are_per_clip_and_a_bad_cell_fails_its_row_alone(tmp_path):
    """The hotwords column replaces --hotwords for its row, counts in that clip's fingerprint (a rerun after
    editing a cell redoes that clip only), and a cell that is not plain text fails that row alone."""
    from captioner.batch.plan import plan
    from captioner.batch.records import fingerprint
    from captioner.settings import CaptionSettings

    clips = [make_video(tmp_path / f"{n}.mp4", duration=1.0, size=(216, 384)) for n in "abc"]
    manifest = tmp_path / "campaign.csv"

    def jobs(cells):
        with open(manifest, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["path", "hotwords"])
            for clip, cell in zip(clips, cells):
                writer.writerow([clip.name, cell])
        planned = plan(manifest, tmp_path / "out", CaptionSettings(hotwords="CreateForGood"))
        for job in planned:
            if not job.error:
                fingerprint(job, None, {})
        return planned

    first = jobs(["TikTok\nCreateForGood", "", "bad\x07cell"])
    assert first[0].settings.hotwords == "TikTok CreateForGood"  # a cell's line breaks are one space
    assert first[1].settings.hotwords == "CreateForGood"  # an empty cell keeps --hotwords
    assert not first[0].error and not first[1].error
    assert "line 4" in first[2].error and "control character" in first[2].error
    edited = jobs(["TikTok CreateForGood حملة", "", "fine"])
    assert edited[0].fingerprint != first[0].fingerprint and edited[1].fingerprint == first[1].fingerprint
    assert not edited[2].error


# --- device ---------------------------------------------------------------------------------------------------------


def no_gpu() -> bool:
    from captioner.asr.registry import cuda_devices

    return cuda_devices("faster-whisper") == 0


needs_no_gpu = pytest.mark.skipif(not no_gpu(), reason="a CUDA GPU is here: --device cuda is not refused")


@needs_no_gpu
@pytest.mark.parametrize("command", [
    ["caption", "{clip}"],
    ["transcribe", "{clip}", "-o", "x.srt"],
    ["burn", "{clip}", "--subs", "{subs}"],
    ["align", "{clip}", "--subs", "{subs}", "-o", "x.json"],
    ["batch", "{folder}", "--out", "out"],
])
def test_device_cuda_without_a_gpu_is_one_line_exit_2(tmp_path, capsys, monkeypatch, command):
    from test_numbers import in_process, one_line_exit_2

    (tmp_path / "in").mkdir()
    clip = make_video(tmp_path / "in" / "c.mp4", duration=1.0, size=(216, 384))
    subs = tmp_path / "c.srt"
    subs.write_text("1\n00:00:00,000 --> 00:00:01,000\nمرحبا\n", encoding="utf-8")
    args = [a.format(clip=clip, subs=subs, folder=tmp_path / "in") for a in command]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    line = one_line_exit_2(in_process(capsys, monkeypatch, tmp_path, *args, "--device", "cuda"))
    assert line == ("captioner: error: --device cuda: CTranslate2 sees no CUDA GPU on this machine (use --device cpu, "
                    "or auto to use a GPU only where there is one)"), line
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@needs_no_gpu
def test_device_auto_is_the_cpu_here_and_compute_types_follow_the_device(tmp_path, capsys, monkeypatch):
    from test_numbers import in_process, one_line_exit_2

    from captioner.asr.registry import check_compute_type, resolve_device

    assert resolve_device("faster-whisper", "auto") == "cpu"
    assert check_compute_type("faster-whisper", "auto", "cpu") == "int8"
    assert check_compute_type("faster-whisper", "auto", "cuda") == "float16"
    assert check_compute_type("openai-whisper", "auto", "cuda") == "float16"
    assert check_compute_type("openai-whisper", "auto", "cpu") == "float32"
    clip = make_video(tmp_path / "c.mp4", duration=1.0, size=(216, 384))
    line = one_line_exit_2(in_process(capsys, monkeypatch, tmp_path, "caption", str(clip), "--compute-type", "float16"))
    assert "faster-whisper on cpu computes in int8, int8_float32, int16, float32 only; --compute-type float16 is " \
           "for --device cuda" in line
    line = one_line_exit_2(in_process(capsys, monkeypatch, tmp_path, "caption", str(clip), "--device", "gpu"))
    assert "invalid choice: 'gpu'" in line


def test_one_gpu_per_worker_locally_and_on_ray():
    """What the engines ask for on a GPU machine or cluster (no GPU here to give them one)."""
    from captioner.batch.local_engine import default_local_workers
    from captioner.batch.ray_engine import RayEngine
    from captioner.errors import InputError

    assert default_local_workers("cuda", 4) == 4 and default_local_workers("cuda", 0) == 1
    cuda = RayEngine(device="cuda")
    gpus = {"CPU": 32.0, "GPU": 4.0}
    assert cuda.actor_options(gpus)["num_gpus"] == 1 and cuda.actor_count(gpus) == 4
    assert RayEngine(device="auto").actor_count(gpus) == 4  # auto takes the GPUs where the cluster has them
    assert "num_gpus" not in RayEngine(device="cpu").actor_options(gpus)
    assert RayEngine(device="cpu").actor_count(gpus) == 32
    assert RayEngine(device="auto").actor_count({"CPU": 8.0}) == 8
    with pytest.raises(InputError, match="the Ray cluster at auto has no GPU"):
        cuda.actor_options({"CPU": 8.0})


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch):
    from captioner.batch.local_engine import visible_gpus

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert visible_gpus(2) == ["2", "3"]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert visible_gpus(3) == ["0", "1", "2"]


# --- quality ----------------------------------------------------------------------------------------------------------


def x264_options(video: Path) -> str:
    """The options x264 wrote into the stream (its SEI): 'crf=23.0 ... subme=2 ...'."""
    data = video.read_bytes()
    start = data.index(b"x264 - core")
    return data[start:data.index(b"\x00", start)].decode("ascii", "replace")


@pytest.fixture(scope="module")
def busy_clip(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("quality")
    clip = make_video(folder / "clip.mp4", duration=2.0, size=(540, 960))
    subs = folder / "clip.srt"
    subs.write_text("1\n00:00:00,000 --> 00:00:02,000\nمرحبا بكم في حملة اصنع الخير\n", encoding="utf-8")
    return clip, subs


def test_quality_names_pick_preset_and_crf_and_experts_win(tmp_path, busy_clip):
    clip, subs = busy_clip
    sizes = {}
    # x264's subme is 0 for ultrafast, 2 for veryfast, 7 for medium, 8 for slow: the preset that ran.
    for args, crf, subme in (([], 23, 2), (["--quality", "fast"], 20, 0), (["--quality", "small"], 26, 7),
                             (["--quality", "fast", "--x264-preset", "slow"], 20, 8),
                             (["--quality", "small", "--crf", "30"], 30, 7)):
        out = tmp_path / f"q{len(sizes)}.mp4"
        done = run_cli("burn", str(clip), "--subs", str(subs), "-o", str(out), *args)
        assert done.returncode == 0, done.stderr
        options = x264_options(out)
        assert f" crf={crf}.0 " in options and f" subme={subme} " in options, (args, options)
        sizes[" ".join(args) or "default"] = out.stat().st_size
    assert sizes["--quality small"] < sizes["default"] < sizes["--quality fast"], sizes


def test_the_encoder_settings_for_a_gpu():
    """NVENC's arguments for each quality; without a usable NVENC (any machine without an NVIDIA driver) the
    encode stays on libx264 and says why in one line; an explicit x264 preset keeps libx264 on a GPU."""
    from captioner.errors import InputError
    from captioner.render.ffmpeg import EncoderSettings, gpu_h264_encoder

    gpu = EncoderSettings(quality="small", codec="h264_nvenc")
    assert gpu.args() == {"c:v": "h264_nvenc", "preset": "p6", "rc": "vbr", "cq": 26, "b:v": 0, "pix_fmt": "yuv420p"}
    assert EncoderSettings(quality="fast").args() == {"c:v": "libx264", "preset": "ultrafast", "crf": 20,
                                                      "pix_fmt": "yuv420p"}
    assert EncoderSettings(preset="slow").for_device("cuda") == (EncoderSettings(preset="slow"), "")
    assert EncoderSettings().for_device("cpu") == (EncoderSettings(), "")
    usable, why = gpu_h264_encoder()
    chosen, note = EncoderSettings().for_device("cuda")
    if usable:
        assert chosen.codec == "h264_nvenc" and note == ""
    else:
        assert chosen == EncoderSettings() and "\n" not in note
        assert note.startswith("GPU H.264 encoder not used (") and note.endswith("): encoding with libx264")
        assert "h264_nvenc" in why
    for bad in ({"quality": "huge"}, {"preset": "warp"}, {"crf": 52}, {"crf": True}, {"codec": "libx265"}):
        with pytest.raises(InputError):
            EncoderSettings(**bad)


def test_help_lists_the_levers():
    done = run_cli("caption", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for needle in ("--prompt TEXT", "--hotwords", "--device {auto,cpu,cuda}", "--quality {fast,balanced,small}",
                   "fast = x264 ultrafast CRF 20", "balanced = x264 veryfast CRF 23", "small = x264 medium CRF 26"):
        assert needle in text, needle

