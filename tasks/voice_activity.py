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
# Silero reads 32 ms windows at 16 kHz, each with the 4 ms before it; a long recording goes in batches of windows.
WINDOW = 512
CONTEXT = 64
BATCH_WINDOWS = 10_000


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
    import numpy as np

    detector = SpeechDetector()
    probabilities = np.concatenate([detector.hear(audio), detector.finish()])
    return regions_from_probabilities(
        probabilities, len(audio), threshold, min_silence_seconds, pad_seconds, max_speech_seconds
    )


class SpeechDetector:
    """Silero VAD over sound as it arrives: each 32 ms window read once, when it is complete, with the memory of all
    the windows before it. This gives the very probabilities that reading the whole recording at once gives (Silero's
    state runs from window to window either way), at a cost per window that does not grow with the recording."""

    def __init__(self) -> None:
        import numpy as np

        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._rest = np.zeros(0, np.float32)

    def hear(self, audio: Any) -> Any:
        """Speech probabilities for the windows this 16 kHz audio completes (the rest waits for the next call)."""
        import numpy as np

        audio = np.concatenate([self._rest, np.asarray(audio, np.float32)])
        whole = len(audio) // WINDOW * WINDOW
        windows, self._rest = audio[:whole].reshape(-1, WINDOW), audio[whole:]
        heard = [np.zeros(0, np.float32)]
        for first in range(0, len(windows), BATCH_WINDOWS):
            batch = windows[first : first + BATCH_WINDOWS]
            contexts = np.concatenate([self._context[None], batch[:-1, -CONTEXT:]])
            probabilities, self._h, self._c = _silero().run(
                None, {"input": np.concatenate([contexts, batch], axis=1), "h": self._h, "c": self._c}
            )
            self._context = batch[-1, -CONTEXT:].copy()
            heard.append(probabilities.reshape(-1))
        return np.concatenate(heard)

    def finish(self) -> Any:
        """The probability for the last, incomplete window, completed with silence (none if there is none)."""
        import numpy as np

        return self.hear(np.zeros(-len(self._rest) % WINDOW, np.float32))


def regions_from_probabilities(
    probabilities: Any,
    length: int,
    threshold: float = THRESHOLD,
    min_silence_seconds: float = MIN_SILENCE_SECONDS,
    pad_seconds: float = SPEECH_PAD_SECONDS,
    max_speech_seconds: float = MAX_SPEECH_SECONDS,
) -> Regions:
    """The stretches of speech in `length` samples, from Silero's probability for each window, cut as faster-whisper
    cuts them (its get_speech_timestamps, which reads the whole recording in one call; live captions need the
    probabilities kept from call to call). Speech starts at a window over `threshold`; it ends where the probability
    fell under `threshold` - 0.15 and stayed there `min_silence_seconds`. A stretch that outgrows
    `max_speech_seconds` is cut at its last pause over 98 ms, or where it is. Each stretch is padded by
    `pad_seconds`, or by half the gap to its neighbour when they are closer than two pads."""
    low = max(threshold - 0.15, 0.01)
    pad = SAMPLE_RATE * pad_seconds
    longest = SAMPLE_RATE * max_speech_seconds - WINDOW - 2 * pad
    min_silence = SAMPLE_RATE * min_silence_seconds
    min_pause_to_cut_at = SAMPLE_RATE * 0.098
    speeches: list[list[int]] = []
    start = None  # of the stretch being heard
    silent_from = last_pause = after_pause = 0  # where the current silence began; the last pause long enough to cut
    for index, probability in enumerate(probabilities):
        at = WINDOW * index
        if probability >= threshold and silent_from:
            silent_from = 0
            if after_pause < last_pause:
                after_pause = at
        if probability >= threshold and start is None:
            start = at
            continue
        if start is not None and at - start > longest:
            if last_pause:  # cut at the last pause; go on from the speech after it, if it came back
                speeches.append([start, last_pause])
                start = None if after_pause < last_pause else after_pause
                last_pause = after_pause = silent_from = 0
            else:
                speeches.append([start, at])
                start, last_pause, after_pause, silent_from = None, 0, 0, 0
                continue
        if probability < low and start is not None:
            silent_from = silent_from or at
            if at - silent_from > min_pause_to_cut_at:
                last_pause = silent_from
            if at - silent_from < min_silence:
                continue
            if silent_from > start:
                speeches.append([start, silent_from])
            start, last_pause, after_pause, silent_from = None, 0, 0, 0
    if start is not None and length > start:
        speeches.append([start, length])
    for index, speech in enumerate(speeches):
        if index == 0:
            speech[0] = int(max(0, speech[0] - pad))
        if index < len(speeches) - 1:
            following = speeches[index + 1]
            gap = following[0] - speech[1]
            if gap < 2 * pad:
                speech[1] += int(gap // 2)
                following[0] = int(max(0, following[0] - gap // 2))
            else:
                speech[1] = int(min(length, speech[1] + pad))
                following[0] = int(max(0, following[0] - pad))
        else:
            speech[1] = int(min(length, speech[1] + pad))
    return Regions([(start, end) for start, end in speeches if end > start])


def _silero() -> Any:
    """The ONNX Runtime session of the Silero VAD v6 that faster-whisper ships (loaded once, by faster-whisper's own
    cache; one thread: it is small)."""
    from faster_whisper.vad import get_vad_model

    return get_vad_model().session


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
