"""Entity fine-tuning, measured: entity F1 of MiniLM-L6 (offline pack) trained through the CLI on real sentences.

News: 2,000 BBC News sentences tagged PERSON/ORG/GPE by spaCy en_core_web_sm, scored on 500 sentences of other
articles (--validation); WNUT-16: its 2,394 tweets, 10 types, our own seeded 80/20 split (--val-split 0.2).
Each run is `python -m finetune --task entities ...` in a subprocess; "tab F1" scores what the Named entities tab
shows for the held-out sentences (tasks.ner.load + predict on the saved folder), character spans exact.
Run from the repo root: `.venv/bin/python -m bench.finetune_entities [--runs news:default:default,wnut:3e-4:5]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# data:learning rate:epochs, "default" leaving the CLI's own value.
RUNS = ("news:default:default", "news:1e-4:default", "news:5e-4:default", "wnut:default:default")
NEWS_TRAIN, NEWS_HELD_OUT = 2000, 500
HEADER = (
    "| data | learning rate | epochs (best) | entity F1 | precision | recall | word acc | tab F1 | F1 per epoch "
    "| wall s | samples/s |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated data:learning-rate:epochs")
    parser.add_argument("--model", default="pack:minilm-l6")
    parser.add_argument("--work", default=None, help="folder for the data and runs (default: a new temp folder)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="finetune-entities-"))
    work.mkdir(parents=True, exist_ok=True)
    files = _data(work, {run.split(":")[0] for run in args.runs.split(",")})
    print(f"data and runs in {work}; base model {args.model}\n", flush=True)
    print(HEADER, flush=True)
    for i, run in enumerate(args.runs.split(",")):
        source, lr, epochs = run.split(":")
        output = work / f"run-{i}-{source}-{lr}-{epochs}"
        command = [sys.executable, "-m", "finetune", "--task", "entities", "--model", args.model]
        command += ["--data", str(files[source]["train"]), "--output", str(output), "--progress", "jsonl"]
        command += ["--validation", str(files[source]["validation"])] if "validation" in files[source] else []
        command += [] if lr == "default" else ["--learning-rate", lr]
        command += [] if epochs == "default" else ["--epochs", epochs]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=_env())
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(f"| {source} | {lr} | {epochs} | failed: {done.stderr.strip().splitlines()[-1:]} |", flush=True)
            continue
        print(_row(source, output, wall), flush=True)


def _data(work: Path, sources: set[str]) -> dict[str, dict[str, Path]]:
    from finetune.entity_sample import silver_news, wnut16, write_conll

    files: dict[str, dict[str, Path]] = {}
    if "news" in sources:
        started = time.perf_counter()
        # Sentences come article by article, so the held-out 500 are from other articles than the 2,000.
        sentences = silver_news(NEWS_TRAIN + NEWS_HELD_OUT, seed=0)
        files["news"] = {
            "train": write_conll(work / "news_train.conll", sentences[:NEWS_TRAIN]),
            "validation": write_conll(work / "news_held_out.conll", sentences[NEWS_TRAIN:]),
        }
        print(f"silver news: {len(sentences)} sentences tagged in {time.perf_counter() - started:.0f} s", flush=True)
    if "wnut" in sources:
        files["wnut"] = {"train": write_conll(work / "wnut16.conll", wnut16())}
    return files


def _row(source: str, output: Path, wall: float) -> str:
    result = json.loads((output / "metrics.json").read_text())
    m = result["metrics"]
    events = [json.loads(line) for line in (output / "training_log.jsonl").read_text().splitlines()]
    evals = [e for e in events if e["event"] == "eval"]
    best = max(evals, key=lambda e: e["f1"])["epoch"]  # the epoch kept, as train.py keeps it
    curve = " ".join(f"{e['f1']:.3f}" for e in evals)
    lr = result["config"]["learning_rate"]
    return (
        f"| {source} | {lr:g} | {len(evals)} ({best}) | **{m['f1']:.3f}** | {m['precision']:.3f} | {m['recall']:.3f} "
        f"| {m['token_accuracy']:.3f} | {_tab_f1(output, result):.3f} | {curve} | {wall:.0f} "
        f"| {result['samples_per_second']:.1f} |"
    )


def _tab_f1(output: Path, result: dict) -> float:
    """Exact-span F1 of what the Named entities tab finds in the validation sentences, joined by spaces."""
    from studio.files.tagged import entity_spans, read_sentences
    from tasks import ner

    config = result["config"]
    data = read_sentences(config["validation"]) if config["validation"] else None
    if data is None:
        from finetune.entities import split

        data = split(read_sentences(config["data"]), config["val_split"], config["seed"])[1]
    recognizer = ner.load(str(output), "cpu")
    texts, truth = [], []
    for words, tags in zip(data.words, data.tags):
        starts, position = [], 0
        for word in words:
            starts.append(position)
            position += len(word) + 1
        texts.append(" ".join(words))
        truth.append({(starts[a], starts[b - 1] + len(words[b - 1]), kind) for kind, a, b in entity_spans(tags)})
    found = [
        {(e["start"], e["end"], e["entity_group"]) for e in entities}
        for i in range(0, len(texts), 32)
        for entities in ner.predict(recognizer, texts[i : i + 32])
    ]
    hits = sum(len(t & f) for t, f in zip(truth, found))
    predicted, wanted = sum(map(len, found)), sum(map(len, truth))
    return 2 * hits / max(1, predicted + wanted)


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}


if __name__ == "__main__":
    main()
