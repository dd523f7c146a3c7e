"""Generated media for tests: real files made by FFmpeg, small and quick."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path


def make_clip(path: Path, *, seconds: float = 2.0, size: str = "160x90", rate: int = 30,
              audio: bool = True, extra: list[str] | None = None) -> Path:
    args = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
            f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    args += (extra or []) + [str(path)]
    subprocess.run(args, check=True, timeout=120)
    return path


def make_audio(path: Path, *, seconds: float = 2.0, codec: str = "aac",
               cover: bool = False) -> Path:
    """Sound alone (a 440 Hz tone that swells and fades), encoded with `codec` into the
    container `path`'s suffix names; `cover`: with a cover picture (an attached picture,
    as music files carry their album art)."""
    args = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
            f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    if cover:
        args += ["-f", "lavfi", "-i", "color=c=orange:size=64x64:duration=1",
                 "-map", "0:a", "-map", "1:v", "-frames:v", "1", "-c:v", "mjpeg",
                 "-disposition:v", "attached_pic"]
    args += ["-af", "volume='0.2+0.8*abs(sin(t*2))':eval=frame", "-c:a", codec, str(path)]
    subprocess.run(args, check=True, timeout=120)
    return path


def random_bytes(path: Path, size: int = 200_000, seed: int = 7) -> Path:
    """Noise, the same every run: FFmpeg sniffs content, and one draw in many happens to
    look like some container or another."""
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def probe(target: str) -> dict:
    import json

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", target],
        capture_output=True, timeout=60, text=True,
    )
    assert out.returncode == 0, f"ffprobe could not read {target}:\n{out.stderr[-3000:]}"
    return json.loads(out.stdout)
