"""Models from a Hub mirror (HF_ENDPOINT), as users in mainland China download them: `python app.py` with
HF_ENDPOINT set fetches a model it has never seen from the mirror, files in the Hub's layout, and answers with it."""

from __future__ import annotations

import os
import subprocess
import sys

from gradio_client import Client

from tests.conftest import ROOT, free_port, wait_for_page, write_config
from tests.hub_mirror import hub_mirror

MIRRORED = "mirror-org/tiny-sentiment"


def test_a_model_the_app_has_never_seen_comes_from_the_mirror_in_hf_endpoint(tiny_models, tmp_path):
    config = write_config(tmp_path / "models.toml", tiny_models, tmp_path / "runs")
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace(f'"Tiny sentiment" = "{tiny_models["text_classification"]}"', f'"Mirrored" = "{MIRRORED}"')
    )
    port, server_log = free_port(), tmp_path / "server.log"
    with hub_mirror({MIRRORED: tiny_models["text_classification"]}) as (mirror, asked):
        environment = {**os.environ, "HF_ENDPOINT": mirror, "HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_OFFLINE": "0"}
        environment.pop("TRANSFORMERS_OFFLINE", None)
        with server_log.open("w") as output:
            server = subprocess.Popen(
                [sys.executable, "app.py", "--config", str(config), "--port", str(port)],
                cwd=ROOT,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for_page(f"{url}config", timeout_s=120)
            result = Client(url, verbose=False).predict("What a lovely film", "Mirrored", api_name="/classify_text")
        finally:
            server.terminate()
            server.wait(timeout=30)
    log = server_log.read_text()
    assert {c["label"] for c in result["confidences"]} == {"POSITIVE", "NEGATIVE"}, log
    downloads = [request for request in asked if request.startswith("GET /mirror-org/tiny-sentiment/resolve/")]
    assert {request.rsplit("/", 1)[-1] for request in downloads} >= {"config.json", "model.safetensors"}, asked
    assert (tmp_path / "hf-home" / "hub" / "models--mirror-org--tiny-sentiment").is_dir()
