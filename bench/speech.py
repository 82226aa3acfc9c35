"""Speech: real-time factor and word error rate of openai-whisper and faster-whisper, at beam sizes 1 and 5.

Both engines run the offline pack's real Whisper weights through the app's own `speech.load` / `speech.predict`,
with the app's options (timestamps on, so words are timed too), on two real voices (the Speech tab's examples:
Kennedy's 11 seconds from 1961 and 11 seconds of Harvard sentences) and on the clips the tests make with espeak-ng:
the 53-second poem and the three-minute address with long pauses. The real-time factor is transcription time
over audio time (below 1 is faster than real time); each engine first warms up at each beam size on two seconds
of speech. The second table pools each setting over all clips, to choose the app's default beam size.

    .venv/bin/python -m bench speech [-- --models pack:whisper-base --clips jfk harvard --beams 1 5 --engines ...]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from bench import common
from bench.common import Table, progress

MODELS = ("pack:whisper-tiny.en", "pack:whisper-base")
ENGINES = ("openai-whisper", "faster-whisper")  # the reference first
BEAMS = (1, 5)  # greedy (the reference), and Whisper's command-line default


def clips() -> dict[str, tuple[Callable[[], np.ndarray], str]]:
    """Clip name -> (how to get its 16 kHz int16 samples, the words it says)."""
    from tests.speech_clips import POEM, RECORDINGS, address_clip, address_parts, poem_clip, read_wav

    recorded = {name: (lambda path=path: read_wav(path), words) for name, (path, words) in RECORDINGS.items()}
    synthetic = {"poem": (poem_clip, POEM), "address": (lambda: address_clip()[0], " ".join(address_parts()))}
    return recorded | synthetic


def main(argv: list[str] | None = None) -> int:
    from studio.device import best_device
    from tasks import speech
    from tests.speech_clips import RATE, wer, words

    available = clips()
    parser = argparse.ArgumentParser(prog="python -m bench speech", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--clips", nargs="+", default=list(available), choices=list(available))
    parser.add_argument("--beams", nargs="+", type=int, default=list(BEAMS))
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    args = parser.parse_args(argv)

    common.configure_threads()
    common.start_results("speech")
    device = best_device()
    audio = {}
    for name in args.clips:
        progress(f"speech: reading the {name} clip")
        make, _ = available[name]
        audio[name] = make().astype(np.float32) / 32768
    warm_up = audio[args.clips[0]][: 2 * RATE]

    table = Table(
        f"Speech recognition on {device}: openai-whisper against faster-whisper, beam size {args.beams[0]} "
        f"against {', '.join(map(str, args.beams[1:]))}",
        ["model", "engine", "beam", "clip", "audio", "transcribe", "RTF", "× beam " + str(args.beams[0])]
        + ["speed-up", "WER", "engines differ"],
    )
    # (model, engine, beam) -> [audio seconds, transcription seconds, word errors, reference words]
    pooled: dict[tuple[str, str, int], list[float]] = {}
    for model_ref in args.models:
        reference: dict[tuple[str, int], tuple[float, str]] = {}  # (clip, beam) -> openai-whisper's RTF and text
        for engine in [e for e in ENGINES if e in args.engines]:
            progress(f"speech: loading {model_ref} with {engine}")
            model = speech.load(model_ref, device, backend=engine)
            label = f"{model.engine} ({_precision(model.engine, device)})"
            for beam in args.beams:
                speech.predict(model, warm_up, language="en", beam_size=beam)
            for name in args.clips:
                seconds = len(audio[name]) / RATE
                greedy_rtf = None
                for beam in args.beams:
                    progress(f"speech: {model_ref}, {engine}, beam {beam}, {name} ({seconds:.0f} s of audio)")
                    started = time.perf_counter()
                    result = speech.predict(model, audio[name], beam_size=beam)
                    elapsed = time.perf_counter() - started
                    rtf = elapsed / seconds
                    greedy_rtf = greedy_rtf or rtf
                    error = wer(available[name][1], result["text"])
                    if engine == ENGINES[0]:
                        reference[name, beam] = (rtf, result["text"])
                        speed_up, differ = "1.0×", "–"
                    elif (name, beam) not in reference:
                        speed_up, differ = "–", "–"
                    else:
                        speed_up = f"{reference[name, beam][0] / rtf:.1f}×"
                        differ = f"{wer(reference[name, beam][1], result['text']):.1%}"
                    table.add(
                        model_ref,
                        label,
                        str(beam),
                        name,
                        f"{seconds:.0f} s",
                        f"{elapsed:.1f} s",
                        f"{rtf:.3f}",
                        f"{rtf / greedy_rtf:.2f}×",
                        speed_up,
                        f"{error:.1%}",
                        differ,
                    )
                    spoken = len(words(available[name][1]))
                    totals = pooled.setdefault((model_ref, label, beam), [0.0, 0.0, 0.0, 0.0])
                    for i, value in enumerate((seconds, elapsed, error * spoken, spoken)):
                        totals[i] += value
                    progress(f"speech: RTF {rtf:.3f}, WER {error:.1%}: {result['text'][:300]!r}")
            del model
    table.note(
        "Decoding as the app does it: beam search of the given size at temperature 0 (beam 1: greedy), falling back "
        "to sampling at 0.2–1.0 (best of 5), compression-ratio 2.4, log-prob −1.0, no-speech 0.6, previous text as "
        "prompt, word timestamps; the language detected."
    )
    table.note(
        f"RTF: transcription time / audio time, one run after a warm-up; × beam {args.beams[0]}: this RTF / the same "
        "engine's at that beam; speed-up: openai-whisper's RTF at the same beam / this one."
    )
    table.note(
        "WER against the words spoken; engines differ: WER of faster-whisper's text against openai-whisper's at the "
        "same beam."
    )
    table.show("speech")

    summary = Table(
        f"Speech recognition on {device}, each setting pooled over the clips {', '.join(args.clips)}",
        ["model", "engine", "beam", "audio", "transcribe", "RTF", "WER"],
    )
    for (model_ref, label, beam), (seconds, elapsed, errors, spoken) in pooled.items():
        summary.add(
            model_ref,
            label,
            str(beam),
            f"{seconds:.0f} s",
            f"{elapsed:.1f} s",
            f"{elapsed / seconds:.3f}",
            f"{errors / spoken:.1%}",
        )
    summary.note("RTF: total transcription time / total audio time; WER: all word errors / all words spoken.")
    summary.show("speech")
    return 0


def _precision(engine: str, device: str) -> str:
    if engine == "faster-whisper":
        return "float16" if device.startswith("cuda") else "int8"
    return "float16" if device.startswith("cuda") else "float32"


if __name__ == "__main__":
    raise SystemExit(main())
