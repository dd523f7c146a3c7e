"""The single FFmpeg command that makes every rendition and the poster.

The source is decoded once; `split` feeds one scaler per rung and a poster branch.
Keyframes are forced at the same timestamps in every rung (and scene-cut keyframes
are off), so segments start with a keyframe and line up across rungs; audio is
encoded once into its own HLS rendition that every video rung refers to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import ffmpeg as ffmpeg_lib
from django.conf import settings

from media_core import ffmpeg

from .ladder import Rung, output_frame_rate
from .probe import Inspection

SEGMENT_SECONDS = 4
KEYFRAME_SECONDS = 2
AUDIO_BITRATE = 128_000
AUDIO_NAME = "audio"
POSTER_NAME = "poster.jpg"
MASTER_NAME = "master.m3u8"


@dataclass(frozen=True)
class EncodePlan:
    rungs: list[Rung]
    has_audio: bool
    frame_rate: float
    limit_frame_rate: bool
    poster_time: float


def make_plan(inspection: Inspection, rungs: list[Rung]) -> EncodePlan:
    return EncodePlan(
        rungs=rungs,
        has_audio=inspection.audio is not None and inspection.audio.channels > 0,
        frame_rate=output_frame_rate(inspection.video.frame_rate),
        limit_frame_rate=output_frame_rate(inspection.video.frame_rate) < inspection.video.frame_rate,
        # The middle of the picture (sound may run on), but not past 5 s: early frames
        # stand for the video best.
        poster_time=round(min(inspection.video_duration / 2, 5.0), 3),
    )


def build_args(plan: EncodePlan, source: Path, out_dir: Path) -> list[str]:
    src = ffmpeg_lib.input(str(source), protocol_whitelist=ffmpeg.PROTOCOL_WHITELIST,
                           format_whitelist=ffmpeg.FORMAT_WHITELIST)
    video = src["v:0"]
    if plan.limit_frame_rate:
        video = video.filter("fps", fps=plan.frame_rate)
    branches = video.filter_multi_output("split", len(plan.rungs) + 1)
    scaled = [
        branches[i].filter("scale", rung.width, rung.height).filter("setsar", "1")
        for i, rung in enumerate(plan.rungs)
    ]
    poster_rung = plan.rungs[0]
    poster = (branches[len(plan.rungs)]
              .filter("select", f"gte(t,{plan.poster_time})")
              .filter("scale", poster_rung.width, poster_rung.height))

    gop = max(1, math.ceil(plan.frame_rate * KEYFRAME_SECONDS))
    options: dict[str, object] = {
        "c:v": "libx264",
        "preset": settings.X264_PRESET,
        "profile:v": "high",
        "pix_fmt": "yuv420p",
        "crf": 21,
        "g": gop,
        "keyint_min": gop,
        "sc_threshold": 0,
        "force_key_frames": f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})",
    }
    stream_map = []
    for i, rung in enumerate(plan.rungs):
        options[f"maxrate:v:{i}"] = rung.max_bitrate
        options[f"bufsize:v:{i}"] = rung.max_bitrate * 2
        stream_map.append(f"v:{i},agroup:{AUDIO_NAME},name:{rung.name}" if plan.has_audio
                          else f"v:{i},name:{rung.name}")
    streams = list(scaled)
    if plan.has_audio:
        streams.append(src["a:0"])
        options.update({"c:a": "aac", "b:a": AUDIO_BITRATE, "ac": 2, "ar": 48000})
        stream_map.append(f"a:0,agroup:{AUDIO_NAME},name:{AUDIO_NAME}")
    options.update({
        "f": "hls",
        "hls_time": SEGMENT_SECONDS,
        "hls_playlist_type": "vod",
        "hls_segment_type": "fmp4",
        "hls_flags": "independent_segments",
        "hls_fmp4_init_filename": "init.mp4",
        "hls_segment_filename": str(out_dir / "%v" / "seg_%05d.m4s"),
        "master_pl_name": MASTER_NAME,
        "var_stream_map": " ".join(stream_map),
        "max_muxing_queue_size": 4096,
    })
    hls = ffmpeg_lib.output(*streams, str(out_dir / "%v" / "index.m3u8"), **options)
    still = ffmpeg_lib.output(poster, str(out_dir / POSTER_NAME), vframes=1, update=1, **{"q:v": 3})
    command = ffmpeg_lib.merge_outputs(hls, still).global_args(
        "-nostdin", "-hide_banner", "-loglevel", "error", "-progress", "pipe:1", "-nostats")
    return [settings.FFMPEG_BIN, *command.get_args(), "-y"]
