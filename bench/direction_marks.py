"""Which directional marks SRT/VTT lines need: each marking, drawn by three kinds of player, read back by OCR.

    python bench/direction_marks.py            # about 2 minutes on 2 cores
    python bench/direction_marks.py --save DIR # also keep every frame

Players (``tests/players.py``): libass with a left-to-right base direction
(ffmpeg's ``subtitles`` filter converts SRT with ``Encoding=0``), libass with
the base direction of each line's first strong character (``Encoding=-1``, as
mpv does), and Chromium's own WebVTT rendering.  A line counts as shown right
when tesseract reads it back in logical order (CER <= 0.15, final ``!``/``.``
at the logical end) and a leading speaker dash is drawn at the right.  The table gives,
per marking, the lines each player shows right; the marking captioner writes
is the one with the fewest marks that every player shows right.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import players  # noqa: E402

from captioner.text.bidi import LRM, PDF, RLE, RLM, sidecar_line  # noqa: E402

RLI, PDI = "\u2067", "\u2069"

LINES = [
    "هل انضممت إلى التحدي؟ شارك الآن!",
    "شارك في التحدي مع TikTok اليوم!",
    "TikTok يجمعنا اليوم!",
    "- هل ستأتي إلى الحفلة الكبيرة غدا؟",
    "لدينا 30 متطوعًا في المدينة.",
    "انضم إلى TikTok و Instagram الآن.",
    "هل انضممت إلى التحدي؟",
]


# The Latin/digit runs captioner used to fence with LRMs (before issue 11).
_LTR_RUN = re.compile(r"[A-Za-z0-9\u00C0-\u024F][A-Za-z0-9\u00C0-\u024F.,:%/@#&+'_-]*"
                      r"(?: [A-Za-z0-9\u00C0-\u024F][A-Za-z0-9\u00C0-\u024F.,:%/@#&+'_-]*)*")


def fenced(line: str) -> str:
    return _LTR_RUN.sub(lambda m: LRM + m.group(0) + LRM, line)


MARKINGS = {
    "none": lambda s: s,
    "RLM at start": lambda s: RLM + s,
    "RLM at both ends": lambda s: RLM + s + RLM,
    "RLE … PDF": lambda s: RLE + s + PDF,
    "RLI … PDI": lambda s: RLI + s + PDI,
    "RLE RLM … RLM PDF": lambda s: RLE + RLM + s + RLM + PDF,
    "before (RLE RLM, LRM fences, RLM PDF)": lambda s: RLE + RLM + fenced(s) + RLM + PDF,
    "captioner (sidecar_line: RLE … PDF where needed)": sidecar_line,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", type=Path, help="keep the frames in this folder")
    parser.add_argument("--players", default=",".join(players.PLAYERS))
    parser.add_argument("--only", help="only the markings whose name starts with this")
    args = parser.parse_args()
    chosen = args.players.split(",")
    print(f"{len(LINES)} lines; a cell is the number of lines shown right by that player\n")
    print("| marking | marks a line | " + " | ".join(chosen) + " |")
    print("|---|---|" + "---|" * len(chosen))
    failures = []
    for name, mark in MARKINGS.items():
        if args.only and not name.startswith(args.only):
            continue
        marked = [mark(line) for line in LINES]
        extra = sum(len(m) - len(line) for m, line in zip(marked, LINES)) / len(LINES)
        cells = []
        for player in chosen:
            frames = players.render(player, marked)
            right = 0
            for k, (frame, line) in enumerate(zip(frames, LINES)):
                ok, reading = players.shows_correctly(frame, line)
                right += ok
                if not ok:
                    failures.append(f"{name} / {player}: {reading}")
                if args.save:
                    args.save.mkdir(parents=True, exist_ok=True)
                    frame.save(args.save / f"{name.split()[0]}-{player}-{k}.png")
            cells.append(f"{right}/{len(LINES)}")
        print(f"| {name} | {extra:.1f} | " + " | ".join(cells) + " |", flush=True)
    print("\nLines not shown right:")
    for line in failures:
        print(" ", line)


if __name__ == "__main__":
    main()
