"""Speech that keeps up, measured: silence and music skipped, and live captions whose cost stays flat.

1. Invented words: Kennedy, 30 s of music (plucked tones), the Harvard sentences, 40 s of faint hiss, through the
   pack's Whisper base on both engines, with skipping silence off and on: words heard against words said, the word
   error rate, and the time.
2. Live captions: the two real voices taking turns for five minutes, sent in half-second pieces at 48 kHz as a
   browser sends them (as fast as they are taken, not in real time), through the Speech tab's live-captions code
   with the pack's Whisper base (faster-whisper, int8). For each stretch of speech: the delay from its last word to
   its line (the pause that closes it, heard in real time, plus the work), first minute against last. The baseline
   is what Gradio's streaming demo does, the whole recording so far transcribed again at each piece: its cost at
   one and at five minutes.

    .venv/bin/python -m bench live_speech
    .venv/bin/python -m bench live_speech -- --minutes 2     # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bench.common import Table, progress, start_results

NAME = "live_speech"


def invented_words() -> None:
    from tasks import speech
    from tests.speech_clips import HARVARD, JFK, talk_with_music_and_hiss, wer, words

    audio, _, hiss_at = talk_with_music_and_hiss()
    reference = f"{JFK} {HARVARD}"
    table = Table(
        f"Skip silence: {len(audio) / 16000:.0f} s of two real voices, 30 s of music and 40 s of hiss "
        f"({len(words(reference))} words said), the pack's Whisper base",
        ["engine", "skip silence", "words heard", "invented", "WER", "WER over the speech", "time", "vs heard all"],
    )
    for engine in speech.ENGINES:
        model = speech.load("pack:whisper-base", "cpu", backend=engine)
        speech.predict(model, audio[: 5 * 16000], skip_silence=False)  # warm up
        base_s = None
        for skip in (False, True):
            progress(f"{engine}, skip silence {skip}")
            started = time.perf_counter()
            result = speech.predict(model, audio, word_timestamps=True, skip_silence=skip)
            seconds = time.perf_counter() - started
            base_s = base_s or seconds
            over_speech = " ".join(s["text"] for s in result["segments"] if s["start"] < hiss_at)
            heard = len(words(result["text"]))
            table.add(
                engine, "on" if skip else "off", heard, max(0, heard - len(words(reference))),
                f"{wer(reference, result['text']):.1%}", f"{wer(reference, over_speech):.1%}",
                f"{seconds:.1f} s", f"{seconds / base_s:.2f}×",
            )  # fmt: skip
    table.note(
        "invented: words heard beyond those said; WER over the speech: only segments that start before the hiss."
    )
    table.show(NAME)


def live_captions(minutes: float) -> None:
    from scipy.signal import resample_poly

    from tasks import live_captions, speech
    from tests.speech_clips import conversation, wer

    talk, reference = conversation(minutes)
    at_48k = resample_poly(talk.astype(np.float32), 3, 1).clip(-32768, 32767).astype(np.int16)
    model = speech.load("pack:whisper-base", "cpu")
    file_started = time.perf_counter()
    whole = speech.predict(model, talk.astype(np.float32) / 32768)
    file_s = time.perf_counter() - file_started

    def transcribe(audio: np.ndarray, language: str | None) -> dict:
        return speech.predict(
            model,
            audio,
            language=language,
            word_timestamps=True,
            beam_size=speech.LIVE_BEAM_SIZE,
            skip_silence=False,
            temperatures=speech.LIVE_TEMPERATURES,
        )

    progress(f"live captions over {len(talk) / 16000:.0f} s")
    captions = live_captions.Captions()
    piece = round(speech.LIVE_CHUNK_SECONDS * 48_000)
    piece_costs: list[tuple[float, float]] = []  # (seconds into the talk, seconds of work)
    listening: list[float] = []  # the stream's own call: the transcription is the worker's
    for start in range(0, len(at_48k), piece):
        started = time.perf_counter()
        live_captions.listen(captions, 48_000, at_48k[start : start + piece], transcribe, 0.5)
        listening.append(time.perf_counter() - started)
        captions.wait()
        piece_costs.append((start / 48_000, time.perf_counter() - started))
    live_captions.finish(captions, transcribe, 0.5)
    stretches, talk_s = captions.timings, len(talk) / 16000
    first = [s for s in stretches if s["ends_at"] <= 60]
    last = [s for s in stretches if s["ends_at"] > talk_s - 60]

    table = Table(
        f"Live captions: {len(talk) / 16000:.0f} s of two real voices in {speech.LIVE_CHUNK_SECONDS} s pieces at "
        "48 kHz, the pack's Whisper base (faster-whisper, int8, greedy)",
        ["", "stretches", "median delay, last word to line", "worst delay", "median work per stretch", "WER"],
    )
    for label, group in (("first minute", first), ("last minute", last)):
        work = [s["latency"] - s["waited"] for s in group]
        table.add(
            label, len(group), f"{statistics.median(s['latency'] for s in group):.2f} s",
            f"{max(s['latency'] for s in group):.2f} s", f"{statistics.median(work):.2f} s", "",
        )  # fmt: skip
    table.add("whole talk", len(stretches), "", "", "", f"{wer(reference, captions.text):.1%}")
    table.add("the file at once (beam 5)", "", "", "", f"{file_s:.1f} s in all", f"{wer(reference, whole['text']):.1%}")
    per_minute = [
        statistics.mean(cost for at, cost in piece_costs if m * 60 <= at < (m + 1) * 60)
        for m in range(int(talk_s // 60))
    ]
    table.note(
        f"work per {speech.LIVE_CHUNK_SECONDS} s piece, mean per minute: "
        + ", ".join(f"{1000 * c:.0f} ms" for c in per_minute)
        + "."
    )
    table.note(
        "listening (the stream's call, which must answer before the next chunk comes), median / 99th percentile / "
        "most: " + " / ".join(f"{1000 * c:.1f} ms" for c in np.percentile(listening, [50, 99, 100])) + "."
    )
    for seconds in (60, 300):
        if len(talk) / 16000 >= seconds:
            progress(f"baseline: the first {seconds} s transcribed again")
            started = time.perf_counter()
            speech.predict(model, talk[: seconds * 16000].astype(np.float32) / 32768, beam_size=1, skip_silence=False)
            table.note(
                f"Baseline (the whole recording so far again, at each piece): {time.perf_counter() - started:.1f} s "
                f"per piece at {seconds // 60} min, against {speech.LIVE_CHUNK_SECONDS} s of sound per piece."
            )
    table.show(NAME)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=5.0, help="length of the live-captions talk")
    args = p.parse_args(argv)
    start_results(NAME)
    invented_words()
    live_captions(args.minutes)


if __name__ == "__main__":
    main()
