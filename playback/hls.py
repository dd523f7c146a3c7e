"""The master playlist, written from the database rather than trusted from disk."""

from __future__ import annotations

from media_core.models import Asset, Rendition, TextTrack

AUDIO_GROUP = "audio"
SUBTITLES_GROUP = "subs"
# What Apple's players read as captions for the deaf and hard of hearing (SDH).
CLOSED_CAPTIONS_CHARACTERISTICS = ("public.accessibility.transcribes-spoken-dialog,"
                                   "public.accessibility.describes-music-and-sound")


def master_playlist(asset: Asset, child_base: str, renditions: list[Rendition] | None = None,
                    *, text_tracks: list[TextTrack] = (), text_base: str = "") -> str:
    """`child_base` is the signed path every rendition's URL starts with, `text_base` the
    one of the asset's text folder; `renditions`, the asset's, when the caller read them
    with it; `text_tracks`, its ready ones."""
    renditions = list(asset.renditions.all()) if renditions is None else renditions
    audio = next((r for r in renditions if r.kind == Rendition.Kind.AUDIO), None)
    video = sorted((r for r in renditions if r.kind == Rendition.Kind.VIDEO),
                   key=lambda r: r.peak_bitrate, reverse=True)
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio and not video:
        # Sound alone: the audio rendition is the one variant, with no group to refer to.
        lines.extend(_subtitles(text_tracks, text_base))
        attrs = [f"BANDWIDTH={audio.peak_bitrate}", f"AVERAGE-BANDWIDTH={audio.bitrate}",
                 f'CODECS="{audio.codecs}"']
        if text_tracks:
            attrs.append(f'SUBTITLES="{SUBTITLES_GROUP}"')
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(f"{child_base}/{audio.name}/index.m3u8")
        return "\n".join(lines) + "\n"
    if audio:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="Default",DEFAULT=YES,'
            f'AUTOSELECT=YES,CHANNELS="2",URI="{child_base}/{audio.name}/index.m3u8"'
        )
    lines.extend(_subtitles(text_tracks, text_base))
    for r in video:
        peak = r.peak_bitrate + (audio.peak_bitrate if audio else 0)
        average = r.bitrate + (audio.bitrate if audio else 0)
        codecs = r.codecs + (f",{audio.codecs}" if audio else "")
        attrs = [f"BANDWIDTH={peak}", f"AVERAGE-BANDWIDTH={average}", f'CODECS="{codecs}"',
                 f"RESOLUTION={r.width}x{r.height}"]
        if r.frame_rate:
            attrs.append(f"FRAME-RATE={r.frame_rate:.3f}")
        if audio:
            attrs.append(f'AUDIO="{AUDIO_GROUP}"')
        if text_tracks:
            attrs.append(f'SUBTITLES="{SUBTITLES_GROUP}"')
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(f"{child_base}/{r.name}/index.m3u8")
    return "\n".join(lines) + "\n"


def _subtitles(text_tracks: list[TextTrack], text_base: str) -> list[str]:
    """One SUBTITLES rendition per track. None is on by default: viewers choose one."""
    lines, names = [], set()
    for track in text_tracks:
        # Names are unique within a group (RFC 8216); two tracks may share one.
        name, n = track.name, 1
        while name in names:
            n += 1
            name = f"{track.name} ({n})"
        names.add(name)
        attrs = ["TYPE=SUBTITLES", f'GROUP-ID="{SUBTITLES_GROUP}"',
                 f'LANGUAGE="{track.language_code}"', f'NAME="{name}"', "DEFAULT=NO",
                 "AUTOSELECT=YES", "FORCED=NO"]
        if track.closed_captions:
            attrs.append(f'CHARACTERISTICS="{CLOSED_CAPTIONS_CHARACTERISTICS}"')
        attrs.append(f'URI="{text_base}/{track.id}.m3u8"')
        lines.append("#EXT-X-MEDIA:" + ",".join(attrs))
    return lines
