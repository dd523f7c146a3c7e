"""Which renditions to make: never taller (or wider) than the source."""

from __future__ import annotations

from dataclasses import dataclass

# Short side of the picture -> video bitrate cap (bits/s), the usual HLS ladder.
STANDARD = ((1080, 5_000_000), (720, 2_800_000), (480, 1_400_000), (360, 800_000), (240, 400_000))
MAX_RUNGS = 4
MIN_BITRATE = 100_000
MAX_FRAME_RATE = 60.0


@dataclass(frozen=True)
class Rung:
    name: str
    width: int
    height: int
    max_bitrate: int


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def _bitrate_for(short_side: int) -> int:
    for size, rate in reversed(STANDARD):
        if short_side <= size:
            return max(MIN_BITRATE, int(rate * (short_side / size) ** 2))
    return STANDARD[0][1]


def plan(width: int, height: int, *, max_resolution: int) -> list[Rung]:
    """Rungs from the top (the source's short side, capped) down the standard sizes."""
    short = min(width, height)
    top = min(_even(short) if short >= 2 else 2, max_resolution)
    if top > short:
        top = max(2, short - short % 2)
    sizes = [top] + [s for s, _ in STANDARD if s < top * 0.9]
    rungs = []
    for size in sizes[:MAX_RUNGS]:
        if width >= height:
            w, h = _even(width * size / height), size
        else:
            w, h = size, _even(height * size / width)
        w, h = min(w, width - width % 2 or 2), min(h, height - height % 2 or 2)
        rungs.append(Rung(name=f"{size}p", width=w, height=h, max_bitrate=_bitrate_for(size)))
    return rungs


def output_frame_rate(source: float) -> float:
    return min(source, MAX_FRAME_RATE)


def resolution_label(rungs: list[Rung]) -> str:
    """The top rung's name ("1080p"); "" without rungs (sound alone)."""
    if not rungs:
        return ""
    top = max(min(r.width, r.height) for r in rungs)
    return f"{top}p"
