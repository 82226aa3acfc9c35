"""Where someone speaks in a recording (Silero VAD), the speech cut out of it, and timings put back on its clock.

Whisper invents text over long silence, hiss and music: it repeats the last sentence, or thanks the viewer for
watching. Transcribing only the stretches a voice-activity detector hears as speech removes what it could invent
from, and mapping each timing back from the speech alone to the whole recording keeps subtitles true to the file.
The detector is Silero VAD v6 (MIT), the ONNX copy that faster-whisper ships in its wheel, run by ONNX Runtime.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

SAMPLE_RATE = 16_000
# Silero's own defaults: a 32 ms window is speech above 0.5.
THRESHOLD = 0.5
# A silence this long ends a stretch of speech; shorter pauses stay in. Cutting a speaker's pauses between phrases
# (Kennedy's 1.1 s after "Americans") changes what Whisper hears around them: at 1 s, the pack's Whisper base
# heard "Glue the sheet" as "Blue the sheet" two stretches later; at 2 s (faster-whisper's own default), word for
# word. The 40 s of hiss after the last words, or music between two talks, is cut out either way.
MIN_SILENCE_SECONDS = 2.0
# Kept either side of each stretch, so the first and last syllables (quiet, often under the threshold) stay.
SPEECH_PAD_SECONDS = 0.4
# Whisper reads 30-second windows; a stretch longer than this is cut at its longest pause under it.
MAX_SPEECH_SECONDS = 30.0


@dataclass(frozen=True)
class Regions:
    """Stretches of speech as [start, end) sample positions in the recording, in order, not overlapping."""

    spans: list[tuple[int, int]]

    def __bool__(self) -> bool:
        return bool(self.spans)

    @property
    def seconds(self) -> float:
        return sum(end - start for start, end in self.spans) / SAMPLE_RATE

    def original_time(self, seconds: float, is_end: bool = False) -> float:
        """A time in the speech alone (the stretches one after another) as a time in the recording.

        A time at the seam of two stretches is the end of the first (is_end) or the start of the second."""
        if not self.spans:
            return seconds
        sample = seconds * SAMPLE_RATE
        ends = self._speech_ends()
        index = bisect.bisect_left(ends, sample) if is_end else bisect.bisect_right(ends, sample)
        index = min(index, len(self.spans) - 1)
        before = ends[index - 1] if index else 0
        start, end = self.spans[index]
        return min(start + (sample - before), end) / SAMPLE_RATE

    def _speech_ends(self) -> list[int]:
        ends, total = [], 0
        for start, end in self.spans:
            total += end - start
            ends.append(total)
        return ends


def speech_regions(
    audio: Any,
    threshold: float = THRESHOLD,
    min_silence_seconds: float = MIN_SILENCE_SECONDS,
    pad_seconds: float = SPEECH_PAD_SECONDS,
    max_speech_seconds: float = MAX_SPEECH_SECONDS,
) -> Regions:
    """The stretches of 16 kHz float audio that Silero VAD hears as speech."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        threshold=threshold,
        min_silence_duration_ms=round(min_silence_seconds * 1000),
        speech_pad_ms=round(pad_seconds * 1000),
        max_speech_duration_s=max_speech_seconds,
    )
    found = get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)
    return Regions([(int(span["start"]), int(span["end"])) for span in found if span["end"] > span["start"]])


def speech_only(audio: Any, regions: Regions) -> Any:
    """The stretches of speech one after another, the silence between them left out."""
    import numpy as np

    return np.concatenate([audio[start:end] for start, end in regions.spans]) if regions else audio[:0]


def on_recording_clock(segments: list[dict], regions: Regions) -> list[dict]:
    """Segments (and their words) timed on the speech alone, retimed on the recording's clock."""
    retimed = []
    for segment in segments:
        words = [
            {
                **word,
                "start": regions.original_time(word["start"]),
                "end": regions.original_time(word["end"], is_end=True),
            }
            for word in segment.get("words", [])
        ]
        start = regions.original_time(segment["start"])
        end = regions.original_time(segment["end"], is_end=True)
        retimed.append({**segment, "start": start, "end": max(start, end), "words": words})
    return retimed
