"""The master playlist, written from the database rather than trusted from disk."""

from __future__ import annotations

from media_core.models import Asset, Rendition

AUDIO_GROUP = "audio"


def master_playlist(asset: Asset, child_base: str, renditions: list[Rendition] | None = None) -> str:
    """`child_base` is the signed path every child URL starts with; `renditions`, the
    asset's, when the caller read them with it."""
    renditions = list(asset.renditions.all()) if renditions is None else renditions
    audio = next((r for r in renditions if r.kind == Rendition.Kind.AUDIO), None)
    video = sorted((r for r in renditions if r.kind == Rendition.Kind.VIDEO),
                   key=lambda r: r.peak_bitrate, reverse=True)
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="Default",DEFAULT=YES,'
            f'AUTOSELECT=YES,CHANNELS="2",URI="{child_base}/{audio.name}/index.m3u8"'
        )
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
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(f"{child_base}/{r.name}/index.m3u8")
    return "\n".join(lines) + "\n"
