"""Speech: real-time factor and word error rate of openai-whisper and faster-whisper on the tests' clips.

Both engines run the offline pack's real Whisper weights through the app's own `speech.load` / `speech.predict`,
with the app's options (timestamps on, so words are timed too), on the clips the tests make with espeak-ng:
the 53-second poem and the three-minute address with long pauses. The real-time factor is transcription time
over audio time (below 1 is faster than real time); each engine first warms up on two seconds of the clip.

    .venv/bin/python -m bench speech [-- --models pack:whisper-base --clips poem]
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


def clips() -> dict[str, tuple[Callable[[], np.ndarray], str]]:
    """Clip name -> (how to make its 16 kHz int16 samples, the words it says)."""
    from tests.speech_clips import POEM, address_clip, address_parts, poem_clip

    return {"poem": (poem_clip, POEM), "address": (lambda: address_clip()[0], " ".join(address_parts()))}


def main(argv: list[str] | None = None) -> int:
    from studio.device import best_device
    from tasks import speech
    from tests.speech_clips import RATE, wer

    available = clips()
    parser = argparse.ArgumentParser(prog="python -m bench speech", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--clips", nargs="+", default=list(available), choices=list(available))
    args = parser.parse_args(argv)

    common.configure_threads()
    common.start_results("speech")
    device = best_device()
    audio = {}
    for name in args.clips:
        progress(f"speech: synthesizing the {name} clip")
        make, _ = available[name]
        audio[name] = make().astype(np.float32) / 32768

    table = Table(
        f"Speech recognition on {device}: openai-whisper against faster-whisper",
        ["model", "engine", "clip", "audio", "load", "transcribe", "RTF", "speed-up", "WER", "engines differ"],
    )
    for model_ref in args.models:
        reference: dict[str, tuple[float, str]] = {}
        for engine in ENGINES:
            progress(f"speech: loading {model_ref} with {engine}")
            started = time.perf_counter()
            model = speech.load(model_ref, device, backend=engine)
            load_seconds = time.perf_counter() - started
            for name in args.clips:
                seconds = len(audio[name]) / RATE
                speech.predict(model, audio[name][: 2 * RATE], language="en")
                progress(f"speech: {model_ref}, {engine}, {name} ({seconds:.0f} s of audio)")
                started = time.perf_counter()
                result = speech.predict(model, audio[name])
                elapsed = time.perf_counter() - started
                rtf = elapsed / seconds
                error = wer(available[name][1], result["text"])
                if engine == ENGINES[0]:
                    reference[name] = (rtf, result["text"])
                    speed_up, differ = "1.0×", "–"
                else:
                    speed_up = f"{reference[name][0] / rtf:.1f}×"
                    differ = f"{wer(reference[name][1], result['text']):.1%}"
                table.add(
                    model_ref,
                    f"{model.engine} ({_precision(model.engine, device)})",
                    name,
                    f"{seconds:.0f} s",
                    f"{load_seconds:.1f} s",
                    f"{elapsed:.1f} s",
                    f"{rtf:.3f}",
                    speed_up,
                    f"{error:.1%}",
                    differ,
                )
                progress(f"speech: RTF {rtf:.3f}, WER {error:.1%}")
            del model
    table.note(common.machine())
    table.note(
        "Decoding as the app does it: greedy, temperature fallback 0.0–1.0 (best of 5), compression-ratio 2.4, "
        "log-prob −1.0, no-speech 0.6, previous text as prompt, word timestamps; the language detected."
    )
    table.note(
        "RTF: transcription time / audio time, one run after a warm-up; speed-up: the reference's RTF / this one."
    )
    table.note(
        "WER against the text espeak-ng read; engines differ: WER of faster-whisper's text against openai-whisper's."
    )
    table.show("speech")
    return 0


def _precision(engine: str, device: str) -> str:
    if engine == "faster-whisper":
        return "float16" if device.startswith("cuda") else "int8"
    return "float16" if device.startswith("cuda") else "float32"


if __name__ == "__main__":
    raise SystemExit(main())
