"""A Hub that cannot be reached is tried once, said once in the log, and then stood in for at once, for a while.

Each check runs in a child process with its own environment: huggingface_hub reads HF_HUB_OFFLINE and HF_ENDPOINT
when first imported, and conftest turns offline mode on for every other test.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import NOT_CACHED_HUB_MODEL, ROOT, free_port, write_config

REQUESTS = 6
TEXT = "What a wonderful film."
HUB_LINE = re.compile(r"The Hub cannot be reached \((.+)\); using offline stand-ins for 5 minutes")


@pytest.fixture(scope="module")
def config_with_stand_in(tiny_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test config, in which the tiny model's second copy stands in for the model that is not cached."""
    folder = tmp_path_factory.mktemp("hub-offline")
    config = write_config(folder / "models.toml", tiny_models, folder / "runs")
    stand_in = f"{tiny_models['text_classification']}-copy"
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'\n[text_classification.offline]\n"{NOT_CACHED_HUB_MODEL}" = "{stand_in}"\n',
        encoding="utf-8",
    )
    return config


class HangingUpHub:
    """A "Hub" on 127.0.0.1 that notes each request's first line ("HEAD / HTTP/1.1") and hangs up without an answer."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.requests: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:  # closed
                return
            with connection:
                connection.settimeout(5)
                try:
                    self.requests.append(connection.recv(4096).decode("latin-1").partition("\r\n")[0])
                except OSError:
                    self.requests.append("")

    def requests_but_the_agent_registry(self) -> list[str]:
        # huggingface_hub's own once-a-day fetch of its list of AI agents (for its User-Agent), made once per process
        # whenever it first builds headers; it is not a model download.
        return [line for line in self.requests if not line.startswith("GET /api/agent-harnesses")]


@pytest.fixture
def hanging_up_hub():
    hub = HangingUpHub()
    yield hub
    hub.server.close()


def serve_requests(config: str, requests: int) -> None:
    """In the child: `requests` concurrent classifications with the model that is not cached, as JSON on stdout."""
    from studio.config import load_config
    from studio.runtime import Studio
    from tasks import text_classification

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    studio = Studio(load_config(config), device_override="cpu")

    def classify(ref: str) -> dict:
        loaded, note = studio.load("text_classification", ref, text_classification.load)
        return {"scores": text_classification.predict(loaded.model, [TEXT])[0], "note": note}

    with ThreadPoolExecutor(requests) as pool:
        answers = list(pool.map(classify, ["Not cached"] * requests))
    stand_in = classify("Tiny sentiment, second copy")
    print(json.dumps({"answers": answers, "stand_in": stand_in["scores"]}))


def run_requests(config: Path, tmp_path: Path, **env: str) -> tuple[dict, str]:
    """serve_requests in a child process with `env`; its JSON and its log."""
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from tests.test_hub_offline import serve_requests; serve_requests({str(config)!r}, {REQUESTS})",
        ],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub-cache"), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    return json.loads(child.stdout.strip().splitlines()[-1]), child.stderr


def assert_every_request_got_the_stand_in(result: dict) -> None:
    assert [answer["note"] for answer in result["answers"]] == ["offline: using text_classification-copy"] * REQUESTS
    assert [answer["scores"] for answer in result["answers"]] == [result["stand_in"]] * REQUESTS


def test_a_hub_that_hangs_up_is_tried_once_and_said_once(config_with_stand_in, tmp_path, hanging_up_hub):
    result, log = run_requests(config_with_stand_in, tmp_path, HF_HUB_OFFLINE="0", HF_ENDPOINT=hanging_up_hub.endpoint)
    assert_every_request_got_the_stand_in(result)
    assert hanging_up_hub.requests_but_the_agent_registry() == ["HEAD / HTTP/1.1"], (
        "one check against HF_ENDPOINT, then no request tries the Hub again"
    )
    reasons = HUB_LINE.findall(log)
    assert len(reasons) == 1, log
    assert reasons[0].startswith(hanging_up_hub.endpoint.removeprefix("http://"))
    assert "couldn't connect" not in log and "Traceback" not in log
    assert log.count(f"{NOT_CACHED_HUB_MODEL} cannot be had") == 1, log


def test_a_hub_that_refuses_connections_is_said_once_and_no_request_tries_a_download(config_with_stand_in, tmp_path):
    closed_port = free_port()
    result, log = run_requests(
        config_with_stand_in, tmp_path, HF_HUB_OFFLINE="0", HF_ENDPOINT=f"http://127.0.0.1:{closed_port}"
    )
    assert_every_request_got_the_stand_in(result)
    assert HUB_LINE.findall(log) == [f"127.0.0.1:{closed_port}: Connection refused"], log
    # A download would log each refused request as huggingface_hub retries it, for over 20 seconds.
    assert "thrown while requesting" not in log and "Retrying" not in log, log
    assert "couldn't connect" not in log and "Traceback" not in log, log


def test_offline_mode_tries_no_network_at_all(config_with_stand_in, tmp_path, hanging_up_hub):
    result, log = run_requests(config_with_stand_in, tmp_path, HF_HUB_OFFLINE="1", HF_ENDPOINT=hanging_up_hub.endpoint)
    assert_every_request_got_the_stand_in(result)
    assert hanging_up_hub.requests == []
    assert not HUB_LINE.findall(log)
    assert log.count(f"{NOT_CACHED_HUB_MODEL} cannot be had") == 1, log


def test_a_model_that_could_not_be_had_is_tried_again_after_a_while(config_with_stand_in, caplog):
    from studio.config import load_config
    from studio.hub import Remembered
    from studio.runtime import Studio
    from tasks import text_classification

    studio = Studio(load_config(config_with_stand_in), device_override="cpu")
    studio.unavailable = Remembered(seconds=0.5)
    with caplog.at_level(logging.INFO, logger="studio.runtime"):
        for _ in range(3):
            studio.load("text_classification", "Not cached", text_classification.load)
        tries = [caplog.text.count(f"{NOT_CACHED_HUB_MODEL} cannot be had")]
        time.sleep(0.6)
        _, note = studio.load("text_classification", "Not cached", text_classification.load)
        tries.append(caplog.text.count(f"{NOT_CACHED_HUB_MODEL} cannot be had"))
    assert tries == [1, 2]
    assert note == "offline: using text_classification-copy"
