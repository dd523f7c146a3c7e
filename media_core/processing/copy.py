"""Remux-first: a standard input is published by stream copy before its ladder is encoded.

Most uploads are already what players play: H.264 with AAC. Such a file is cut into
fMP4 HLS segments at its own keyframes without re-encoding (about a second for a minute
of 1080p) and published as the asset's first rendition, `source`, with its sound as the
`audio` rendition: the asset is playable (`ready`) then. The encoded ladder follows into
the same folder and joins the master playlist; `source` stays its top variant.

Standard, precisely (anything else takes the encoded way alone):
- video H.264, profile Constrained Baseline, Baseline, Main or High; 8-bit 4:2:0
  (`yuv420p`/`yuvj420p`); square pixels; not rotated; its short side no larger than
  MAX_RESOLUTION (what the ladder would cap it to);
- keyframes at most MAX_KEYFRAME_SECONDS apart, each opening a closed GOP (no frame
  after a keyframe in decoding order is shown before it: with open GOPs a segment
  would start with pictures it cannot decode);
- decoding timestamps that only ever increase; a start far from zero is fine (the copy
  starts at zero, as the ladder does);
- an average video bitrate under the cap for its size (a copy is served as it came);
- sound AAC-LC, one or two channels, 32-48 kHz, or no sound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from media_core import ffmpeg

from .encode import AUDIO_NAME, MASTER_NAME, POSTER_NAME, SEGMENT_SECONDS, EncodePlan
from .ladder import Rung
from .probe import Inspection, rotation

COPY_NAME = "source"
MAX_KEYFRAME_SECONDS = 8.0
PROFILES = frozenset({"Constrained Baseline", "Baseline", "Main", "High"})
PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})
# Average video bitrate (bits/s) a copy may have, by its short side: above it, it would
# stall viewers on ordinary connections, so it is encoded like any other.
BITRATE_CAPS = ((720, 8_000_000), (1080, 16_000_000), (1440, 24_000_000), (2160, 45_000_000))
AUDIO_RATES = frozenset({32000, 44100, 48000})
SCAN_TIMEOUT = 120


@dataclass(frozen=True)
class Verdict:
    copy: bool
    reason: str  # why not, for the job's log; "" when it may be copied


def _no(reason: str) -> Verdict:
    return Verdict(False, reason)


def judge(inspection: Inspection, source: Path) -> Verdict:
    """Whether the input is standard (this module's docstring), from its headers first
    and then from its video packets' timestamps and sizes (read, not decoded)."""
    verdict = judge_headers(inspection)
    return judge_packets(inspection, source) if verdict.copy else verdict


def judge_headers(inspection: Inspection) -> Verdict:
    """What the headers alone tell: codec, profile, pixels, size, sound."""
    video, v = inspection.video, inspection.video_stream
    if video is None:
        return _no("no picture")
    if v.get("codec_name") != "h264":
        return _no(f"video codec {v.get('codec_name')}")
    if v.get("profile") not in PROFILES:
        return _no(f"H.264 profile {v.get('profile')}")
    if v.get("pix_fmt") not in PIXEL_FORMATS or str(v.get("bits_per_raw_sample", "8")) != "8":
        return _no(f"pixel format {v.get('pix_fmt')}")
    if v.get("sample_aspect_ratio", "1:1") not in ("1:1", "0:1", "N/A"):
        return _no(f"pixel aspect {v.get('sample_aspect_ratio')}")
    if rotation(v):
        return _no(f"rotated {rotation(v)} degrees")
    if min(video.width, video.height) > settings.MAX_RESOLUTION:
        return _no(f"larger than {settings.MAX_RESOLUTION}p")
    if inspection.audio is not None:
        a = inspection.audio_stream
        if a.get("codec_name") != "aac" or a.get("profile") != "LC":
            return _no(f"sound {a.get('codec_name')} {a.get('profile') or ''}".strip())
        if not 1 <= inspection.audio.channels <= 2 or inspection.audio.sample_rate not in AUDIO_RATES:
            return _no(f"sound of {inspection.audio.channels} channels at "
                       f"{inspection.audio.sample_rate} Hz")
    return Verdict(True, "")


def judge_packets(inspection: Inspection, source: Path) -> Verdict:
    """What only the video packets tell (about a second for 5 minutes of 1080p): GOPs,
    timestamps, bitrate. For an input whose headers passed."""
    video = inspection.video
    return _judge_packets(_packets(source), inspection.video_duration or inspection.duration,
                          min(video.width, video.height))


def _packets(source: Path) -> list[tuple[float | None, float | None, bool, int]]:
    """(pts, dts, keyframe, size) of every video packet, in decoding order."""
    result = ffmpeg.run([
        settings.FFPROBE_BIN, "-v", "error", "-protocol_whitelist", ffmpeg.PROTOCOL_WHITELIST,
        "-format_whitelist", ffmpeg.FORMAT_WHITELIST, "-select_streams", "v:0",
        "-show_entries", "packet=pts_time,dts_time,flags,size", "-of", "csv=p=0", str(source),
    ], timeout=SCAN_TIMEOUT, keep_stdout=True)
    packets = []
    for line in (result.stdout or "").splitlines():
        parts = line.split(",")
        if len(parts) < 4:
            continue
        pts, dts, size, flags = parts[0], parts[1], parts[2], parts[3]
        packets.append((_time(pts), _time(dts), "K" in flags, int(size) if size.isdigit() else 0))
    return packets


def _time(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _judge_packets(packets, duration: float, short_side: int) -> Verdict:
    if not packets or not packets[0][2]:
        return _no("does not start with a keyframe")
    last_dts, gop_pts, last_key = None, None, None
    for pts, dts, key, _ in packets:
        if pts is None or dts is None:
            return _no("packets without timestamps")
        if last_dts is not None and dts <= last_dts:
            return _no("decoding timestamps that do not increase")
        last_dts = dts
        if key:
            if last_key is not None and pts - last_key > MAX_KEYFRAME_SECONDS + 0.01:
                return _no(f"keyframes {pts - last_key:.1f} s apart")
            last_key = gop_pts = pts
        elif pts < gop_pts:
            return _no("open GOPs (pictures shown before their keyframe)")
    if last_key is not None and packets[-1][0] - last_key > MAX_KEYFRAME_SECONDS + 0.01:
        return _no(f"keyframes {packets[-1][0] - last_key:.1f} s apart")
    bitrate = sum(size for *_, size in packets) * 8 / max(duration, 0.1)
    cap = next((cap for side, cap in BITRATE_CAPS if short_side <= side), BITRATE_CAPS[-1][1])
    if bitrate > cap:
        return _no(f"{bitrate / 1e6:.1f} Mbit/s, over the {cap / 1e6:.0f} Mbit/s of a copy")
    return Verdict(True, "")


def plan(inspection: Inspection) -> EncodePlan:
    """What the copy makes, as an EncodePlan: one video rung (the source's size) and its
    sound, so that it is checked and measured as the ladder is (outputs.py)."""
    video = inspection.video
    rung = Rung(name=COPY_NAME, width=video.width, height=video.height, max_bitrate=0)
    return EncodePlan(rungs=[rung], has_audio=inspection.audio is not None,
                      frame_rate=video.frame_rate, limit_frame_rate=False,
                      poster_time=round(min((inspection.video_duration or 0) / 2, 5.0), 3))


def remux_args(copy_plan: EncodePlan, source: Path, out_dir: Path) -> list[str]:
    """One run: the video copied into `source`, the sound into `audio`, cut at the
    source's keyframes (the first after every SEGMENT_SECONDS)."""
    stream_map = [f"v:0,agroup:{AUDIO_NAME},name:{COPY_NAME}" if copy_plan.has_audio
                  else f"v:0,name:{COPY_NAME}"]
    maps = ["-map", "0:v:0"]
    if copy_plan.has_audio:
        # AAC from MPEG-TS or FLV comes in ADTS frames, which MP4 does not hold.
        maps += ["-map", "0:a:0", "-bsf:a", "aac_adtstoasc"]
        stream_map.append(f"a:0,agroup:{AUDIO_NAME},name:{AUDIO_NAME}")
    for name in (COPY_NAME, *([AUDIO_NAME] if copy_plan.has_audio else [])):
        (out_dir / name).mkdir(parents=True, exist_ok=True)
    # Its progress on stdout: the copy can be stopped (early.Cut.abandon).
    return [settings.FFMPEG_BIN, "-nostdin", "-hide_banner", "-loglevel", "error",
            "-progress", "pipe:1", "-nostats", "-protocol_whitelist", ffmpeg.PROTOCOL_WHITELIST,
            "-format_whitelist", ffmpeg.FORMAT_WHITELIST, "-i", str(source), *maps,
            "-c", "copy", "-f", "hls", "-hls_time", str(SEGMENT_SECONDS),
            "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
            "-hls_flags", "independent_segments", "-hls_fmp4_init_filename", "init.mp4",
            "-hls_segment_filename", str(out_dir / "%v" / "seg_%05d.m4s"),
            "-master_pl_name", MASTER_NAME, "-var_stream_map", " ".join(stream_map),
            str(out_dir / "%v" / "index.m3u8"), "-y"]


def poster_args(copy_plan: EncodePlan, source: Path, out_dir: Path) -> list[str]:
    """The poster: the last keyframe up to the poster time. Keyframes alone are decoded
    (the ladder encodes beside it and wants the CPU; a seek would land on one too, but
    drops it when it lies before the time), each written over the last."""
    return [settings.FFMPEG_BIN, "-nostdin", "-hide_banner", "-loglevel", "error",
            "-protocol_whitelist", ffmpeg.PROTOCOL_WHITELIST,
            "-format_whitelist", ffmpeg.FORMAT_WHITELIST, "-skip_frame", "nokey",
            "-i", str(source), "-map", "0:v:0", "-t", f"{copy_plan.poster_time + 0.001:.3f}",
            "-fps_mode", "passthrough", "-update", "1", "-q:v", "3",
            str(out_dir / POSTER_NAME), "-y"]
