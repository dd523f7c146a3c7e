"""The ladder command on real FFmpeg output: keyframes, alignment, one audio encode."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from media_core import ffmpeg
from media_core.processing import encode, ladder, outputs, probe
from tests.clips import make_clip


def _encode(tmp_path: Path, source: Path) -> tuple[encode.EncodePlan, Path]:
    inspection = probe.inspect(source)
    rungs = ladder.plan(inspection.video.width, inspection.video.height, max_resolution=1080)
    plan = encode.make_plan(inspection, rungs)
    out = tmp_path / "out"
    for name in [r.name for r in rungs] + ([encode.AUDIO_NAME] if plan.has_audio else []):
        (out / name).mkdir(parents=True)
    ffmpeg.run(encode.build_args(plan, source, out), timeout=120)
    return plan, out


def _segments(playlist: Path) -> list[tuple[float, str]]:
    entries, duration = [], None
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            entries.append((duration, line))
    return entries


def _first_frame_is_key(init: Path, segment: Path, tmp_path: Path) -> bool:
    joined = tmp_path / "joined.mp4"
    joined.write_bytes(init.read_bytes() + segment.read_bytes())
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_frames",
         "-read_intervals", "%+#1", "-show_entries", "frame=key_frame", "-of", "json", str(joined)],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["frames"][0]["key_frame"] == 1


def test_segments_start_on_keyframes_aligned_across_rungs(tmp_path):
    source = make_clip(tmp_path / "src.mp4", seconds=11, size="640x360")
    plan, out = _encode(tmp_path, source)

    assert [r.name for r in plan.rungs] == ["360p", "240p"]
    timelines = {r.name: _segments(out / r.name / "index.m3u8") for r in plan.rungs}
    durations = {name: [d for d, _ in segs] for name, segs in timelines.items()}
    assert durations["360p"] == durations["240p"]
    assert durations["360p"][:2] == [4.0, 4.0]
    for rung in plan.rungs:
        init = next((out / rung.name).glob("init*.mp4"))
        for _, name in timelines[rung.name]:
            assert _first_frame_is_key(init, out / rung.name / name, tmp_path), (rung.name, name)


def test_audio_is_encoded_once_into_its_own_rendition(tmp_path):
    source = make_clip(tmp_path / "src.mp4", seconds=3, size="640x360")
    args = encode.build_args(
        encode.make_plan(probe.inspect(source), ladder.plan(640, 360, max_resolution=1080)),
        source, tmp_path)
    assert args.count("-c:a") == 1 and args.count("0:a:0") + args.count("[0:a]") <= 1
    plan, out = _encode(tmp_path, source)
    rows = outputs.rendition_rows(plan, out)
    assert [r["name"] for r in rows if r["kind"] == "audio"] == ["audio"]
    for rung in plan.rungs:
        streams = json.loads(subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-of", "json",
             str(next((out / rung.name).glob("init*.mp4")))],
            check=True, capture_output=True, text=True).stdout)["streams"]
        assert [s["codec_type"] for s in streams] == ["video"]


def test_every_ffmpeg_and_ffprobe_call_carries_the_whitelists(tmp_path):
    source = make_clip(tmp_path / "src.mp4", seconds=1, size="160x90")
    plan = encode.make_plan(probe.inspect(source), ladder.plan(160, 90, max_resolution=1080))
    for args in (encode.build_args(plan, source, tmp_path), probe.probe_args(source)):
        joined = " ".join(args)
        assert f"-protocol_whitelist {ffmpeg.PROTOCOL_WHITELIST}" in joined
        assert f"-format_whitelist {ffmpeg.FORMAT_WHITELIST}" in joined
        assert args.index("-protocol_whitelist") < args.index(str(source))


@pytest.mark.parametrize(("size", "expected"), [
    ((1920, 1080), [("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]),
    ((160, 90), [("90p", 160, 90)]),
    ((1080, 1920), [("1080p", 1080, 1920), ("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)]),
    ((3840, 2160), [("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]),
    ((1000, 562), [("562p", 1000, 562), ("480p", 854, 480), ("360p", 640, 360), ("240p", 428, 240)]),
])
def test_the_ladder_never_upscales(size, expected):
    rungs = ladder.plan(*size, max_resolution=1080)
    assert [(r.name, r.width, r.height) for r in rungs] == expected
    for rung in rungs:
        assert rung.width <= size[0] and rung.height <= size[1]


def test_the_runner_enforces_its_time_limit():
    with pytest.raises(ffmpeg.FFmpegError) as caught:
        ffmpeg.run(["sleep", "5"], timeout=0.3)
    assert caught.value.timed_out


def test_the_runner_stops_a_run_its_progress_callback_no_longer_wants():
    seen = []

    def on_progress(block):
        seen.append(block["out_time_us"])
        return False

    endless = "i=0; while :; do i=$((i+1)); printf 'out_time_us=%s\\nprogress=continue\\n' $i; sleep 0.05; done"
    with pytest.raises(ffmpeg.FFmpegError) as caught:
        ffmpeg.run(["sh", "-c", endless], timeout=10, on_progress=on_progress)
    assert caught.value.aborted and not caught.value.timed_out
    assert seen[0] == "1"


def test_a_failed_run_carries_the_tail_of_its_stderr_and_a_kept_stdout_is_returned():
    with pytest.raises(ffmpeg.FFmpegError) as caught:
        ffmpeg.run(["sh", "-c", "echo one >&2; echo two >&2; exit 2"], timeout=5, stderr_lines=1)
    assert caught.value.returncode == 2 and caught.value.stderr_tail == "two"

    result = ffmpeg.run(["sh", "-c", "echo '{\"a\": 1}'"], timeout=5, keep_stdout=True)
    assert json.loads(result.stdout) == {"a": 1} and result.returncode == 0
