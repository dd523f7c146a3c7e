"""Reading back what FFmpeg wrote: what was decoded, codecs, measured bitrates, the files
to publish."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .encode import AUDIO_NAME, MASTER_NAME, POSTER_NAME, EncodePlan
from .errors import MediaError
from .probe import Inspection

_STREAM_INF = re.compile(r"#EXT-X-STREAM-INF:(?P<attrs>.*)\n(?P<uri>[^\n#]+)")
_CODECS = re.compile(r'CODECS="([^"]+)"')


@dataclass
class MediaPlaylistStats:
    duration: float
    average_bitrate: int
    peak_bitrate: int


def listed_seconds(text: str) -> float:
    """The seconds of media a media playlist lists."""
    return sum(float(line[len("#EXTINF:"):].split(",")[0]) for line in text.splitlines()
               if line.startswith("#EXTINF:"))


def playlist_stats(playlist: Path) -> MediaPlaylistStats:
    folder = playlist.parent
    total_bits = 0
    total_seconds = 0.0
    peak = 0
    seconds = None
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            seconds = float(line[len("#EXTINF:"):].split(",")[0])
        elif line and not line.startswith("#") and seconds is not None:
            bits = (folder / line).stat().st_size * 8
            total_bits += bits
            total_seconds += seconds
            if seconds > 0.5:  # a short last segment would overstate the peak
                peak = max(peak, int(bits / seconds))
            seconds = None
    average = int(total_bits / total_seconds) if total_seconds else 0
    return MediaPlaylistStats(duration=total_seconds, average_bitrate=average,
                              peak_bitrate=max(peak, average))


# How far the decoded media may fall short of what the headers declare. Encoders round
# the last frame and audio priming moves the end a little; a truncated or damaged file
# loses whole seconds.
SHORTFALL_SECONDS = 1.0
SHORTFALL_SHARE = 0.02


@dataclass
class Decoded:
    """What the encode wrote: seconds of picture when there is a picture, and of sound
    when there is sound."""

    video: float | None
    audio: float | None

    @property
    def duration(self) -> float:
        return max(self.video or 0.0, self.audio or 0.0)


def _written_seconds(playlist: Path) -> float:
    return playlist_stats(playlist).duration if playlist.exists() else 0.0


def check_decoded(inspection: Inspection, plan: EncodePlan, out_dir: Path,
                  stderr_tail: str = "") -> Decoded:
    """What FFmpeg decoded, refused (malformed) where it falls short of the headers.

    FFmpeg reads to the end of the data and exits 0: a file cut after an index at its
    front, or a header that lies about the length, encodes "successfully". Only what was
    written shows what the file holds. `stderr_tail` (the encode's) goes on the error.
    """
    video = None
    if plan.rungs:
        video = _written_seconds(out_dir / plan.rungs[0].name / "index.m3u8")
        if video <= 0:
            raise MediaError("malformed", "No picture could be decoded from the file; it is "
                             "truncated or damaged.", stderr_tail)
    audio = _written_seconds(out_dir / AUDIO_NAME / "index.m3u8") if plan.has_audio else None
    if plan.audio_only and not audio:
        raise MediaError("malformed", "No sound could be decoded from the file; it is "
                         "truncated or damaged.", stderr_tail)
    decoded = Decoded(video=video, audio=audio)
    claims = [("The file", inspection.duration, decoded.duration)]
    if video is not None and inspection.video_duration:
        claims.append(("The video track", inspection.video_duration, video))
    if audio is not None and inspection.audio and inspection.audio.duration:
        claims.append(("The audio track", inspection.audio.duration, audio))
    for what, declared, got in claims:
        if declared - got > max(SHORTFALL_SECONDS, declared * SHORTFALL_SHARE):
            raise MediaError("malformed", f"{what} declares {declared:.1f} s but only {got:.1f} s "
                             "could be decoded; the file is truncated or damaged.", stderr_tail)
    if not (out_dir / POSTER_NAME).exists():
        if plan.audio_only:  # the waveform is drawn once the sound has ended
            raise MediaError("malformed", "The sound could not be decoded to its end, where its "
                             "waveform is drawn; the file is truncated or damaged.", stderr_tail)
        raise MediaError("malformed", "The picture could not be decoded as far as its middle, "
                         "where the poster is taken; the file is truncated or damaged.", stderr_tail)
    # Encoders round the end up to a whole frame or audio packet (AAC adds a few tens of
    # milliseconds): within the tolerance, the declared length stands. A header that
    # understates the length by more is not believed either.
    if video is not None:
        video = _rounded_to(video, inspection.video_duration or inspection.duration)
    if audio is not None:
        audio = _rounded_to(audio, (inspection.audio.duration if inspection.audio else None)
                            or inspection.duration)
    return Decoded(video=video, audio=audio)


def _rounded_to(decoded: float, declared: float | None) -> float:
    if declared and 0 < decoded - declared <= max(SHORTFALL_SECONDS, declared * SHORTFALL_SHARE):
        return declared
    return decoded


def codecs_by_name(out_dir: Path) -> dict[str, str]:
    """The CODECS FFmpeg computed per video rendition, from the master it wrote (none
    while it has not written it yet)."""
    try:
        text = (out_dir / MASTER_NAME).read_text()
    except FileNotFoundError:
        return {}
    found = {}
    for match in _STREAM_INF.finditer(text):
        name = match.group("uri").strip().split("/")[0]
        codecs = _CODECS.search(match.group("attrs"))
        if codecs:
            found[name] = codecs.group(1).split(",")[0]
    return found


def rendition_rows(plan: EncodePlan, out_dir: Path) -> list[dict]:
    codecs = codecs_by_name(out_dir) if plan.rungs else {}
    rows = []
    for rung in plan.rungs:
        stats = playlist_stats(out_dir / rung.name / "index.m3u8")
        rows.append({"name": rung.name, "kind": "video", "width": rung.width, "height": rung.height,
                     "frame_rate": round(plan.frame_rate, 3), "bitrate": stats.average_bitrate,
                     "peak_bitrate": stats.peak_bitrate, "codecs": codecs.get(rung.name, "avc1.640028")})
    if plan.has_audio:
        stats = playlist_stats(out_dir / AUDIO_NAME / "index.m3u8")
        rows.append({"name": AUDIO_NAME, "kind": "audio", "width": None, "height": None,
                     "frame_rate": None, "bitrate": stats.average_bitrate,
                     "peak_bitrate": stats.peak_bitrate, "codecs": "mp4a.40.2"})
    return rows


def published_files(out_dir: Path) -> list[Path]:
    """Everything a viewer may fetch; FFmpeg's own master is replaced by ours, and the
    files it is still writing (.tmp) are not yet anything."""
    return sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != MASTER_NAME
                  and not p.name.endswith(".tmp"))


def finish_playlists(out_dir: Path) -> None:
    """The ladder's media playlists grew as EVENT playlists while it was encoded (so that
    it could play early); done, they are VOD playlists."""
    for playlist in out_dir.glob("*/index.m3u8"):
        text = playlist.read_text()
        if "#EXT-X-PLAYLIST-TYPE:EVENT" in text:
            playlist.write_text(text.replace("#EXT-X-PLAYLIST-TYPE:EVENT",
                                             "#EXT-X-PLAYLIST-TYPE:VOD"))
