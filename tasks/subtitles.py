"""Subtitles from timed segments: SubRip (.srt), WebVTT (.vtt), plain text and word-level JSON, as players read them."""

from __future__ import annotations

import json
import re
from pathlib import Path

# The usual broadcast limits: two lines of 42 characters on screen at once.
LINE_CHARS = 42
CUE_LINES = 2
# Speakers stop for a breath or a comma for well under a second, and Whisper's word times are good to a few tenths;
# a silence of a second or more is a real break, and a cue left on screen through it shows words nobody is saying.
PAUSE_SECONDS = 1.0
# Spoken words last about 0.3 s, and even a long word said slowly stays under a second and a half; a word timed longer
# is Whisper's alignment stretching it over a silence next to it. When the next word follows straight on, the silence
# was before it ("devotion, ... that we", the 'that' timed from 1.3 s into a 4-second pause), so it is taken to start
# a typical word's length before its end; when it is the segment's last word or a pause follows, the silence was
# after it ("hallow this ground." held 1.8 s into the pause after it), so it ends a typical word's length after its
# start. Either way the silence becomes a pause the cues are cut at.
LONGEST_WORD_SECONDS = 1.5
TYPICAL_WORD_SECONDS = 0.5
# A bit of text this short (a word or two Whisper left for the next window) joins the segment it continues.
FRAGMENT_CHARS = 20
FRAGMENT_WORDS = 2
SENTENCE_END = ".!?。！？"
CLAUSE_END = ",;:，、；："
# Segments shorter than this after tidying would flash by unread; their words join the previous cue.
MIN_CUE_SECONDS = 0.05
FILE_STEM = "transcript"


def subtitle_segments(
    segments: list[dict], duration: float, line_chars: int = LINE_CHARS, cue_lines: int = CUE_LINES
) -> list[dict]:
    """Segments as cues need them: no stray fragments, none through a pause, each on at most `cue_lines` lines."""
    if line_chars < 1 or cue_lines < 1:
        raise ValueError(f"A cue needs at least one line of one character, not {cue_lines} of {line_chars}.")
    joined = _join_fragments([_timed_by_words(segment) for segment in segments])
    pieces = [
        piece
        for segment in joined
        for part in _cut_at_pauses(segment)
        for piece in split_segment(part, line_chars, cue_lines)
    ]
    return tidy_segments(pieces, duration, line_chars, cue_lines)


def _timed_by_words(segment: dict) -> dict:
    """The segment with its stretched words shortened, starting and ending when its words do."""
    words = segment.get("words")
    if not words:
        return segment
    words = [_unstretched(word, following) for word, following in zip(words, [*words[1:], None])]
    return {**segment, "start": words[0]["start"], "end": words[-1]["end"], "words": words}


def _unstretched(word: dict, following: dict | None) -> dict:
    """A word timed over the silence next to it, cut back to a typical word's length on the side of its speech."""
    if word["end"] - word["start"] <= LONGEST_WORD_SECONDS:
        return word
    if following is not None and following["start"] - word["end"] < PAUSE_SECONDS:
        return {**word, "start": word["end"] - TYPICAL_WORD_SECONDS}
    return {**word, "end": word["start"] + TYPICAL_WORD_SECONDS}


def _join_fragments(segments: list[dict]) -> list[dict]:
    joined: list[dict] = []
    for segment in segments:
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and len(segment["text"].strip()) < FRAGMENT_CHARS
            and len(segment["text"].split()) <= FRAGMENT_WORDS
            and segment["start"] - previous["end"] < PAUSE_SECONDS
            and previous["text"].rstrip()[-1:] not in SENTENCE_END
            # Splitting goes by the words when there are any, so text without them must not join text with them.
            and bool(segment.get("words")) == bool(previous.get("words"))
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


def _cut_at_pauses(segment: dict) -> list[dict]:
    """The segment cut wherever its words fall silent for PAUSE_SECONDS or more."""
    words = segment.get("words") or []
    cuts = [i for i in range(1, len(words)) if words[i]["start"] - words[i - 1]["end"] >= PAUSE_SECONDS]
    if not cuts:
        return [segment]
    return [_piece(words[a:b]) for a, b in zip([0, *cuts], [*cuts, len(words)])]


def split_segment(segment: dict, line_chars: int = LINE_CHARS, cue_lines: int = CUE_LINES) -> list[dict]:
    """A segment too long for `cue_lines` lines of `line_chars` cut, by its word timings, into pieces that fit."""
    if _fits(segment, line_chars, cue_lines):
        return [segment]
    if not segment.get("words"):
        # Without word timings, times spread over the text by its length are the best guess at where a cut falls.
        estimated = {**segment, "words": _estimated_words(segment)}
        pieces = split_segment(estimated, line_chars, cue_lines) if len(estimated["words"]) > 1 else [segment]
        return [{key: value for key, value in piece.items() if key != "words"} for piece in pieces]
    words = segment["words"]
    if len(words) < 2:
        return [segment]
    cut = min(range(1, len(words)), key=lambda i: _cut_cost(words, i))
    halves = (_piece(words[:cut]), _piece(words[cut:]))
    return [piece for half in halves for piece in split_segment(half, line_chars, cue_lines)]


def _estimated_words(segment: dict) -> list[dict]:
    """The segment's words, each given the share of its time that its characters are of the text."""
    texts = re.findall(r"\s*\S+", segment["text"])
    total = max(1, sum(len(text) for text in texts))
    span = segment["end"] - segment["start"]
    words, done = [], 0
    for text in texts:
        start = segment["start"] + span * done / total
        done += len(text)
        words.append({"start": start, "end": segment["start"] + span * done / total, "word": text})
    return words


def _piece(words: list[dict]) -> dict:
    return {"start": words[0]["start"], "end": words[-1]["end"], "text": _joined(words), "words": words}


def _cut_cost(words: list[dict], index: int) -> float:
    """Lower is better: how far from the middle the cut before words[index] is, less at a sentence end or a silence."""
    left, right = len(_joined(words[:index])), len(_joined(words[index:]))
    last = words[index - 1]["word"].rstrip()[-1:]
    bonus = 0.5 if last in SENTENCE_END else 0.3 if last in CLAUSE_END else 0.0
    silence = max(0.0, words[index]["start"] - words[index - 1]["end"])
    return abs(left - right) / max(1, left + right) - bonus - 0.3 * min(1.0, silence / PAUSE_SECONDS)


def _joined(words: list[dict]) -> str:
    return "".join(w["word"] for w in words).strip()


def tidy_segments(
    segments: list[dict], duration: float, line_chars: int = LINE_CHARS, cue_lines: int = CUE_LINES
) -> list[dict]:
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
            previous = tidy[-1]
            merged_text = previous["text"] + " " + text
            merged_words = previous.get("words", []) + [_tidy_word(word, start, previous["end"]) for word in words]
            # A cue that would no longer fit on screen keeps the moment it has instead.
            timed = bool(words) and bool(previous.get("words"))
            if _fits({"text": merged_text, "words": merged_words if timed else []}, line_chars, cue_lines):
                previous["text"] = merged_text
                if "words" in previous:
                    previous["words"] = merged_words
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


def to_srt(segments: list[dict], line_chars: int = LINE_CHARS) -> str:
    """A SubRip file: numbered cues, "HH:MM:SS,mmm --> HH:MM:SS,mmm", the text on lines of at most `line_chars`."""
    cues = [
        f"{index}\n{timestamp(s['start'], ',')} --> {timestamp(s['end'], ',')}\n{_cue_text(s, False, line_chars)}\n"
        for index, s in enumerate(segments, start=1)
    ]
    return "\n".join(cues)


def to_vtt(segments: list[dict], line_chars: int = LINE_CHARS) -> str:
    """A WebVTT file; when segments carry word timings, each word's start is a cue timestamp (karaoke style)."""
    cues = [f"{timestamp(s['start'])} --> {timestamp(s['end'])}\n{_cue_text(s, True, line_chars)}\n" for s in segments]
    return "\n".join(["WEBVTT\n", *cues])


def to_text(segments: list[dict]) -> str:
    """The transcript as plain text, one segment a line."""
    return "".join(f"{s['text']}\n" for s in segments)


def to_word_json(segments: list[dict]) -> str:
    """The segments and their timed words as a JSON document, words without their leading space."""
    document = {
        "segments": [
            {
                "start": s["start"],
                "end": s["end"],
                "text": s["text"].strip(),
                "words": [
                    {
                        "start": w["start"],
                        "end": w["end"],
                        "word": w["word"].strip(),
                        "probability": w.get("probability"),
                    }
                    for w in s.get("words") or []
                ],
            }
            for s in segments
        ]
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def write_subtitles(segments: list[dict], folder: Path, line_chars: int = LINE_CHARS) -> dict[str, Path]:
    """transcript.srt, .vtt, .txt and .json (the timed words) written into `folder`, by format."""
    folder = Path(folder)
    files = {
        "srt": to_srt(segments, line_chars),
        "vtt": to_vtt(segments, line_chars),
        "txt": to_text(segments),
        "json": to_word_json(segments),
    }
    paths = {}
    for suffix, content in files.items():
        paths[suffix] = folder / f"{FILE_STEM}.{suffix}"
        paths[suffix].write_text(content, encoding="utf-8")
    return paths


def _fits(segment: dict, line_chars: int, cue_lines: int) -> bool:
    return len(_wrapped(_cue_pieces(segment), line_chars)) <= cue_lines


def _cue_pieces(segment: dict) -> list[tuple[str, float | None]]:
    """The cue's words with their start times, or its text's words untimed when it has no word timings."""
    words = segment.get("words") or []
    # Words carry their own leading space (none in languages written without spaces), so they join as they are.
    return [(w["word"], w["start"]) for w in words] or [(p, None) for p in re.findall(r"\s*\S+", segment["text"])]


def _wrapped(pieces: list[tuple[str, float | None]], line_chars: int) -> list[list[tuple[str, str, float | None]]]:
    """The pieces as lines of (space before, text shown, start), none over `line_chars` but a word that long alone."""
    lines: list[list[tuple[str, str, float | None]]] = [[]]
    width = 0
    for text, start in pieces:
        visible = " ".join(text.replace("-->", "->").split())
        if not visible:
            continue
        space = " " if text[:1].isspace() else ""
        # Words written without spaces (Chinese, Japanese) may break between them as well.
        if lines[-1] and width + len(space) + len(visible) > line_chars:
            lines.append([])
            width = 0
        if not lines[-1]:
            space = ""
        lines[-1].append((space, visible, start))
        width += len(space) + len(visible)
    return lines


def _cue_text(segment: dict, escape: bool, line_chars: int = LINE_CHARS) -> str:
    """The cue's text wrapped into lines; for WebVTT, escaped and with each word's start time when known."""
    rendered: list[str] = []
    last_time = round(segment["start"], 3)
    for line in _wrapped(_cue_pieces(segment), line_chars):
        text = ""
        for space, visible, start in line:
            text += space
            # A WebVTT cue timestamp must lie strictly between the cue's start and end, each later than the last.
            if escape and start is not None and last_time < round(start, 3) < round(segment["end"], 3):
                text += f"<{timestamp(start)}>"
                last_time = round(start, 3)
            text += _escape(visible) if escape else visible
        rendered.append(text)
    return "\n".join(rendered)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
