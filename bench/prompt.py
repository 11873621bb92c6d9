"""Does a domain prompt or a hotword glossary help Whisper base on the shared Arabic set?

    python bench/prompt.py all --out-dir /tmp/prompt          # every configuration, seed 0 (about 2 h on 2 shared cores)
    python bench/prompt.py run --config hotwords --seed 0 --out /tmp/prompt/fw-hotwords-s0.json
    python bench/prompt.py run --backend openai-whisper --config hotwords --out /tmp/prompt/oa-hotwords-s0.json
    python bench/prompt.py table /tmp/prompt/fw-none-s0.json /tmp/prompt/*.json   # the first file is the baseline

This is the README's figure for ``--prompt`` and ``--hotwords`` ("Prompt and hotwords").  Each configuration
runs in a process of its own (``all`` starts them one after another): CTranslate2 seeds a thread's sampler the
first time it samples, so a fresh process is the only clean way to give the temperature fallback the same random
stream.  Recognition is captioner's own recogniser (``make_recognizer``: embedded base, int8 unless
``--compute-type``, beam 5, Silero VAD, word timestamps, ``condition_on_previous_text=False``, Arabic
punctuation, the loop guard and the speech trim), one worker on ``--threads`` threads, ``prompt=`` and
``hotwords=`` exactly as ``--prompt`` and ``--hotwords`` pass them; each clip (6-11 s) is one chunk, one
Whisper window.  Scoring: ``captioner.text.scoring.normalise_for_scoring`` and word / character error rates
over the whole set; ``table`` adds, against the first file, a 95% bootstrap interval of the change over clips
(2000 resamples of the 30 clips, the same resample for both runs) and how many clips got better or worse.

Configurations:

* ``none``: no prompt (the baseline);
* ``prompt``: one plausible preceding sentence in the clips' register (encyclopedic MSA), written for this test
  without copying any reference sentence;
* ``glossary-prompt`` / ``hotwords``: a creator's glossary of the 24 names and rare terms said in the 30 clips
  (from their references: an "oracle" list, the realistic case for ``--hotwords``, where the creator knows the
  names said in the video; each clip holds only 0-3 of them, so the rest are distractors for that clip), given
  as the prompt or as hotwords;
* ``distractor-hotwords``: 10 campaign terms said in none of the clips: are they written anyway?
* ``prompt+hotwords``: both.

Written for issue 15 by the research helper (its runs are the README's figures, made with the same decoding
calls through faster-whisper directly) and moved here onto captioner's recogniser.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = Path(os.environ.get("CAPTIONER_SPEECH_DATA", ROOT.parent / "shared" / "data" / "arabic-speech" / "msa"))

DOMAIN_PROMPT = (
    "تتناول هذه المقالة من الموسوعة العربية تاريخ المنطقة وجغرافيتها واقتصادها "
    "وثقافتها، إضافة إلى أهم الأحداث السياسية والعلمية فيها."
)
GLOSSARY = [
    "إستونيا", "نيوتن", "الاتحاد السوفياتي", "التلفاز", "الجامعة العربية", "سوريا الكبرى",
    "الهلال الخصيب", "البطركية", "طرابلس", "كسروان", "بيروت", "لويس التاسع", "الصليبيون",
    "قناة السويس", "البحر الأبيض المتوسط", "رامسار", "التنوع البيولوجي", "الباطنة", "ظفار",
    "المندائية", "الفرات", "الأردنية", "مستجمعات", "الجبرية",
]
DISTRACTORS = [
    "تيك توك", "CreateForGood", "حملة", "تطوع", "إمكانية الوصول", "الصم", "ضعاف السمع",
    "لغة الإشارة", "الترجمة النصية", "مبادرة",
]
CONFIGS = {  # name: (prompt, hotwords)
    "none": (None, None),
    "prompt": (DOMAIN_PROMPT, None),
    "glossary-prompt": ("، ".join(GLOSSARY), None),
    "hotwords": (None, "، ".join(GLOSSARY)),
    "distractor-hotwords": (None, "، ".join(DISTRACTORS)),
    "prompt+hotwords": (DOMAIN_PROMPT, "، ".join(GLOSSARY)),
}


def log(msg: str) -> None:
    print(f"[prompt {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_manifest() -> list[dict]:
    with open(DATA / "manifest.tsv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def run(args) -> None:
    from captioner.asr import make_recognizer
    from captioner.media.audio import load_audio

    prompt, hotwords = CONFIGS[args.config]
    rows = load_manifest()[: args.clips or None]
    recognizer = make_recognizer(args.backend, "base", compute_type=args.compute_type, device="cpu", workers=1,
                                 cpu_threads=args.threads, seed=args.seed)
    audios = [load_audio(DATA / r["file"]) for r in rows]
    hyps, times, temps, details = [], [], [], []
    for audio in audios:
        t0 = time.perf_counter()
        transcript = recognizer.transcribe(audio, language="ar", prompt=prompt, hotwords=hotwords)
        times.append(time.perf_counter() - t0)
        temps.append(max((s.temperature for s in transcript.segments), default=0.0))
        hyps.append(" ".join(w.text for w in transcript.words))
        details.append([[w.text, round(w.start, 2), round(w.end, 2), round(w.probability, 3)] for w in transcript.words])
    out = {
        "backend": args.backend, "config": args.config, "seed": args.seed, "compute_type": recognizer.compute_type,
        "threads": args.threads, "prompt": prompt, "hotwords": hotwords,
        "audio_s": sum(len(a) for a in audios) / 16000, "recognise_s": sum(times),
        "files": [r["file"] for r in rows], "hyps": hyps, "words": details, "max_temperature": temps, "clip_s": times,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    log(f"{args.backend} {args.config} seed {args.seed}: {sum(times):.1f} s")


def run_all(args) -> None:
    """Every configuration, each in a fresh process (see the module's docstring), one after another."""
    out = Path(args.out_dir)
    prefix = "fw" if args.backend == "faster-whisper" else "oa"
    for config in CONFIGS:
        target = out / f"{prefix}-{config}-s{args.seed}.json"
        subprocess.run([sys.executable, __file__, "run", "--backend", args.backend, "--config", config,
                        "--seed", str(args.seed), "--compute-type", args.compute_type, "--threads", str(args.threads),
                        "--clips", str(args.clips), "--out", str(target)], check=True)


def _edits(ref: list, hyp: list) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def _term_in(term: str, text: str) -> bool:
    from captioner.text.scoring import normalise_for_scoring

    return f" {normalise_for_scoring(term)} " in f" {text} "


def per_clip(path: Path) -> tuple[dict, list[tuple[int, int, int, int]], dict]:
    """A run, its (word edits, words, character edits, characters) per clip, and its glossary figures."""
    from captioner.text.scoring import normalise_for_scoring

    refs_by_file = {r["file"]: r["reference"] for r in load_manifest()}
    res = json.loads(path.read_text(encoding="utf-8"))
    stats, said, right, inserted = [], 0, 0, 0
    for f, h in zip(res["files"], res["hyps"]):
        r, h = normalise_for_scoring(refs_by_file[f]), normalise_for_scoring(h)
        stats.append((_edits(r.split(), h.split()), len(r.split()),
                      _edits(list(r.replace(" ", "")), list(h.replace(" ", ""))), len(r.replace(" ", ""))))
        for term in GLOSSARY:
            if _term_in(term, r):
                said += 1
                right += _term_in(term, h)
        inserted += sum(_term_in(t, h) and not _term_in(t, r) for t in GLOSSARY + DISTRACTORS)
    return res, stats, {"said": said, "right": right, "inserted": inserted}


def _rate(stats, idx, k) -> float:
    return sum(stats[i][k] for i in idx) / sum(stats[i][k + 1] for i in idx)


def table(args) -> None:
    base_path, *others = [Path(p) for p in args.paths]
    _, base, _ = per_clip(base_path)
    n = len(base)
    rng = random.Random(0)
    samples = [[rng.randrange(n) for _ in range(n)] for _ in range(2000)]
    print("| run | WER | ΔWER (95% CI) | CER | ΔCER (95% CI) | clips better / worse | glossary terms right "
          "(of said) | glossary or distractor terms written, not said | clips that fell back | recognition ÷ "
          "audio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for path in [base_path, *others]:
        res, st, terms = per_clip(path)
        everything = range(n)
        w, c = _rate(st, everything, 0), _rate(st, everything, 2)
        dw = sorted(_rate(st, s, 0) - _rate(base, s, 0) for s in samples)
        dc = sorted(_rate(st, s, 2) - _rate(base, s, 2) for s in samples)
        better = sum(st[i][0] < base[i][0] for i in everything)
        worse = sum(st[i][0] > base[i][0] for i in everything)
        fell_back = sum(1 for t in res.get("max_temperature", []) if t > 0)
        name = f"{res['backend']} {res['config']} {res['compute_type']} s{res['seed']}"
        print(f"| {name} | {w:.3f} | {w - _rate(base, everything, 0):+.3f} ({dw[50]:+.3f}..{dw[1949]:+.3f}) | "
              f"{c:.3f} | {c - _rate(base, everything, 2):+.3f} ({dc[50]:+.3f}..{dc[1949]:+.3f}) | {better} / {worse} | "
              f"{terms['right']}/{terms['said']} | {terms['inserted']} | {fell_back} | "
              f"{res['recognise_s'] / res['audio_s']:.2f} |")
        rows.append({"run": name, "wer": w, "cer": c, "dwer_ci": [dw[50], dw[1949]], "dcer_ci": [dc[50], dc[1949]],
                     "better": better, "worse": worse, **terms, "fallback_clips": fell_back,
                     "rtf": res["recognise_s"] / res["audio_s"], "path": str(path)})
    print("\nCER is over characters without spaces. Recognition ÷ audio is wall time on a shared machine: compare "
          "runs made side by side only.")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("run", "all"):
        r = sub.add_parser(name)
        r.add_argument("--backend", default="faster-whisper", choices=["faster-whisper", "openai-whisper"])
        r.add_argument("--seed", type=int, default=0)
        r.add_argument("--compute-type", default="auto")
        r.add_argument("--threads", type=int, default=2)
        r.add_argument("--clips", type=int, default=0, help="the first N clips only (a smoke test; default: all)")
        if name == "run":
            r.add_argument("--config", required=True, choices=list(CONFIGS))
            r.add_argument("--out", required=True)
        else:
            r.add_argument("--out-dir", required=True)
    t = sub.add_parser("table")
    t.add_argument("paths", nargs="+", help="run files; the first is the baseline")
    t.add_argument("--json")
    args = ap.parse_args()
    {"run": run, "all": run_all, "table": table}[args.cmd](args)


if __name__ == "__main__":
    main()
