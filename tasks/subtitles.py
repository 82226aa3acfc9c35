"""Subtitles from timed segments: SubRip (.srt), WebVTT (.vtt) and plain text, as players read them."""

from __future__ import annotations

import re
from pathlib import Path

# The usual broadcast limits: two lines of 42 characters on screen at once.
LINE_CHARS = 42
CUE_CHARS = 2 * LINE_CHARS
# A bit of text this short (a word or two Whisper left for the next window) joins the segment it continues.
FRAGMENT_CHARS = 20
FRAGMENT_WORDS = 2
FRAGMENT_GAP_SECONDS = 1.0
SENTENCE_END = ".!?。！？"
CLAUSE_END = ",;:，、；："
# Segments shorter than this after tidying would flash by unread; their words join the previous cue.
MIN_CUE_SECONDS = 0.05
FILE_STEM = "transcript"


def subtitle_segments(segments: list[dict], duration: float) -> list[dict]:
    """Segments as cues need them: no stray fragments, at most two lines each, in order, inside [0, duration]."""
    joined = _join_fragments(segments)
    return tidy_segments([piece for segment in joined for piece in split_segment(segment)], duration)


def _join_fragments(segments: list[dict]) -> list[dict]:
    joined: list[dict] = []
    for segment in segments:
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and len(segment["text"].strip()) < FRAGMENT_CHARS
            and len(segment["text"].split()) <= FRAGMENT_WORDS
            and segment["start"] - previous["end"] <= FRAGMENT_GAP_SECONDS
            and previous["text"].rstrip()[-1:] not in SENTENCE_END
        ):
            joined[-1] = {
                "start": previous["start"],
                "end": segment["end"],
                "text": previous["text"] + segment["text"],
                "words": previous.get("words", []) + segment.get("words", []),
            }
        else:
            joined.append(segment)
    return joined


def split_segment(segment: dict) -> list[dict]:
    """A segment too long for two subtitle lines cut, by its word timings, into pieces that fit."""
    words = segment.get("words") or []
    if len(segment["text"].strip()) <= CUE_CHARS or len(words) < 2:
        return [segment]
    cut = min(range(1, len(words)), key=lambda i: _cut_cost(words, i))
    pieces = [
        {"start": p[0]["start"], "end": p[-1]["end"], "text": _joined(p), "words": p}
        for p in (words[:cut], words[cut:])
    ]
    return [piece for part in pieces for piece in split_segment(part)]


def _cut_cost(words: list[dict], index: int) -> float:
    """Lower is better: how far from the middle the cut before words[index] is, less if a sentence or clause ends."""
    left, right = len(_joined(words[:index])), len(_joined(words[index:]))
    last = words[index - 1]["word"].rstrip()[-1:]
    bonus = 0.5 if last in SENTENCE_END else 0.3 if last in CLAUSE_END else 0.0
    return abs(left - right) / max(1, left + right) - bonus


def _joined(words: list[dict]) -> str:
    return "".join(w["word"] for w in words).strip()


def tidy_segments(segments: list[dict], duration: float) -> list[dict]:
    """Segments with text, in order, not overlapping, inside [0, duration]: what cues need to be valid."""
    tidy: list[dict] = []
    for segment in segments:
        text = " ".join(segment["text"].split())
        if not text:
            continue
        previous_end = tidy[-1]["end"] if tidy else 0.0
        start = min(max(round(segment["start"], 2), previous_end), duration)
        end = min(max(round(segment["end"], 2), start), round(duration, 2))
        words = [_tidy_word(word, start, end) for word in segment.get("words", [])]
        if end - start < MIN_CUE_SECONDS and tidy:
            tidy[-1]["text"] += " " + text
            tidy[-1].get("words", []).extend(_tidy_word(word, start, tidy[-1]["end"]) for word in words)
            continue
        tidy.append({"start": start, "end": end, "text": text, **({"words": words} if "words" in segment else {})})
    return tidy


def _tidy_word(word: dict, start: float, end: float) -> dict:
    word_start = min(max(round(word["start"], 2), start), end)
    return {**word, "start": word_start, "end": min(max(round(word["end"], 2), word_start), end)}


def timestamp(seconds: float, decimal: str = ".") -> str:
    """Seconds as HH:MM:SS.mmm (WebVTT) or, with decimal=",", HH:MM:SS,mmm (SubRip)."""
    milliseconds = max(0, round(seconds * 1000))
    hours, milliseconds = divmod(milliseconds, 3_600_000)
    minutes, milliseconds = divmod(milliseconds, 60_000)
    seconds_part, milliseconds = divmod(milliseconds, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds_part:02d}{decimal}{milliseconds:03d}"


def to_srt(segments: list[dict]) -> str:
    """A SubRip file: numbered cues, "HH:MM:SS,mmm --> HH:MM:SS,mmm", the text on at most 42-character lines."""
    cues = [
        f"{index}\n{timestamp(s['start'], ',')} --> {timestamp(s['end'], ',')}\n{_cue_text(s, escape=False)}\n"
        for index, s in enumerate(segments, start=1)
    ]
    return "\n".join(cues)


def to_vtt(segments: list[dict]) -> str:
    """A WebVTT file; when segments carry word timings, each word's start is a cue timestamp (karaoke style)."""
    cues = [f"{timestamp(s['start'])} --> {timestamp(s['end'])}\n{_cue_text(s, escape=True)}\n" for s in segments]
    return "\n".join(["WEBVTT\n", *cues])


def to_text(segments: list[dict]) -> str:
    """The transcript as plain text, one segment a line."""
    return "".join(f"{s['text']}\n" for s in segments)


def write_subtitles(segments: list[dict], folder: Path) -> dict[str, Path]:
    """transcript.srt, transcript.vtt and transcript.txt written into `folder`, by format."""
    folder = Path(folder)
    files = {"srt": to_srt(segments), "vtt": to_vtt(segments), "txt": to_text(segments)}
    paths = {}
    for suffix, content in files.items():
        paths[suffix] = folder / f"{FILE_STEM}.{suffix}"
        paths[suffix].write_text(content, encoding="utf-8")
    return paths


def _cue_text(segment: dict, escape: bool) -> str:
    """The cue's text wrapped into lines; for WebVTT, escaped and with each word's start time when known."""
    words = segment.get("words") or []
    # Words carry their own leading space (none in languages written without spaces), so they join as they are.
    pieces = [(w["word"], w["start"]) for w in words] or [(p, None) for p in re.findall(r"\s*\S+", segment["text"])]
    lines: list[str] = []
    line, width, last_time = "", 0, round(segment["start"], 3)
    for text, start in pieces:
        visible = " ".join(text.replace("-->", "->").split())
        if not visible:
            continue
        space = " " if text[:1].isspace() else ""
        if line and space and width + 1 + len(visible) > LINE_CHARS:
            lines.append(line)
            line, width = "", 0
        elif line:
            line, width = line + space, width + len(space)
        # A WebVTT cue timestamp must lie strictly between the cue's start and end, each later than the last.
        if escape and start is not None and last_time < round(start, 3) < round(segment["end"], 3):
            line += f"<{timestamp(start)}>"
            last_time = round(start, 3)
        line, width = line + (_escape(visible) if escape else visible), width + len(visible)
    lines.append(line)
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
