"""Live captions: a microphone's sound as it arrives, cut into stretches of speech, each stretch transcribed once.

Gradio's own streaming demo transcribes the whole growing recording again at every chunk, so it slows down as one
talks. Here only the sound since the last finished stretch is kept: each chunk is resampled and read by the
voice-activity detector once, as it arrives, and a stretch that a pause has closed is transcribed once and leaves the
buffer. The work per second of speech stays the same however long one talks.

A stretch is transcribed on the session's own worker thread, not in the call that heard it: a call that took the
second a transcription takes would hold up the chunks that came meanwhile (and lose them where the app is served
without studio.streams, as Gradio keeps only a busy stream's newest chunk). Listening stays a matter of
milliseconds; the lines appear with the answer to a later chunk. A stretch too short to be heard well alone waits
for the one after it.
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
# A stretch shorter than this waits for the speech after it, unless the pause after it is long: on its own, Kennedy's
# "ask not" (1.4 s between two pauses) came out as "Is not. I'm not." in two browser runs of three; with the sentence
# that follows, as what he said.
SHORTEST_STRETCH_SECONDS = 2.0
LONG_PAUSE_SECONDS = 1.2
# A speaker who never pauses still gets a line this often (cut at the stretch's quietest moment).
LONGEST_STRETCH_SECONDS = 12.0
# Sound without speech is let go of, but the last moment of it is kept: it may hold the onset of a word.
KEPT_SILENCE_SECONDS = 0.5


@dataclass
class Captions:
    """One microphone session: the sound not yet captioned, what has been said, and when each line came."""

    sample_rate: int = 0  # the microphone's
    resampler: Any = None  # from the microphone's rate to 16 kHz, as the sound arrives (no click at chunk seams)
    detector: Any = None  # voice_activity.SpeechDetector: each 32 ms window heard once, from the session's start
    pending: Any = None  # 16 kHz float32 samples from `offset` seconds into the session, not yet captioned
    probabilities: Any = None  # the detector's, for each whole window of `pending`
    offset: float = 0.0
    heard_seconds: float = 0.0
    language: str | None = None
    segments: list[dict] = field(default_factory=list)
    shown: str = ""  # the text last sent to the page
    # For each transcribed stretch: where it ends in the session, its length, the pause heard after its last word
    # before it was closed, and the seconds from its last word to its line (that pause and the work).
    timings: list[dict] = field(default_factory=list)
    # One worker, so stretches are transcribed in the order they were said; the work it has not finished yet.
    worker: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "live-captions"), repr=False)
    work: list[Future] = field(default_factory=list, repr=False)

    @property
    def text(self) -> str:
        return " ".join(s["text"].strip() for s in self.segments if s["text"].strip())

    @property
    def buffered_seconds(self) -> float:
        """The sound kept, not yet captioned."""
        return 0.0 if self.pending is None else len(self.pending) / SAMPLE_RATE

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


def get_ready() -> None:
    """Load what listening needs (the detector's model, the resampler), so that the first chunk's call is short."""
    import numpy as np
    import soxr

    soxr.ResampleStream(48_000, SAMPLE_RATE, 1).resample_chunk(np.zeros(4_800, np.float32))
    voice_activity.SpeechDetector().hear(np.zeros(voice_activity.WINDOW, np.float32))


def prepare(captions: Captions, load: Callable[[], Any]) -> None:
    """Load the model on the worker now, so that the first stretch does not wait for it (its error, if it fails, is
    raised by the next call, as a stretch's is)."""
    captions.work.append(captions.worker.submit(load))


def listen(
    captions: Captions, sample_rate: int, chunk: Any, transcribe: Transcribe, threshold: float, wait: bool = False
) -> Captions:
    """Add a chunk of microphone sound; each stretch of speech a pause has closed goes to the worker to transcribe
    (and is waited for, with `wait`). Only the chunk is resampled and read by the detector, so a call costs the same
    however long the stretch in progress has grown."""
    captions.collect()
    received = time.perf_counter()
    _hear(captions, sample_rate, _mono_float(chunk))
    heard = len(captions.probabilities) * voice_activity.WINDOW  # the samples the detector has read
    regions = _stretches(captions, heard, threshold)
    closed = _closed(regions.spans, heard)
    if closed:
        for start, end in closed:
            _hand_over(captions, start, end, heard, transcribe, received)
        _let_go(captions, closed[-1][1])
    elif not regions and heard > KEPT_SILENCE_SECONDS * SAMPLE_RATE:
        _let_go(captions, heard - round(KEPT_SILENCE_SECONDS * SAMPLE_RATE))
    if wait:
        captions.wait()
    return captions


def finish(captions: Captions, transcribe: Transcribe, threshold: float) -> Captions:
    """Transcribe the speech still in the buffer when the microphone stops, and wait for every line."""
    import numpy as np

    if captions.pending is None:
        captions.wait()
        return captions
    received = time.perf_counter()
    if captions.resampler is not None:  # the last few samples the resampler holds back
        _add(captions, captions.resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    captions.probabilities = np.concatenate([captions.probabilities, captions.detector.finish()])
    heard = len(captions.pending)
    for start, end in _joined(_stretches(captions, heard, threshold).spans):
        _hand_over(captions, start, end, heard, transcribe, received)
    captions.pending, captions.probabilities = captions.pending[:0], captions.probabilities[:0]
    captions.offset += heard / SAMPLE_RATE
    captions.wait()
    return captions


def _hear(captions: Captions, sample_rate: int, chunk: Any) -> None:
    """A chunk at the microphone's rate into the 16 kHz buffer, and the detector's probabilities for it."""
    import numpy as np

    if captions.pending is None:
        captions.pending, captions.probabilities = np.zeros(0, np.float32), np.zeros(0, np.float32)
        captions.detector = voice_activity.SpeechDetector()
    if sample_rate != captions.sample_rate:
        import soxr

        captions.sample_rate = sample_rate
        captions.resampler = None if sample_rate == SAMPLE_RATE else soxr.ResampleStream(sample_rate, SAMPLE_RATE, 1)
    captions.heard_seconds += len(chunk) / sample_rate
    _add(captions, chunk if captions.resampler is None else captions.resampler.resample_chunk(chunk))


def _add(captions: Captions, audio: Any) -> None:
    import numpy as np

    captions.pending = np.concatenate([captions.pending, audio])
    captions.probabilities = np.concatenate([captions.probabilities, captions.detector.hear(audio)])


def _stretches(captions: Captions, heard: int, threshold: float) -> voice_activity.Regions:
    """The stretches of speech in the first `heard` samples of the buffer."""
    return voice_activity.regions_from_probabilities(
        captions.probabilities, heard, threshold, PAUSE_SECONDS, PAD_SECONDS, LONGEST_STRETCH_SECONDS
    )


def _joined(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches with each short one joined to the one after it, across a pause shorter than a long one."""
    joined: list[tuple[int, int]] = []
    for start, end in spans:
        if joined and _waits(joined[-1], start):
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _closed(spans: list[tuple[int, int]], heard: int) -> list[tuple[int, int]]:
    """The joined stretches that are over: a pause followed each (heard up to `heard`), and a short one's pause has
    grown long."""
    joined = _joined(spans)
    if joined and (joined[-1][1] >= heard or _waits(joined[-1], heard)):
        joined.pop()
    return joined


def _waits(stretch: tuple[int, int], until: int) -> bool:
    """Whether a stretch is short enough, and the pause after it up to `until` short enough, to join what follows."""
    start, end = stretch
    return end - start < SHORTEST_STRETCH_SECONDS * SAMPLE_RATE and until - end < LONG_PAUSE_SECONDS * SAMPLE_RATE


def _hand_over(captions: Captions, start: int, end: int, heard: int, transcribe: Transcribe, received: float) -> None:
    """The stretch [start, end) of the buffer to the worker, with where it starts on the session's clock and the
    pause heard after it (the buffer goes on changing; these do not)."""
    at = captions.offset + start / SAMPLE_RATE
    # From the last word to its line: the pause it took to close the stretch (heard in real time), then the work.
    waited = (heard - end) / SAMPLE_RATE + PAD_SECONDS
    audio = captions.pending[start:end].copy()
    captions.work.append(captions.worker.submit(_caption, captions, audio, at, waited, transcribe, received))


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


def _let_go(captions: Captions, samples: int) -> None:
    """Drop the buffer's first whole windows up to `samples`: captioned, or no speech. (Whole windows, so that the
    probabilities kept stay those of the windows kept.)"""
    windows = samples // voice_activity.WINDOW
    captions.pending = captions.pending[windows * voice_activity.WINDOW :]
    captions.probabilities = captions.probabilities[windows:]
    captions.offset += windows * voice_activity.WINDOW / SAMPLE_RATE


def _mono_float(chunk: Any) -> Any:
    """A chunk as Gradio gives it (int16 or float, mono or channels last) as mono float32 in [-1, 1]."""
    import numpy as np

    chunk = np.asarray(chunk)
    if np.issubdtype(chunk.dtype, np.integer):
        chunk = chunk.astype(np.float32) / float(np.iinfo(chunk.dtype).max + 1)
    chunk = chunk.astype(np.float32)
    return chunk.mean(axis=1) if chunk.ndim == 2 else chunk.reshape(-1)
