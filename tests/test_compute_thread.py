"""Every forward pass the app serves runs on the one compute thread (studio/compute.py says why)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from gradio_client import handle_file

from studio import compute
from tests.conftest import ROOT


@pytest.fixture
def forward_threads(monkeypatch):
    """The names of the threads that called a PyTorch module while the test ran."""
    import torch

    names: set[str] = set()
    call = torch.nn.Module.__call__

    def recording(module, *args, **kwargs):
        names.add(threading.current_thread().name)
        return call(module, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "__call__", recording)
    return names


def test_every_tab_computes_on_the_compute_thread(client, assets, forward_threads):
    client.predict("What a great movie!", api_name="/classify_text")
    client.predict("A match report.", "sport, politics", api_name="/classify_text_zero_shot")
    client.predict("Angela Merkel met Emmanuel Macron in Berlin.", api_name="/recognize_entities")
    client.predict("Hello world. How are you?", api_name="/translate")
    client.predict(handle_file(str(assets / "crossword.png")), api_name="/classify_image")
    assert forward_threads == {"compute"}


def test_a_transcription_decodes_in_its_own_thread_so_it_holds_up_no_other_tab(client, assets, forward_threads):
    """openai-whisper's language detection is one short pass on the compute thread; the decoding, an hour long for
    an hour of audio, runs in a thread of its own that ends with it."""
    client.predict(handle_file(str(assets / "speech_jfk.wav")), api_name="/transcribe")
    assert forward_threads == {"compute", "transcribe_openai_whisper"}


def test_the_compute_thread_returns_results_and_raises_errors_in_the_caller():
    assert compute.run(lambda: threading.current_thread().name) == "compute"
    assert compute.run(lambda: compute.run(lambda: 7) * 6) == 42  # a nested call runs inline, not deadlocked
    with pytest.raises(ValueError, match="bad input"):
        compute.run(lambda: (_ for _ in ()).throw(ValueError("bad input")))


def test_a_load_runs_in_a_thread_that_ends():
    seen = {}

    def load():
        seen["thread"] = threading.current_thread()
        return "model"

    assert compute.in_own_thread(load) == "model"
    assert seen["thread"] is not threading.current_thread()
    assert not seen["thread"].is_alive()


def test_starting_the_compute_thread_makes_the_interpreter_hand_over_promptly():
    compute.run(lambda: None)
    assert sys.getswitchinterval() <= compute.SWITCH_INTERVAL_S


def test_the_app_loads_ctranslate2_before_pytorch():
    """Loaded after PyTorch, CTranslate2's OpenMP calls bind to PyTorch's runtime and throttle every forward pass
    once faster-whisper has transcribed (studio/compute.py): `python app.py` must load it first."""
    script = "import sys, app, torch; n = list(sys.modules); print(n.index('ctranslate2') < n.index('torch'))"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "True", done.stderr[-2000:]
