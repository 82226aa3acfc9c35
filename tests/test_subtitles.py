"""Readable subtitles: cues within the line limits, cut where the speaker pauses, and the word-level JSON download."""

from __future__ import annotations

import json
import re

import pytest

from tasks import subtitles

TIME = r"(\d{2}):(\d{2}):(\d{2})[,.](\d{3})"
ADDRESS = (
    " Four score and seven years ago our fathers brought forth on this continent a new nation, conceived in"
    " Liberty, and dedicated to the proposition that all men are created equal. Now we are engaged in a great"
    " civil war, testing whether that nation, or any nation so conceived and so dedicated, can long endure."
    " We are met on a great battlefield of that war."
)
# 84 characters: within the old budget of 2 × 42, yet three lines once wrapped word by word.
TASK = " It is rather for us to be here dedicated to the great task remaining before us, that"


def timed(text: str, start: float, step: float = 0.35) -> list[dict]:
    """The words of `text` as Whisper times them, one every `step` seconds, each lasting 0.3 s."""
    return [
        {"start": round(start + i * step, 2), "end": round(start + i * step + 0.3, 2), "word": w, "probability": 0.9}
        for i, w in enumerate(re.findall(r"\s*\S+", text))
    ]


def segment_of(words: list[dict]) -> dict:
    return {
        "start": words[0]["start"],
        "end": words[-1]["end"],
        "text": "".join(w["word"] for w in words),
        "words": words,
    }


def seconds(match: tuple[str, ...]) -> float:
    hours, minutes, secs, millis = (int(part) for part in match)
    return hours * 3600 + minutes * 60 + secs + millis / 1000


def srt_cues(content: str) -> list[tuple[float, float, list[str]]]:
    """SubRip cues as (start, end, lines shown), numbered from 1."""
    cues = []
    for number, block in enumerate(content.strip("\n").split("\n\n"), start=1):
        index, timing, *lines = block.split("\n")
        match = re.fullmatch(f"{TIME} --> {TIME}", timing)
        assert index == str(number) and match and lines, block
        cues.append((seconds(match.groups()[:4]), seconds(match.groups()[4:]), lines))
    return cues


def vtt_cues(content: str) -> list[tuple[float, float, list[str]]]:
    """WebVTT cues as (start, end, lines shown): word timestamps taken out, escapes undone."""
    header, *blocks = content.strip("\n").split("\n\n")
    assert header == "WEBVTT"
    cues = []
    for block in blocks:
        timing, *lines = block.split("\n")
        match = re.fullmatch(f"{TIME} --> {TIME}", timing)
        assert match and lines, block
        shown = [
            re.sub(f"<{TIME}>", "", line).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            for line in lines
        ]
        cues.append((seconds(match.groups()[:4]), seconds(match.groups()[4:]), shown))
    return cues


def rendered(cues: list[dict], line_chars: int = subtitles.LINE_CHARS) -> list[list[tuple[float, float, list[str]]]]:
    """The cues as a player reads them from the .srt and from the .vtt file."""
    return [srt_cues(subtitles.to_srt(cues, line_chars)), vtt_cues(subtitles.to_vtt(cues, line_chars))]


def assert_in_order(cues: list[tuple[float, float, list[str]]], duration: float) -> None:
    previous_end = 0.0
    for start, end, _ in cues:
        assert previous_end <= start <= end <= duration, (previous_end, start, end, duration)
        previous_end = end


@pytest.mark.parametrize("line_chars, cue_lines", [(None, None), (32, 1)])
def test_long_segments_become_cues_within_the_line_limits(line_chars, cue_lines):
    address = timed(ADDRESS, 0.0)
    task = timed(TASK, address[-1]["end"] + 0.4)
    segments = [segment_of(address), segment_of(task)]
    limits = {"line_chars": line_chars, "cue_lines": cue_lines} if line_chars else {}
    cues = subtitles.subtitle_segments(segments, duration=60.0, **limits)
    line_chars, cue_lines = line_chars or 42, cue_lines or 2
    for parsed in rendered(cues, line_chars):
        assert_in_order(parsed, duration=60.0)
        for start, end, lines in parsed:
            assert len(lines) <= cue_lines and all(len(line) <= line_chars for line in lines), (start, end, lines)
        assert " ".join(" ".join(lines) for _, _, lines in parsed).split() == (ADDRESS + TASK).split()


def test_a_long_segment_without_word_timings_fits_too():
    words = timed(ADDRESS, 2.0)
    cues = subtitles.subtitle_segments([{"start": 2.0, "end": words[-1]["end"], "text": ADDRESS}], duration=60.0)
    assert all("words" not in cue for cue in cues)
    for parsed in rendered(cues):
        assert_in_order(parsed, duration=60.0)
        assert parsed[0][0] == 2.0 and parsed[-1][1] == words[-1]["end"]
        assert all(len(lines) <= 2 and all(len(line) <= 42 for line in lines) for _, _, lines in parsed), parsed
        assert " ".join(" ".join(lines) for _, _, lines in parsed).split() == ADDRESS.split()


def test_words_written_without_spaces_wrap_between_words():
    spoken = ["我們", "今天", "開會", "討論", "這個", "很", "難", "的", "問題", "，"] * 6 + ["。"]
    words = [{"start": i * 0.3, "end": i * 0.3 + 0.25, "word": w, "probability": 0.9} for i, w in enumerate(spoken)]
    cues = subtitles.subtitle_segments([segment_of(words)], duration=30.0)
    for parsed in rendered(cues):
        assert all(len(lines) <= 2 and all(len(line) <= 42 for line in lines) for _, _, lines in parsed), parsed
        assert "".join("".join(lines) for _, _, lines in parsed) == "".join(spoken)


def test_a_pause_between_words_cuts_the_cue_where_the_words_stop_and_start():
    before, after = timed(" I have a dream", 0.5), timed(" that one day this nation will rise up", 4.85)
    assert after[0]["start"] - before[-1]["end"] == pytest.approx(3.0)
    segments = [{"start": 0.0, "end": 8.0, "text": " I have a dream that one day this nation will rise up"}]
    segments[0]["words"] = before + after
    for parsed in rendered(subtitles.subtitle_segments(segments, duration=8.0)):
        assert_in_order(parsed, duration=8.0)
        assert [(start, end, " ".join(lines)) for start, end, lines in parsed] == [
            (0.5, before[-1]["end"], "I have a dream"),
            (4.85, after[-1]["end"], "that one day this nation will rise up"),
        ]


def test_a_word_stretched_over_a_pause_does_not_keep_the_cue_on_screen_through_it():
    # Whisper's real timing of the Gettysburg Address: the speaker is silent from 10.0 s to 14.0 s, yet 'that' is
    # timed from 11.3 s, so the cue 'full measure of devotion, that we here highly resolve' stayed up through it.
    pause = (10.0, 14.0)
    words = [
        {"start": 7.8, "end": 8.1, "word": " full", "probability": 0.9},
        {"start": 8.1, "end": 8.6, "word": " measure", "probability": 0.9},
        {"start": 8.6, "end": 8.8, "word": " of", "probability": 0.9},
        {"start": 8.8, "end": 10.0, "word": " devotion,", "probability": 0.9},
        {"start": 11.3, "end": 14.2, "word": " that", "probability": 0.4},
        *timed(" we here highly resolve", 14.2, step=0.3),
    ]
    cues = subtitles.subtitle_segments([segment_of(words)], duration=20.0)
    for parsed in rendered(cues):
        assert_in_order(parsed, duration=20.0)
        on_screen = sum(max(0.0, min(end, pause[1]) - max(start, pause[0])) for start, end, _ in parsed)
        assert on_screen <= 0.5, parsed
        assert " ".join(" ".join(lines) for _, _, lines in parsed) == (
            "full measure of devotion, that we here highly resolve"
        )
    that = next(w for cue in cues for w in cue["words"] if w["word"] == " that")
    assert (that["start"], that["end"]) == (13.7, 14.2)


def test_a_fragment_joins_the_cue_it_continues_but_not_across_a_pause():
    went = segment_of(timed(" and so we went on", 6.0))
    home = {"start": 8.2, "end": 8.5, "text": " home", "words": timed(" home", 8.2)}
    home_again = timed(" home again", 8.2)
    late = {"start": 8.2, "end": 10.3, "text": " home again", "words": [{**home_again[0], "end": 10.0}, home_again[1]]}
    late["words"][1] = {**late["words"][1], "start": 10.0, "end": 10.3}
    [joined] = subtitles.subtitle_segments([went, home], duration=12.0)
    assert (joined["start"], joined["end"], joined["text"]) == (6.0, 8.5, "and so we went on home")
    # 'home' timed from 8.2 s to 10.0 s, 'again' straight after: stretched over the silence before it.
    cues = subtitles.subtitle_segments([went, late], duration=12.0)
    assert [(c["start"], c["end"], c["text"]) for c in cues] == [
        (6.0, 7.7, "and so we went on"),
        (9.5, 10.3, "home again"),
    ]
    # A last word held 2 s is stretched over the silence after it: it joins, and the cue ends soon after it starts.
    held = {"start": 8.2, "end": 10.2, "text": " home.", "words": [{**timed(" home.", 8.2)[0], "end": 10.2}]}
    [joined] = subtitles.subtitle_segments([went, held], duration=12.0)
    assert (joined["start"], joined["end"], joined["text"]) == (6.0, 8.7, "and so we went on home.")


def test_the_word_json_has_every_word_without_its_leading_space():
    cues = subtitles.subtitle_segments([segment_of(timed(ADDRESS, 0.0))], duration=60.0)
    chinese = segment_of([{"start": 50.0, "end": 50.5, "word": "開會", "probability": 0.8}])
    untimed = {"start": 51.0, "end": 52.0, "text": "No words here."}
    content = subtitles.to_word_json([*cues, chinese, untimed])
    assert "開會" in content
    document = json.loads(content)
    assert [s["text"] for s in document["segments"]] == [c["text"] for c in cues] + ["開會", "No words here."]
    timed_words = [w for s in document["segments"] for w in s["words"]]
    assert [w["word"] for w in timed_words] == ADDRESS.split() + ["開會"]
    assert [(w["start"], w["end"]) for w in timed_words[:2]] == [(0.0, 0.3), (0.35, 0.65)]
    assert all(w["probability"] in (0.9, 0.8) for w in timed_words)
    assert document["segments"][-1] == {"start": 51.0, "end": 52.0, "text": "No words here.", "words": []}


def test_write_subtitles_writes_the_four_downloads(tmp_path):
    cues = subtitles.subtitle_segments([segment_of(timed(ADDRESS, 0.0))], duration=60.0, line_chars=32)
    paths = subtitles.write_subtitles(cues, tmp_path, line_chars=32)
    assert {suffix: path.name for suffix, path in paths.items()} == {
        "srt": "transcript.srt",
        "vtt": "transcript.vtt",
        "txt": "transcript.txt",
        "json": "transcript.json",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())
    for start, end, lines in srt_cues(paths["srt"].read_text(encoding="utf-8")):
        assert len(lines) <= 2 and all(len(line) <= 32 for line in lines), (start, end, lines)
    assert len(vtt_cues(paths["vtt"].read_text(encoding="utf-8"))) == len(cues)
    assert paths["txt"].read_text(encoding="utf-8").split() == ADDRESS.split()
    words = [w["word"] for s in json.loads(paths["json"].read_text(encoding="utf-8"))["segments"] for w in s["words"]]
    assert words == ADDRESS.split()
