"""The single FFmpeg command that makes every rendition and the poster.

The source is decoded once; `split` feeds one scaler per rung and a poster branch.
Keyframes are forced at the same timestamps in every rung (and scene-cut keyframes
are off), so segments start with a keyframe and line up across rungs; audio is
encoded once into its own HLS rendition that every video rung refers to.

A file of sound alone makes the audio rendition only, and its poster is a picture of
its waveform, drawn from the same decoded sound (`asplit`) in the same run.
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

# The waveform poster of a file of sound alone: a light blue wave across a dark slate
# picture of the embed player's 16:9, with a margin above and below.
WAVEFORM_SIZE = (1280, 720)
WAVEFORM_HEIGHT = 540
WAVEFORM_COLOUR = "0x7dd3fc"
WAVEFORM_BACKGROUND = (0x0F, 0x17, 0x2A)
# showwavespic keeps every sample it is given until the end, to lay the whole length
# across the picture: the sound is drawn from a mono copy at a rate that keeps that to
# this many samples (32 MB), between the bounds below. At the lowest rate what lies
# above 500 Hz no longer shows; most of the loudness of speech and music lies below.
WAVEFORM_SAMPLES = 16_000_000
WAVEFORM_RATES = (1000, 8000)


@dataclass(frozen=True)
class EncodePlan:
    rungs: list[Rung]  # none for sound alone
    has_audio: bool
    frame_rate: float
    limit_frame_rate: bool
    poster_time: float
    waveform_rate: int = 0  # sound alone: the sample rate the waveform is drawn from

    @property
    def audio_only(self) -> bool:
        return not self.rungs


def make_plan(inspection: Inspection, rungs: list[Rung]) -> EncodePlan:
    if inspection.video is None:
        low, high = WAVEFORM_RATES
        return EncodePlan(rungs=[], has_audio=True, frame_rate=0.0, limit_frame_rate=False,
                          poster_time=0.0, waveform_rate=int(min(high, max(
                              low, WAVEFORM_SAMPLES / max(inspection.duration, 1.0)))))
    return EncodePlan(
        rungs=rungs,
        has_audio=inspection.audio is not None and inspection.audio.channels > 0,
        frame_rate=output_frame_rate(inspection.video.frame_rate),
        limit_frame_rate=output_frame_rate(inspection.video.frame_rate) < inspection.video.frame_rate,
        # The middle of the picture (sound may run on), but not past 5 s: early frames
        # stand for the video best.
        poster_time=round(min(inspection.video_duration / 2, 5.0), 3),
    )


def build_args(plan: EncodePlan, source: Path, out_dir: Path, trim=None, *,
               poster_path: Path | None = None) -> list[str]:
    """`trim` (a clip): keep `trim.length` seconds from `trim.offset`, cut to the frame.
    `poster_path`: where the poster goes, when not into out_dir (a stream copy is making
    its own there at the same time)."""
    cut = {"ss": f"{trim.offset:.6f}", "t": f"{trim.length:.6f}"} if trim is not None else {}
    src = ffmpeg_lib.input(str(source), protocol_whitelist=ffmpeg.PROTOCOL_WHITELIST,
                           format_whitelist=ffmpeg.FORMAT_WHITELIST, **cut)
    if plan.audio_only:
        branches = src["a:0"].filter_multi_output("asplit", 2)
        streams, options, stream_map = [], {}, []
        audio, poster = branches[0], _waveform(branches[1], plan.waveform_rate)
    else:
        streams, options, stream_map, poster = _video(plan, src)
        audio = src["a:0"]
    if plan.has_audio:
        streams.append(audio)
        options.update({"c:a": "aac", "b:a": AUDIO_BITRATE, "ac": 2, "ar": 48000})
        stream_map.append(f"a:0,name:{AUDIO_NAME}" if plan.audio_only
                          else f"a:0,agroup:{AUDIO_NAME},name:{AUDIO_NAME}")
    options.update({
        "f": "hls",
        "hls_time": SEGMENT_SECONDS,
        # Written after every segment, through a temporary file: it can play while it
        # grows (processing/early.py); made a VOD playlist when it is done.
        "hls_playlist_type": "event",
        "hls_segment_type": "fmp4",
        "hls_flags": "independent_segments+temp_file",
        "hls_fmp4_init_filename": "init.mp4",
        "hls_segment_filename": str(out_dir / "%v" / "seg_%05d.m4s"),
        "master_pl_name": MASTER_NAME,
        "var_stream_map": " ".join(stream_map),
        "max_muxing_queue_size": 4096,
    })
    hls = ffmpeg_lib.output(*streams, str(out_dir / "%v" / "index.m3u8"), **options)
    still = ffmpeg_lib.output(poster, str(poster_path or out_dir / POSTER_NAME), vframes=1,
                              update=1, **{"q:v": 3})
    command = ffmpeg_lib.merge_outputs(hls, still).global_args(
        "-nostdin", "-hide_banner", "-loglevel", "error", "-progress", "pipe:1", "-nostats")
    return [settings.FFMPEG_BIN, *command.get_args(), "-y"]


def _video(plan: EncodePlan, src):
    """The rungs' streams, their encoder options and stream map, and the poster branch."""
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
    return scaled, options, stream_map, poster


def _waveform(sound, rate: int):
    """One picture of the whole sound, written when the sound ends.

    Drawn in full (no blending) so that every pixel is the wave's colour or empty; the
    empty ones are then given the background's, and the margins added in it."""
    width, height = WAVEFORM_SIZE
    r, g, b = WAVEFORM_BACKGROUND
    return (sound.filter("aresample", rate)
            .filter("aformat", sample_fmts="s16", channel_layouts="mono")
            # Few large frames, not many small ones: each kept frame costs its own header.
            .filter("asetnsamples", n=8192, p=0)
            .filter("showwavespic", s=f"{width}x{WAVEFORM_HEIGHT}", colors=WAVEFORM_COLOUR,
                    draw="full", filter="peak", scale="sqrt")
            .filter("lutrgb", r=f"if(val,val,{r})", g=f"if(val,val,{g})", b=f"if(val,val,{b})")
            .filter("pad", width, height, -1, -1, color=f"0x{r:02x}{g:02x}{b:02x}"))
