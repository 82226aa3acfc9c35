"""The Fine-tune tab's promise, measured: real labelled data, every setting at its default, no network.

Starts the app exactly as `make run` does (models.toml, HF_HUB_OFFLINE=1), uploads each data set to the tab's API
with every setting left at its default, and reports the held-out score, the wall time from upload to a deployed
model, and what the new model says in its own tab:

- text: ~1,000 BBC News texts in 5 topics (/finetune, 20% split off for validation);
- image: Fashion-MNIST, 2,000 training pictures and 1,000 held-out ones from its test set (/finetune_images);
- news-entities: 2,000 BBC News sentences tagged PERSON/ORG/GPE by spaCy, 500 held-out sentences of other
  articles (/finetune_entities);
- wnut: WNUT-16's 2,394 tweets with 10 entity types, the default 80/20 split (/finetune_entities).

Run from the repo root: `.venv/bin/python -m bench.finetune_acceptance [--tasks text,image,news-entities,wnut]`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NEW_TEXTS = {
    "sport": "The striker scored twice in the second half as United came from behind to win the cup final.",
    "business": "Shares in the bank fell sharply after it reported a drop in quarterly profits and cut its dividend.",
    "tech": "The new phone has a faster chip, a better camera and software updates for seven years.",
    "politics": "The prime minister faced questions in parliament about the government's plans for taxes.",
    "entertainment": "The film won three awards at the festival, including best actress for her role as a singer.",
}
NEW_SENTENCE = "Angela Merkel met executives of Siemens in Munich before flying to Washington with Olaf Scholz."


def main() -> None:
    run_acceptance(__doc__, {"text": _text, "image": _image, "news-entities": _news_entities, "wnut": _wnut})


def run_acceptance(description: str, runs: dict[str, Callable[[Any, Path], None]]) -> None:
    """Parse --tasks (default: all of `runs`), start the app, and run each chosen one against it."""
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(runs), help=f"comma-separated, of {', '.join(runs)}")
    args = parser.parse_args()
    tasks = [task.strip() for task in args.tasks.split(",") if task.strip()]
    unknown = sorted(set(tasks) - set(runs))
    if unknown:
        parser.error(f"unknown task {', '.join(unknown)}; choose from {', '.join(runs)}")
    work = Path(tempfile.mkdtemp(prefix="acceptance-"))
    with running_app(work) as client:
        for task in tasks:
            print(f"\n## {task}\n", flush=True)
            runs[task](client, work)


@contextlib.contextmanager
def running_app(work: Path) -> Iterator[Any]:
    """The app as `make run` starts it (models.toml, no network), its runs in `work`; a client of it."""
    from gradio_client import Client

    from bench.common import free_port

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
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _text(client, work: Path) -> None:
    from gradio_client import handle_file

    from finetune.news_sample import bbc_news, write_csv

    data = write_csv(work / "bbc_news.csv", bbc_news(per_topic=200, seed=0))
    model_name = train(client, "/finetune", "rows: 1,000 (200 per topic)", handle_file(str(data)))
    print("\n| new text (true topic) | predicted | confidence |\n|---|---|---|")
    for topic, text in NEW_TEXTS.items():
        result = client.predict(text, model_name, api_name="/classify_text")
        print(f"| {topic} | {result['label']} | {result['confidences'][0]['confidence']:.2f} |")


def _image(client, work: Path) -> None:
    import zipfile

    from gradio_client import handle_file

    from finetune.fashion_sample import fashion_mnist, write_zip

    training = write_zip(work / "fashion_train.zip", fashion_mnist(200, "train", seed=0))
    held_out = write_zip(work / "fashion_held_out.zip", fashion_mnist(100, "test", seed=0))
    model_name = train(
        client,
        "/finetune_images",
        "pictures: 2,000 training (200 per class), 1,000 held out (100 per class, Fashion-MNIST's test set)",
        handle_file(str(training)),
        validation_zip=handle_file(str(held_out)),
    )
    with zipfile.ZipFile(held_out) as archive:
        name = archive.namelist()[0]
        picture = work / "held_out_picture.png"
        picture.write_bytes(archive.read(name))
    result = client.predict(handle_file(str(picture)), model_name, api_name="/classify_image")
    print(f"\nheld-out picture of class {name.split('/')[-2]}: /classify_image says {result['label']}")


def _news_entities(client, work: Path) -> None:
    from gradio_client import handle_file

    from finetune.entity_sample import silver_news, write_conll

    sentences = silver_news(2500, seed=0)
    training = write_conll(work / "news_train.conll", sentences[:2000])
    held_out = write_conll(work / "news_held_out.conll", sentences[2000:])
    model_name = train(
        client,
        "/finetune_entities",
        "sentences: 2,000 training, 500 held out (later articles), spaCy's PERSON/ORG/GPE as silver labels",
        handle_file(str(training)),
        validation_file=handle_file(str(held_out)),
    )
    _show_entities(client, model_name)


def _wnut(client, work: Path) -> None:
    from gradio_client import handle_file

    from finetune.entity_sample import wnut16, write_conll

    data = write_conll(work / "wnut16.conll", wnut16())
    model_name = train(client, "/finetune_entities", "tweets: 2,394, 80/20 split", handle_file(str(data)))
    _show_entities(client, model_name)


def train(client, api_name: str, what: str, upload, **settings) -> str:
    """Fine-tune in the tab with `settings` (every other one at its default); the new model's name."""
    started = time.perf_counter()
    job = client.submit(upload, api_name=api_name, **settings)
    status, _curve, metrics, *_rest, model_name, _ = job.result(timeout=7200)
    seconds = time.perf_counter() - started
    steps = [u[0] for u in job.outputs() if u and isinstance(u[0], str) and u[0].startswith("Step ")]
    print(f"{what}; wall time from upload to deployed model: {seconds:.0f} s")
    print(f"progress updates seen: {len(steps)}; last: {steps[-1] if steps else '-'}")
    print(status)
    print(metrics, flush=True)
    return model_name


def _show_entities(client, model_name: str) -> None:
    _highlighted, entities = client.predict(NEW_SENTENCE, model_name, api_name="/recognize_entities")
    found = ", ".join(f"{NEW_SENTENCE[e['start'] : e['end']]} {e['entity_group']}" for e in entities) or "nothing"
    print(f"\nnew sentence: {NEW_SENTENCE}\n/recognize_entities finds: {found}", flush=True)


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
