"""Review flags: how well one combined score finds the wrong words, against probability alone.

    python bench/flags.py                                  # the shared set: recognise (cached), print every table
    python bench/flags.py --external OTHER/manifest.tsv    # also fit on the shared set, report on other clips
    python bench/flags.py --write-model captioner/captions/review_model.json   # refit the shipped model

Every clip of the shared Arabic speech set (``../shared/data/arabic-speech/msa``
or ``$CAPTIONER_SPEECH_DATA``) is recognised with captioner's own recogniser
(the embedded base model, as ``captioner caption`` runs it) and cached as JSON
under ``--cache``; a recognised word is *wrong* when it is substituted or
inserted against the reference after the scoring normaliser
(:func:`captioner.text.scoring.word_errors`).  Features come from
:func:`captioner.captions.flags.word_features`, the code the product runs, so a
model fitted here is scored there exactly as measured here.

Nothing is reported on the clips it was fitted on:

- **fixed split**: the model and its threshold are tuned on two thirds of the
  clips (a seeded shuffle, ``--seed``), and measured on the other third.  The
  shipped model is this one: its data file names the held-out clips, and
  ``tests/test_review.py`` measures them again;
- **random splits**: the same, ``--splits`` times, for the spread;
- **k-fold by clip**: no clip in two folds; the pooled out-of-sample scores
  give the precision-recall curves, the combined score beside probability alone;
- **external**: ``--external`` manifests (same TSV columns: file, reference),
  never used for fitting.

The model is a logistic regression (numpy, Newton's method, L2 penalty, each
signal held to its expected sign), its standardised inputs clipped to ±4.
Targets (issue 12): flag at least 70% of the wrong words while at least 80% of
the flagged words are wrong.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from captioner.captions import flags as rv  # noqa: E402
from captioner.cues import Segment, Transcript, Word, WordSignals  # noqa: E402
from captioner.text.scoring import word_errors  # noqa: E402
from captioner.version import __version__  # noqa: E402

SPEECH_DIR = Path(os.environ.get("CAPTIONER_SPEECH_DATA", ROOT.parent / "shared" / "data" / "arabic-speech" / "msa"))
PRECISION_TARGET, RECALL_TARGET = 0.80, 0.70

FEATURE_SETS = {
    "probability": ["log_probability"],
    "model signals": ["log_probability", "log_duration", "avg_logprob", "no_speech_prob", "compression_ratio",
                      "temperature", "letters"],
    "lexicon": ["zipf_written", "zipf_norm", "unknown"],
    # Every signal; no-speech probability and temperature barely vary on read speech (their fitted weights
    # point the wrong way and are held at 0), so they serve as rules (no-speech, fallback) instead.
    "final": ["log_probability", "log_duration", "avg_logprob", "compression_ratio", "letters", "zipf_written",
              "zipf_norm", "unknown"],
}
# Expected direction of each signal (+1: a higher value means more likely wrong).
SIGNS = {"log_probability": -1, "log_duration": -1, "avg_logprob": -1, "no_speech_prob": 1, "compression_ratio": 1,
         "temperature": 1, "zipf_written": -1, "zipf_norm": -1, "unknown": 1}
RULES = {"too_short_s": 0.05, "outside_speech": 0.5, "compression_ratio": 2.4, "no_speech_prob": 0.6,
         "no_speech_logprob": -1.0, "fallback_temperature": 0.5, "reason_min_logodds": 0.25}
REASON_OF_FEATURE = {"log_probability": "low-probability", "zipf_written": "rare-word", "zipf_norm": "rare-word",
                     "unknown": "rare-word", "log_duration": "short-word", "letters": "short-word",
                     "avg_logprob": "unsure-segment", "compression_ratio": "unsure-segment",
                     "no_speech_prob": "unsure-segment", "temperature": "unsure-segment"}


def log(message: str = "") -> None:
    print(message, flush=True)


# --- recognition, cached -------------------------------------------------------------------------------------------


def read_manifest(path: Path) -> list[tuple[str, Path, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [(Path(r["file"]).stem, path.parent / r["file"], r["reference"]) for r in csv.DictReader(fh, delimiter="\t")]


def transcript_to_dict(t: Transcript) -> dict:
    return {"language": t.language, "language_probability": t.language_probability, "duration": t.duration,
            "words": [[w.text, w.start, w.end, w.probability] for w in t.words],
            "segments": [asdict(s) for s in t.segments], "signals": [asdict(s) for s in t.signals]}


def transcript_from_dict(d: dict) -> Transcript:
    return Transcript(d["language"], d["language_probability"], d["duration"],
                      tuple(Word(*w) for w in d["words"]), tuple(Segment(**s) for s in d["segments"]),
                      tuple(WordSignals(**s) for s in d["signals"]))


def recognise(manifest: Path, cache_dir: Path, language: str = "ar") -> list[dict]:
    """Every clip of the manifest recognised as ``captioner caption`` does, cached by manifest and version."""
    key = hashlib.sha256(str(manifest.resolve()).encode()).hexdigest()[:8]
    cache = cache_dir / f"{manifest.parent.name}-{key}-{__version__}.json"
    cached = json.loads(cache.read_text()) if cache.is_file() else {}
    items = read_manifest(manifest)
    todo = [it for it in items if it[0] not in cached]
    if todo:
        from captioner.asr import make_recognizer
        from captioner.media.audio import load_audio

        recognizer = make_recognizer("faster-whisper", "base")
        t0 = time.perf_counter()
        for i, (name, wav, _) in enumerate(todo, 1):
            cached[name] = transcript_to_dict(recognizer.transcribe(load_audio(wav), language=language))
            if i % 10 == 0 or i == len(todo):
                log(f"  recognised {i}/{len(todo)} clips of {manifest} ({time.perf_counter() - t0:.0f} s)")
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_text(json.dumps(cached, ensure_ascii=False))
    return [{"name": name, "reference": ref, "transcript": transcript_from_dict(cached[name])}
            for name, _, ref in items]


def rows_of(clips: list[dict], wordlist: str = "large") -> list[dict]:
    """One row per scored word: every feature, its label and its clip."""
    rows = []
    for clip in clips:
        t = clip["transcript"]
        labels = word_errors([w.text for w in t.words], clip["reference"])
        feats = rv.word_features(t, ("ar", wordlist) if rv.lexicon_available("ar", wordlist) else None)
        for k, (f, label) in enumerate(zip(feats, labels)):
            if label is not None:
                rows.append({**f, "y": float(label), "clip": clip["name"], "index": k})
    return rows


# --- the model -----------------------------------------------------------------------------------------------------


class Fit:
    """A standardised, sign-constrained, L2-penalised logistic regression (Newton's method)."""

    def __init__(self, features: list[str], l2: float = 1.0, clip: float = 4.0) -> None:
        self.features, self.l2, self.clip = list(features), l2, clip
        self.threshold = 0.5

    def matrix(self, rows: list[dict]) -> np.ndarray:
        return np.array([[r[f] for f in self.features] for r in rows], dtype=float)

    def fit(self, rows: list[dict]) -> "Fit":
        X, y = self.matrix(rows), np.array([r["y"] for r in rows])
        self.mean = X.mean(axis=0)
        self.scale = X.std(axis=0)
        self.scale[self.scale < 1e-9] = 1.0
        Z = np.hstack([np.ones((len(X), 1)), np.clip((X - self.mean) / self.scale, -self.clip, self.clip)])
        active = np.ones(Z.shape[1], dtype=bool)
        want = np.array([0] + [SIGNS.get(f, 0) for f in self.features])
        while True:
            w = np.zeros(Z.shape[1])
            Za = Z[:, active]
            wa = np.zeros(Za.shape[1])
            penalty = np.full(Za.shape[1], self.l2)
            penalty[0] = 0.0
            for _ in range(50):
                p = 1 / (1 + np.exp(-Za @ wa))
                grad = Za.T @ (p - y) + penalty * wa
                hess = (Za * (p * (1 - p))[:, None]).T @ Za + np.diag(penalty) + 1e-9 * np.eye(len(wa))
                step = np.linalg.solve(hess, grad)
                wa -= step
                if np.abs(step).max() < 1e-8:
                    break
            w[active] = wa
            wrong = active & (want * w < 0)
            if not wrong.any():
                break
            active[np.argmax(np.where(wrong, -want * w, -np.inf))] = False  # hold the worst at 0, refit
        self.intercept, self.coef = float(w[0]), w[1:]
        return self

    def score(self, rows: list[dict]) -> np.ndarray:
        z = self.intercept + (np.clip((self.matrix(rows) - self.mean) / self.scale, -self.clip, self.clip) * self.coef).sum(axis=1)
        return 1 / (1 + np.exp(-z))

    def tune(self, rows: list[dict], rule: str) -> "Fit":
        """Choose the threshold on the tuning rows (``rule``: see :func:`choose_threshold`)."""
        y = np.array([r["y"] for r in rows])
        self.threshold = choose_threshold(self.score(rows), y, rule)
        return self

    def to_data(self, name: str, languages: list[str], lexicon: bool) -> dict:
        return {"languages": languages, "lexicon": lexicon, "features": self.features,
                "mean": [round(float(v), 6) for v in self.mean], "scale": [round(float(v), 6) for v in self.scale],
                "coef": [round(float(v), 6) for v in self.coef], "intercept": round(self.intercept, 6),
                "threshold": round(float(self.threshold), 4), "clip": self.clip}


def curve(scores: np.ndarray, y: np.ndarray) -> list[tuple[float, float, float]]:
    """(threshold, recall, precision) at every distinct score, highest threshold first."""
    order = np.argsort(-scores, kind="stable")
    s, yy = scores[order], y[order]
    tp = np.cumsum(yy)
    n = np.arange(1, len(s) + 1)
    last = np.r_[s[1:] != s[:-1], True]  # the last of each run of equal scores
    positives = max(1.0, y.sum())
    return [(float(s[i]), float(tp[i] / positives), float(tp[i] / n[i])) for i in np.flatnonzero(last)]


def choose_threshold(scores: np.ndarray, y: np.ndarray, rule: str = "middle") -> float:
    """The threshold, chosen on tuning data only.

    ``middle``: the middle of the band of thresholds that meets both targets (less fitted to the tuning
    clips than its edge); without such a band, the most recall at the precision target.  ``slack``: the
    threshold that maximises the smaller of the two margins, recall − 0.70 and precision − 0.80.
    """
    pts = curve(scores, y)
    if rule == "slack":
        return max(pts, key=lambda t: (min(t[1] - RECALL_TARGET, t[2] - PRECISION_TARGET), t[1]))[0]
    both = sorted((r, p, t) for t, r, p in pts if p >= PRECISION_TARGET and r >= RECALL_TARGET)
    if both:
        return both[len(both) // 2][2]
    prec = [(r, t) for t, r, p in pts if p >= PRECISION_TARGET]
    return max(prec)[1] if prec else max((2 * r * p / max(r + p, 1e-9), t) for t, r, p in pts)[1]


def realised(flags: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    tp = float((flags & (y == 1)).sum())
    return tp / max(1.0, y.sum()), tp / max(1.0, float(flags.sum()))


def recall_at_precision(scores, y, precision):
    return max([r for _, r, p in curve(scores, y) if p >= precision], default=0.0)


def precision_at_recall(scores, y, recall):
    return max([p for _, r, p in curve(scores, y) if r >= recall], default=0.0)


def split(names: list[str], seed: int, held_out: float = 0.5) -> tuple[list[str], list[str]]:
    order = sorted(names)
    random.Random(seed).shuffle(order)
    n = round(len(order) * held_out)
    return sorted(order[n:]), sorted(order[:n])


def kfold(rows: list[dict], features: list[str], k: int, seed: int, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-sample scores and flags for every row (model and threshold from the other folds)."""
    clips = sorted({r["clip"] for r in rows})
    random.Random(seed).shuffle(clips)
    fold = {c: i % k for i, c in enumerate(clips)}
    scores, flags = np.zeros(len(rows)), np.zeros(len(rows), dtype=bool)
    for i in range(k):
        train = [r for r in rows if fold[r["clip"]] != i]
        idx = [j for j, r in enumerate(rows) if fold[r["clip"]] == i]
        model = Fit(features).fit(train).tune(train, rule)
        s = model.score([rows[j] for j in idx])
        scores[idx], flags[idx] = s, s >= model.threshold
    return scores, flags


# --- the full decision (model + rules + phrases), as the product takes it ---------------------------------------


def model_data(tune_rows: list[dict], rule: str, clips: list[str], held_out: list[str], info: str) -> dict:
    """The data file the package reads: the Arabic model with and without the lexicon, the generic rule, the rules."""
    final = Fit(FEATURE_SETS["final"]).fit(tune_rows).tune(tune_rows, rule)
    plain = Fit(FEATURE_SETS["model signals"]).fit(tune_rows)
    # Without the lexicon the targets are out of reach: keep the precision target, take the recall it gives.
    s, y = plain.score(tune_rows), np.array([r["y"] for r in tune_rows])
    plain.threshold = max([(r, t) for t, r, p in curve(s, y) if p >= PRECISION_TARGET], default=(0, 0.5))[1]
    generic = {"languages": ["*"], "lexicon": False, "features": ["log_probability"], "mean": [round(float(np.log(0.5)), 6)],
               "scale": [1.0], "coef": [-1.0], "intercept": 0.0, "threshold": 0.5, "clip": 40.0}
    return {
        "schema": rv.MODEL_SCHEMA,
        "about": "captioner review flags (captioner/captions/flags.py), written by bench/flags.py. p(wrong) = 1 / (1 + "
                 "exp(-(intercept + sum(coef_i * clip((x_i - mean_i) / scale_i, -clip, clip))))); a word is flagged "
                 "when p >= threshold or a rule fires. 'ar' needs wordfreq; 'ar-no-lexicon' is its fallback; "
                 "'generic' (any other language) flags probability < 0.5, as before, plus the rules.",
        "trained_on": info,
        "split": {"seed": None, "tuned_on": clips, "held_out": held_out},
        "threshold_rule": rule,
        "wordlist": "large",
        "features": {f: rv.FEATURES[f] for f in rv.FEATURES},
        "models": {"ar": final.to_data("ar", ["ar"], True),
                   "ar-no-lexicon": plain.to_data("ar-no-lexicon", ["ar"], False),
                   "generic": generic},
        "rules": RULES,
        "reason_of_feature": REASON_OF_FEATURE,
    }


def decisions(clips: list[dict], model: rv.ReviewModel) -> tuple[np.ndarray, np.ndarray, dict, list[int]]:
    """review flags and labels over the clips' scored words, the reasons' counts, dropped [right, wrong]."""
    flags, ys, reasons, dropped = [], [], {}, [0, 0]
    for clip in clips:
        t = clip["transcript"]
        labels = word_errors([w.text for w in t.words], clip["reference"])
        for d, label in zip(rv.decide(t, model), labels):
            if label is None:
                continue
            flags.append(d.review)
            ys.append(float(label))
            for r in d.why:
                reasons.setdefault(r, []).append(label)
            if d.drop:
                dropped[int(label)] += 1
    return np.array(flags), np.array(ys), reasons, dropped


def load_model_data(data: dict) -> rv.ReviewModel:
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"captioner-review-model-{os.getpid()}.json"
    path.write_text(json.dumps(data))
    try:
        return rv.ReviewModel.load(path)
    finally:
        path.unlink()


def print_decisions(title: str, clips: list[dict], model: rv.ReviewModel) -> tuple[float, float]:
    f, y, reasons, dropped = decisions(clips, model)
    r, p = realised(f, y)
    log(f"{title}: review recall {r:.2f} precision {p:.2f} ({int(f.sum())} of {len(f)} words flagged, "
        f"{y.mean():.0%} wrong); dropped as outside speech: {dropped[1]} wrong, {dropped[0]} right words")
    for reason, labels in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
        log(f"    {reason:16s} {len(labels):5d} words, {np.mean(labels):.0%} of them wrong")
    return r, p


# --- main ----------------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", type=Path, default=SPEECH_DIR / "manifest.tsv", help="the shared set's manifest.tsv")
    ap.add_argument("--external", type=Path, nargs="*", default=[], help="other manifests: measured, never fitted on")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("CAPTIONER_CACHE", Path.home() / ".cache" / "captioner")) / "bench-flags")
    ap.add_argument("--seed", type=int, default=12, help="the fixed split's shuffle")
    ap.add_argument("--held-out", type=float, default=0.5, help="share of the clips held out (default: half)")
    ap.add_argument("--splits", type=int, default=100, help="random tune/held-out splits for the spread")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=10, help="random fold assignments")
    ap.add_argument("--rule", choices=("middle", "slack"), default="middle", help="how the threshold is chosen")
    ap.add_argument("--write-model", type=Path, help="write the model tuned on the fixed split's tuning clips")
    args = ap.parse_args()

    log(f"captioner {__version__}; wordfreq {'available' if rv.lexicon_available('ar', 'large') else 'MISSING'}")
    clips = recognise(args.manifest, args.cache)
    rows = rows_of(clips)
    y = np.array([r["y"] for r in rows])
    names = [c["name"] for c in clips]
    log(f"{len(clips)} clips, {len(rows)} scored words, {int(y.sum())} wrong ({y.mean():.0%})\n")

    p = np.array([r["probability"] for r in rows])
    r_, p_ = realised(p < 0.5, y)
    log(f"today's rule, probability < 0.5, all clips: recall {r_:.2f} precision {p_:.2f}\n")

    tune, held = split(names, args.seed, args.held_out)
    rows_t = [r for r in rows if r["clip"] in set(tune)]
    rows_h = [r for r in rows if r["clip"] in set(held)]
    yh = np.array([r["y"] for r in rows_h])
    log(f"== fixed split (seed {args.seed}, threshold rule '{args.rule}'): tuned on {len(tune)} clips, "
        f"measured on the {len(held)} held out ({len(rows_h)} words) ==")
    log(f"{'signals':16s} {'thr':>5s} | held-out recall precision | recall@P.80 precision@R.70")
    held_scores = {}
    for name, feats in FEATURE_SETS.items():
        model = Fit(feats).fit(rows_t).tune(rows_t, args.rule)
        s = model.score(rows_h)
        held_scores[name] = s
        rr, pp = realised(s >= model.threshold, yh)
        log(f"{name:16s} {model.threshold:5.2f} | {rr:14.2f} {pp:9.2f} | {recall_at_precision(s, yh, .8):11.2f} "
            f"{precision_at_recall(s, yh, .7):.2f}")
    rr, pp = realised(np.array([r["probability"] for r in rows_h]) < 0.5, yh)
    log(f"{'p < 0.5':16s} {'':5s} | {rr:14.2f} {pp:9.2f}")

    log(f"\n== {args.splits} random splits ({args.held_out:.0%} of the clips held out): held-out recall / precision ==")
    for name in ("probability", "final"):
        rs, ps, both = [], [], 0
        for s_ in range(args.splits):
            tu, he = split(names, 1000 + s_, args.held_out)
            tr = [r for r in rows if r["clip"] in set(tu)]
            hr = [r for r in rows if r["clip"] in set(he)]
            m = Fit(FEATURE_SETS[name]).fit(tr).tune(tr, args.rule)
            rr, pp = realised(m.score(hr) >= m.threshold, np.array([r["y"] for r in hr]))
            rs.append(rr)
            ps.append(pp)
            both += rr >= RECALL_TARGET and pp >= PRECISION_TARGET
        log(f"{name:16s} recall {np.mean(rs):.2f} ± {np.std(rs):.2f}, precision {np.mean(ps):.2f} ± {np.std(ps):.2f}; "
            f"both targets met in {both / len(rs):.0%} of splits")

    log(f"\n== {args.folds}-fold by clip, {args.repeats} fold assignments: out-of-sample recall / precision ==")
    pooled = {}
    for name, feats in FEATURE_SETS.items():
        R, P = [], []
        for s_ in range(args.repeats):
            scores, flags = kfold(rows, feats, args.folds, s_, args.rule)
            rr, pp = realised(flags, y)
            R.append(rr)
            P.append(pp)
            pooled.setdefault(name, scores)
        log(f"{name:16s} recall {np.mean(R):.2f} precision {np.mean(P):.2f} (sd {np.std(R):.2f} / {np.std(P):.2f}); "
            f"pooled scores: recall@P.80 {recall_at_precision(pooled[name], y, .8):.2f}, "
            f"precision@R.70 {precision_at_recall(pooled[name], y, .7):.2f}")

    log("\n== precision-recall, out-of-sample 5-fold scores (first assignment) ==")
    log("| recall | precision, probability only | precision, combined score |")
    log("|---|---|---|")
    for target in (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9):
        log(f"| {target:.2f} | {precision_at_recall(1 - p, y, target):.2f} | "
            f"{precision_at_recall(pooled['final'], y, target):.2f} |")
    log("\n| precision | recall, probability only | recall, combined score |")
    log("|---|---|---|")
    for target in (0.7, 0.8, 0.85, 0.9, 0.95):
        log(f"| {target:.2f} | {recall_at_precision(1 - p, y, target):.2f} | "
            f"{recall_at_precision(pooled['final'], y, target):.2f} |")

    info = (f"{len(tune)} of the {len(clips)} shared MSA read-speech clips ({len(rows_t)} words, "
            f"{np.mean([r['y'] for r in rows_t]):.0%} wrong), captioner {__version__}: Whisper base (embedded), "
            "faster-whisper int8, beam 5, VAD, language ar")
    data = model_data(rows_t, args.rule, tune, held, info)
    data["split"]["seed"] = args.seed
    shipped = load_model_data(data)
    log(f"\n== the full decision (model + rules + {len(shipped.phrases)} phrases), tuned on the {len(tune)} clips ==")
    held_clips = [c for c in clips if c["name"] in set(held)]
    r_held, p_held = print_decisions(f"held-out {len(held)} clips", held_clips, shipped)
    # Without wordfreq the product falls back to the model without the lexicon.
    fallback = replace(shipped, models=tuple(m for m in shipped.models if not m.lexicon))
    f, yf, _, _ = decisions(held_clips, fallback)
    r_, p_ = realised(f, yf)
    log(f"    without wordfreq (the '{fallback.choose('ar')[0].name}' fallback): recall {r_:.2f} precision {p_:.2f}")
    for path in args.external:
        other = recognise(path, args.cache)
        print_decisions(f"external {path} ({len(other)} clips)", other, shipped)
        ext_rows = rows_of(other)
        ye = np.array([r["y"] for r in ext_rows])
        r_, p_ = realised(np.array([r["probability"] for r in ext_rows]) < 0.5, ye)
        log(f"    probability < 0.5 there: recall {r_:.2f} precision {p_:.2f}")
        for name in ("probability", "final"):
            m = Fit(FEATURE_SETS[name]).fit(rows_t).tune(rows_t, args.rule)
            r_, p_ = realised(m.score(ext_rows) >= m.threshold, ye)
            log(f"    '{name}' model tuned on the {len(tune)} clips, there: recall {r_:.2f} precision {p_:.2f}")
        f, yf, _, _ = decisions(other, fallback)
        r_, p_ = realised(f, yf)
        log(f"    without wordfreq there: recall {r_:.2f} precision {p_:.2f}")
    if args.write_model:
        args.write_model.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        log(f"\nwrote {args.write_model} (held-out review recall {r_held:.2f}, precision {p_held:.2f})")


if __name__ == "__main__":
    main()
