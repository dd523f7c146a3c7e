#!/usr/bin/env python
"""Downloads benchmark: making highest.mp4 and audio.m4a (a remux of the stored ladder)
against encoding that ladder, on the same source in the same run.

The encode is the platform's own single FFmpeg command (media_core/processing/encode.py,
as the pipeline runs it: every rung, the audio and the poster); the downloads are made
by media_core/processing/static.py from the files that encode wrote, read through the
platform's media storage (local files). Each round encodes once and makes both
downloads; the medians of --rounds rounds are reported with their ratio. Goal (issue):
both downloads made in under 10 % of the encode's time.

    .venv/bin/python bench/downloads.py [--seconds 10] [--size 1920x1080] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-downloads-"))
    os.environ.update(MEDIA_ROOT=str(work / "media"), VAR_DIR=str(work / "var"),
                      DJANGO_SETTINGS_MODULE="config.settings")
    import django

    django.setup()
    from django.conf import settings

    from media_core import ffmpeg
    from media_core.processing import encode, ladder, probe, static

    source = work / "source.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size={args.size}:rate=30:duration={args.seconds}", "-f", "lavfi",
                    "-i", f"sine=frequency=440:sample_rate=48000:duration={args.seconds}",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-shortest", str(source)], check=True)
    settings.PROCESSING_TMP_DIR.mkdir(parents=True, exist_ok=True)
    inspection = probe.inspect(source)
    rungs = ladder.plan(inspection.video.width, inspection.video.height,
                        max_resolution=settings.MAX_RESOLUTION)
    plan = encode.make_plan(inspection, rungs)
    encodes, highest, audio = [], [], []
    for n in range(args.rounds):
        prefix = f"bench/round{n}"
        out_dir = Path(settings.MEDIA_ROOT) / prefix
        out_dir.mkdir(parents=True)
        for rung in plan.rungs:
            (out_dir / rung.name).mkdir()
        (out_dir / encode.AUDIO_NAME).mkdir()
        started = time.perf_counter()
        ffmpeg.run(encode.build_args(plan, source, out_dir), timeout=3600)
        encodes.append(time.perf_counter() - started)
        for name, into in ((static.HIGHEST, highest), (static.AUDIO, audio)):
            target = work / f"{n}-{name}"
            started = time.perf_counter()
            static.make(prefix=prefix, name=name, video=plan.rungs[0].name,
                        audio=encode.AUDIO_NAME, target=target)
            into.append(time.perf_counter() - started)
        print(f"round {n + 1}: encode {encodes[-1]:.2f} s, highest.mp4 {highest[-1]:.3f} s, "
              f"audio.m4a {audio[-1]:.3f} s", flush=True)
    enc, hi, au = (statistics.median(x) for x in (encodes, highest, audio))
    top = plan.rungs[0]
    print(f"\nsource {args.size} {args.seconds:g} s; ladder {', '.join(r.name for r in plan.rungs)}; "
          f"highest.mp4 = {top.name}")
    print(f"median encode {enc:.2f} s | highest.mp4 {hi:.3f} s ({hi / enc:.1%} of the encode) | "
          f"audio.m4a {au:.3f} s ({au / enc:.1%}) | both {(hi + au) / enc:.1%}")
    print("goal: both under 10 % of the encode:", "met" if (hi + au) / enc < 0.10 else "NOT met")


if __name__ == "__main__":
    main()
