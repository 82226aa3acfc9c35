"""Shared fixtures: tiny random models in the real on-disk formats, a config pointing at them, a live app."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Nothing in the tests may reach the Hub: fail fast instead of retrying for half a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

NOT_CACHED_HUB_MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.tiny_models import build_all

    models = build_all(tmp_path_factory.mktemp("tiny-models"))
    copy = Path(f"{models['text_classification']}-copy")
    shutil.copytree(models["text_classification"], copy)
    return models


def write_config(path: Path, models: dict[str, Path], runs_dir: Path, extra: str = "") -> Path:
    """A models.toml whose defaults are the tiny models, plus one Hub model that is not cached."""
    path.write_text(
        f"""
[app]
max_loaded_models = 8
max_text_chars = 20000
runs_dir = "{runs_dir}"
{extra}

[text_classification]
default = "{models["text_classification"]}"
[text_classification.choices]
"Tiny sentiment" = "{models["text_classification"]}"
"Not cached" = "{NOT_CACHED_HUB_MODEL}"
"Tiny sentiment, second copy" = "{models["text_classification"]}-copy"

[ner]
default = "{models["ner"]}"

[translation]
default = "{models["translation"]}"
[translation.choices]
"English → German (tiny)" = "{models["translation"]}"

[speech]
default = "{models["speech"]}"

[image_classification]
default = "{models["image_classification"]}"

[finetune]
default = "{models["text_classification"]}"
[finetune.choices]
"Tiny BERT" = "{models["text_classification"]}"
"MiniLM-L6 (offline pack)" = "pack:minilm-l6"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def config_file(tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("config")
    return write_config(folder / "models.toml", tiny_models, folder / "runs")


@pytest.fixture(scope="session")
def live_app(config_file: Path):
    """The real app, built from the test config and serving HTTP on a free port."""
    import app
    from studio.config import load_config

    demo, studio = app.build_app(load_config(config_file))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", studio
    demo.close()


@pytest.fixture(scope="session")
def client(live_app):
    from gradio_client import Client

    url, _ = live_app
    return Client(url, verbose=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_page(url: str, timeout_s: float) -> str:
    """The page at `url` once a starting server answers it."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="session")
def assets() -> Path:
    return ROOT / "assets"
