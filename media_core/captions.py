"""Text tracks' files: WebVTT or SRT in, WebVTT out, with every cue's times as given.

webvtt-py reads WebVTT strictly (timings such as 00:01.000 --> 00:04.000, known cue
settings, an empty line between blocks) and writes what players get; srt reads SRT. A
file that is refused is refused with the line that failed, counted from 1 as a text
editor counts lines, so an editor can find it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import srt
import webvtt
from webvtt import vtt
from webvtt.errors import MalformedCaptionError

from foundation.errors import DomainError

# Captions of a three-hour film in SRT are about 200 KB: ten times that is not a caption file.
MAX_BYTES = 2 * 1024 * 1024

WEBVTT = "webvtt"
SRT = "srt"


class CaptionsInvalid(DomainError):
    code = "invalid_text_track"
    status = 422
    title = "Not a valid WebVTT or SRT file"

    def __init__(self, line: int, problem: str):
        detail = f"line {line}: {problem}"
        super().__init__(detail, errors={"file": [detail]})
        self.line = line


@dataclass(frozen=True)
class Captions:
    source_format: str
    document: webvtt.WebVTT

    @property
    def cue_count(self) -> int:
        return len(self.document.captions)

    def for_players(self, *, mpegts: int) -> str:
        """The WebVTT file players read. X-TIMESTAMP-MAP says which media timestamp (90 kHz)
        a cue time of 0 stands for: Safari needs it to place the cues on the video's
        timeline, and hls.js honours it too."""
        document = self.document
        own = [line for line in document.metadata if not line.startswith("X-TIMESTAMP-MAP")]
        return webvtt.WebVTT(
            captions=document.captions, styles=document.styles, regions=document.regions,
            header_text=document.header_text,
            metadata=[f"X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000", *own],
        ).content


def read(data: bytes, filename: str = "") -> Captions:
    """The captions of a WebVTT or SRT file (told apart by the WEBVTT line WebVTT starts
    with, or a .vtt name); raises CaptionsInvalid naming the line that failed."""
    text = _text(data)
    if not text.strip():
        raise CaptionsInvalid(1, "the file is empty.")
    if text.startswith("WEBVTT") or filename.lower().endswith(".vtt"):
        return Captions(WEBVTT, _read_webvtt(text))
    return Captions(SRT, _read_srt(text))


def _text(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaptionsInvalid(data.count(b"\n", 0, exc.start) + 1,
                              f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file "
                              "as UTF-8.") from exc
    if "\x00" in text:
        raise CaptionsInvalid(text.count("\n", 0, text.index("\x00")) + 1,
                              "a NUL character: this is not a text file.")
    # The line breaks WebVTT knows (CR LF, CR, LF) as LF: lines are counted as editors do.
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


# --- WebVTT ----------------------------------------------------------------------------

def _read_webvtt(text: str) -> webvtt.WebVTT:
    lines = text.split("\n")
    first = lines[0]
    if first != "WEBVTT" and not first.startswith(("WEBVTT ", "WEBVTT\t")):
        raise CaptionsInvalid(1, "a WebVTT file starts with the line WEBVTT.")
    blocks = _blocks(lines)
    _, header = next(blocks)
    captions, styles, regions = [], [], []
    for number, block in blocks:
        timing = next((i for i, line in enumerate(block) if "-->" in line), 0)
        try:
            item = vtt.parse_item(block, strict=True, seen_cue=bool(captions))
        except MalformedCaptionError as exc:
            reason = str(exc)
            raise CaptionsInvalid(number + timing, f"{reason[:1].lower()}{reason[1:]}.") from exc
        if isinstance(item, webvtt.Caption):
            if item.end_time <= item.start_time:
                raise CaptionsInvalid(number + timing, f"the cue ends ({item.end}) before it "
                                                       f"starts ({item.start}).")
            captions.append(item)
        elif isinstance(item, webvtt.Style):
            styles.append(item)
        elif isinstance(item, webvtt.Region):
            regions.append(item)
        elif block[0].startswith("NOTE"):
            continue  # a comment: players show nothing of it
        elif "-->" in block[timing]:
            raise CaptionsInvalid(number + timing, (
                "cue timings are written like 00:00:01.000 --> 00:00:04.000 (hours may be "
                "left out, two digits for minutes and seconds, a full stop and three for "
                f"milliseconds), not {block[timing].strip()[:80]!r}."))
        else:
            raise CaptionsInvalid(number, (
                f"text outside any cue ({block[0][:80]!r}); a cue's text cannot contain an "
                "empty line."))
    if not captions:
        raise CaptionsInvalid(1, "the file holds no cues.")
    header_text = first[len("WEBVTT"):]
    return webvtt.WebVTT(captions=captions, styles=styles, regions=regions,
                         header_text=header_text[1:] if header_text else "",
                         metadata=header[1:])


def _blocks(lines: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(number of its first line, its lines) of each block, as WebVTT reads them (and
    webvtt-py does): a block ends at an empty line; a line of cue timings where it cannot
    be the block's own (after its first two lines) needs an empty line before it."""
    block: list[str] = []
    start = 1
    in_header = True
    for number, line in enumerate(lines, 1):
        starts_new = bool(block and "-->" in line
                          and (in_header or len(block) > 1 or "-->" in block[0]))
        if not line or starts_new:
            if starts_new and not in_header:
                raise CaptionsInvalid(number, "a cue must be parted from the text before it "
                                              "by an empty line.")
            if block:
                yield start, block
                block = []
                in_header = False
        if line:
            if not block:
                start = number
            block.append(line)
    if block:
        yield start, block


# --- SRT ---------------------------------------------------------------------------------

def _read_srt(text: str) -> webvtt.WebVTT:
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        unmatched = exc.unmatched_content
        at = exc.expected_start + len(unmatched) - len(unmatched.lstrip())
        line = text.count("\n", 0, at) + 1
        found = unmatched.strip().split("\n")
        numbered = found[0].strip().isdigit() and len(found) > 1
        if numbered:
            line, found = line + 1, found[1:]  # a subtitle's number, then times srt cannot read
        if numbered or "-->" in found[0]:
            raise CaptionsInvalid(line, (
                "times are written like 00:00:01,000 --> 00:00:04,000 (hours, minutes, "
                f"seconds, a comma and milliseconds), not {found[0].strip()[:80]!r}.")) from exc
        raise CaptionsInvalid(line, (
            "expected a subtitle: its number, a line of times such as 00:00:01,000 --> "
            f"00:00:04,000, then its text; found {found[0].strip()[:80]!r}.")) from exc
    if not subtitles:
        raise CaptionsInvalid(1, "the file holds no subtitles.")
    captions = []
    # The same expression srt.parse matched with: where each subtitle's times are.
    for subtitle, match in zip(subtitles, srt.SRT_REGEX.finditer(text), strict=True):
        start, end = _timestamp(subtitle.start), _timestamp(subtitle.end)
        if subtitle.end <= subtitle.start:
            raise CaptionsInvalid(text.count("\n", 0, match.start(2)) + 1,
                                  f"the subtitle ends ({end}) before it starts ({start}).")
        captions.append(webvtt.Caption(start, end, _cue_lines(subtitle.content)))
    return webvtt.WebVTT(captions=captions)


def _timestamp(value) -> str:
    """00:01:02.345: the exact milliseconds of SRT's 00:01:02,345."""
    milliseconds = value.days * 86_400_000 + value.seconds * 1000 + value.microseconds // 1000
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, milliseconds = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{milliseconds:03d}"


# SRT's <font …> and {\an8}-style codes mean nothing in WebVTT; <b>, <i> and <u> are kept.
_TAG = re.compile(r"<(/?)([A-Za-z]+)[^<>]*>")
_ASS_CODE = re.compile(r"\{\\[^}]*\}")
_ENTITY = re.compile(r"&(?:[A-Za-z]+|#[0-9]+|#[xX][0-9A-Fa-f]+);")


def _cue_lines(content: str) -> list[str]:
    content = _ASS_CODE.sub("", content)
    parts, at = [], 0
    for match in _TAG.finditer(content):
        parts.append(_escaped(content[at:match.start()]))
        if match.group(2).lower() in ("b", "i", "u"):
            parts.append(f"<{match.group(1)}{match.group(2).lower()}>")
        at = match.end()
    parts.append(_escaped(content[at:]))
    # An empty line would end the cue in WebVTT.
    return [line for line in "".join(parts).split("\n") if line.strip()]


def _escaped(text: str) -> str:
    """Plain text as WebVTT cue text: & and < written as entities (an entity already
    written stays), and so --> cannot end up in a cue."""
    out, at = [], 0
    for match in _ENTITY.finditer(text):
        out.append(text[at:match.start()].replace("&", "&amp;"))
        out.append(match.group(0))
        at = match.end()
    out.append(text[at:].replace("&", "&amp;"))
    return "".join(out).replace("<", "&lt;").replace(">", "&gt;")
