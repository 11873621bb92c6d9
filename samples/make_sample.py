"""Make ``samples/createforgood-ar.mp4``: a 1080x1920 clip with a short Arabic campaign message.

No natural Arabic speech can be shipped with the project, so the voice is
espeak-ng's Arabic synthesiser (``apt-get install espeak-ng``).  It is robotic,
and Whisper base mishears part of it: that is what ``captioner transcribe`` and
its confidence report are for; ``createforgood-ar.reviewed.srt`` is the
transcript after a creator's review.  The background is ffmpeg's animated
``gradients`` source.  Run from the repository root:

    python samples/make_sample.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from captioner.burn import ffmpeg_exe

HERE = Path(__file__).resolve().parent
MESSAGE = (
    "مَرْحَبًا بِكُمْ فِي حَمْلَةِ اِصْنَعِ الْخَيْرِ. "
    "نُرِيدُ أَنْ يَصِلَ صَوْتُنَا إِلَى الْجَمِيعِ، وَمِنْهُمُ الصُّمُّ وَضِعَافُ السَّمْعِ. "
    "هَلِ انْضَمَمْتَ إِلَى التَّحَدِّي؟ شَارِكِ الْآنَ!"
)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        speech = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "ar", "-s", "110", "-g", "6", "-w", str(speech), MESSAGE], check=True)
        subprocess.run(
            [
                ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", "gradients=s=1080x1920:r=30:c0=0x1b3a5c:c1=0x7a2e5c:c2=0x2e7a6b:speed=0.02",
                "-i", str(speech),
                "-af", "adelay=500:all=1,apad=pad_dur=1",
                "-shortest", "-c:v", "libx264", "-preset", "slow", "-crf", "30", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart",
                str(HERE / "createforgood-ar.mp4"),
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
