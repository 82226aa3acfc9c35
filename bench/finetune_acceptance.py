"""The Fine-tune tab's promise, measured: ~1,000 real news texts in 5 topics, all defaults, no network.

Starts the app exactly as `make run` does (models.toml, HF_HUB_OFFLINE=1), uploads the CSV to /finetune
with every setting left at its default, then classifies new text with the model it returns.
Run from the repo root: `.venv/bin/python -m bench.finetune_acceptance`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEW_TEXTS = {
    "sport": "The striker scored twice in the second half as United came from behind to win the cup final.",
    "business": "Shares in the bank fell sharply after it reported a drop in quarterly profits and cut its dividend.",
    "tech": "The new phone has a faster chip, a better camera and software updates for seven years.",
    "politics": "The prime minister faced questions in parliament about the government's plans for taxes.",
    "entertainment": "The film won three awards at the festival, including best actress for her role as a singer.",
}


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from gradio_client import Client, handle_file

    from bench.common import free_port
    from finetune.news_sample import bbc_news, write_csv

    work = Path(tempfile.mkdtemp(prefix="finetune-acceptance-"))
    data = write_csv(work / "bbc_news.csv", bbc_news(per_topic=200, seed=0))
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    config = work / "models.toml"
    config.write_text((ROOT / "models.toml").read_text().replace('runs_dir = "runs"', f'runs_dir = "{work / "runs"}"'))
    server = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port), "--config", str(config)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/")
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        started = time.perf_counter()
        job = client.submit(handle_file(str(data)), api_name="/finetune")
        status, _curve, metrics, _confusion, _mistakes, _zip, model_name, _ = job.result(timeout=3600)
        seconds = time.perf_counter() - started
        losses = [u[0] for u in job.outputs() if u and isinstance(u[0], str) and u[0].startswith("Step ")]
        print(f"rows: 1,000 (200 per topic); wall time from upload to deployed model: {seconds:.0f} s")
        print(f"progress updates seen: {len(losses)}; first: {losses[0] if losses else '-'}")
        print(f"last: {losses[-1] if losses else '-'}")
        print(status)
        print(metrics)
        print("\n| new text (true topic) | predicted | confidence |\n|---|---|---|")
        for topic, text in NEW_TEXTS.items():
            result = client.predict(text, model_name, api_name="/classify_text")
            print(f"| {topic} | {result['label']} | {result['confidences'][0]['confidence']:.2f} |")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


if __name__ == "__main__":
    main()
