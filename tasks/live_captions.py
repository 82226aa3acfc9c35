"""Live captions: a microphone's sound as it arrives, cut into stretches of speech, each stretch transcribed once.

Gradio's own streaming demo transcribes the whole growing recording again at every chunk, so it slows down as one
talks. Here only the sound since the last finished stretch is kept: the voice-activity detector reads it at each
chunk, and a stretch that a pause has closed is transcribed once and leaves the buffer. The work per second of
speech stays the same however long one talks.

A stretch is transcribed on the session's own worker thread, not in the call that heard it: Gradio keeps only the
newest chunk of a stream that arrives while the previous one is being handled, so a call that took the second a
transcription takes would lose the sound that came meanwhile. Listening stays a matter of milliseconds; the lines
appear with the answer to a later chunk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tasks import voice_activity

SAMPLE_RATE = voice_activity.SAMPLE_RATE
# A pause this long closes a stretch: a breath between sentences. Shorter than a file's MIN_SILENCE_SECONDS, because
# the caption waits for it: this is most of the delay from the end of a sentence to its line on the screen.
PAUSE_SECONDS = 0.6
PAD_SECONDS = 0.2  # under PAUSE_SECONDS, so a closed stretch always ends before the buffer does
# A speaker who never pauses still gets a line this often (cut at the stretch's quietest moment).
LONGEST_STRETCH_SECONDS = 12.0
# Sound without speech is let go of, but the last moment of it is kept: it may hold the onset of a word.
KEPT_SILENCE_SECONDS = 0.5


@dataclass
class Captions:
    """One microphone session: the sound not yet captioned, what has been said, and when each line came."""

    sample_rate: int = 0
    pending: Any = None  # float32 samples at sample_rate, from `offset` seconds into the session
    offset: float = 0.0
    heard_seconds: float = 0.0
    language: str | None = None
    segments: list[dict] = field(default_factory=list)
    # For each transcribed stretch: where it ends in the session, its length, the pause heard after its last word
    # before it was closed, and the seconds from its last word to its line (that pause and the work).
    timings: list[dict] = field(default_factory=list)
    # One worker, so stretches are transcribed in the order they were said; the work it has not finished yet.
    worker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "live-captions"), repr=False)
    work: list[Future] = field(default_factory=list, repr=False)

    @property
    def text(self) -> str:
        return " ".join(s["text"].strip() for s in self.segments if s["text"].strip())

    def wait(self) -> None:
        """Until every stretch heard so far is transcribed."""
        while self.work:
            self.work.pop(0).result()

    def collect(self) -> None:
        """Forget the finished work, and raise the error of any stretch that failed (the model's, or the user's)."""
        for job in [job for job in self.work if job.done()]:
            self.work.remove(job)
            job.result()


Transcribe = Callable[[Any, str | None], dict]  # (16 kHz audio, language or None) -> predict()'s result


def listen(
    captions: Captions, sample_rate: int, chunk: Any, transcribe: Transcribe, threshold: float, wait: bool = False
) -> Captions:
    """Add a chunk of microphone sound; each stretch of speech a pause has closed goes to the worker to transcribe
    (and is waited for, with `wait`)."""
    import numpy as np

    captions.collect()
    received = time.perf_counter()
    chunk = _mono_float(chunk)
    if captions.pending is None or captions.sample_rate != sample_rate:
        captions.sample_rate, captions.pending = sample_rate, np.zeros(0, np.float32)
    captions.pending = np.concatenate([captions.pending, chunk])
    captions.heard_seconds += len(chunk) / sample_rate
    audio = _at_16k(captions.pending, sample_rate)
    regions = voice_activity.speech_regions(
        audio, threshold, PAUSE_SECONDS, pad_seconds=PAD_SECONDS, max_speech_seconds=LONGEST_STRETCH_SECONDS
    )
    closed = [span for span in regions.spans if span[1] < len(audio)]
    if closed:
        for start, end in closed:
            _hand_over(captions, audio, start, end, transcribe, received)
        _let_go(captions, closed[-1][1] / SAMPLE_RATE)
    elif not regions and len(audio) / SAMPLE_RATE > KEPT_SILENCE_SECONDS:
        _let_go(captions, len(audio) / SAMPLE_RATE - KEPT_SILENCE_SECONDS)
    if wait:
        captions.wait()
    return captions


def finish(captions: Captions, transcribe: Transcribe, threshold: float) -> Captions:
    """Transcribe the speech still in the buffer when the microphone stops, and wait for every line."""
    if captions.pending is None or not len(captions.pending):
        captions.wait()
        return captions
    received = time.perf_counter()
    audio = _at_16k(captions.pending, captions.sample_rate)
    regions = voice_activity.speech_regions(
        audio, threshold, PAUSE_SECONDS, pad_seconds=PAD_SECONDS, max_speech_seconds=LONGEST_STRETCH_SECONDS
    )
    for start, end in regions.spans:
        _hand_over(captions, audio, start, end, transcribe, received)
    _let_go(captions, len(audio) / SAMPLE_RATE)
    captions.wait()
    return captions


def _hand_over(captions: Captions, buffer: Any, start: int, end: int, transcribe: Transcribe, received: float) -> None:
    """The stretch [start, end) of the buffer to the worker, with where it starts on the session's clock and the
    pause heard after it (the buffer goes on changing; these do not)."""
    at = captions.offset + start / SAMPLE_RATE
    # From the last word to its line: the pause it took to close the stretch (heard in real time), then the work.
    waited = (len(buffer) - end) / SAMPLE_RATE + PAD_SECONDS
    captions.work.append(
        captions.worker.submit(_caption, captions, buffer[start:end].copy(), at, waited, transcribe, received)
    )


def _caption(captions: Captions, audio: Any, at: float, waited: float, transcribe: Transcribe, received: float) -> None:
    """A stretch transcribed, its segments timed on the session's clock (on the worker)."""
    result = transcribe(audio, captions.language)
    captions.language = captions.language or result["language"]
    for segment in result["segments"]:
        words = [{**w, "start": w["start"] + at, "end": w["end"] + at} for w in segment.get("words", [])]
        captions.segments.append(
            {**segment, "start": segment["start"] + at, "end": segment["end"] + at, "words": words}
        )
    working = time.perf_counter() - received
    captions.timings.append(
        {
            "ends_at": round(at + len(audio) / SAMPLE_RATE, 2),
            "seconds": round(len(audio) / SAMPLE_RATE, 2),
            "waited": round(waited, 3),
            "latency": round(waited + working, 3),
        }
    )


def _let_go(captions: Captions, seconds: float) -> None:
    """Drop the first `seconds` of the buffer: captioned, or no speech."""
    samples = round(seconds * captions.sample_rate)
    captions.pending = captions.pending[samples:]
    captions.offset += samples / captions.sample_rate


def _mono_float(chunk: Any) -> Any:
    """A chunk as Gradio gives it (int16 or float, mono or channels last) as mono float32 in [-1, 1]."""
    import numpy as np

    chunk = np.asarray(chunk)
    if np.issubdtype(chunk.dtype, np.integer):
        chunk = chunk.astype(np.float32) / float(np.iinfo(chunk.dtype).max + 1)
    chunk = chunk.astype(np.float32)
    return chunk.mean(axis=1) if chunk.ndim == 2 else chunk.reshape(-1)


def _at_16k(audio: Any, sample_rate: int) -> Any:
    """The buffer at 16 kHz, resampled whole (not chunk by chunk, which would click at every seam)."""
    if sample_rate == SAMPLE_RATE:
        return audio
    from math import gcd

    from scipy.signal import resample_poly

    common = gcd(SAMPLE_RATE, sample_rate)
    return resample_poly(audio, SAMPLE_RATE // common, sample_rate // common).astype("float32")
