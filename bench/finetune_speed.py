"""Fine-tuning speed: `python -m finetune` against a stock transformers `Trainer` that pads to max length.

Same base model (MiniLM-L6 from the offline pack), same data, epochs, batch size, learning rate, warmup,
weight decay, gradient clipping and seed; both evaluate after every epoch. The data is real (BBC News, five
topics) with each text cut to a seeded random length, so padding costs what it costs on real data. Each side
runs as its own process and reports JSON events on stdout; this script timestamps them as they arrive, so
both are timed the same way.

    .venv/bin/python -m bench finetune [--per-topic 50 --val-per-topic 30 --epochs 2 --max-length 256]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import common
from bench.common import Table, progress

SPEEDUP_GOAL = 1.3
ACCURACY_TOLERANCE = 0.01


def write_data(folder: Path, per_topic: int, val_per_topic: int, seed: int) -> tuple[Path, Path, int, int]:
    """Train and validation CSVs of BBC News, each text cut to a log-uniform random length (80-3000 chars)."""
    from finetune.news_sample import bbc_news, write_csv

    rows = bbc_news(per_topic=per_topic + val_per_topic, seed=seed, max_chars=None)
    rng = random.Random(seed)
    rows = [{"text": common.cut_text(r["text"], rng, 80, 3000), "label": r["label"]} for r in rows]
    seen: Counter = Counter()
    train, val = [], []
    for row in rows:
        (train if seen[row["label"]] < per_topic else val).append(row)
        seen[row["label"]] += 1
    return write_csv(folder / "train.csv", train), write_csv(folder / "val.csv", val), len(train), len(val)


def run_side(command: list[str], log: Path) -> dict:
    """Run one side; every JSON event it prints, stamped with seconds since the process started."""
    started = time.perf_counter()
    events = []
    with log.open("w", encoding="utf-8") as errors:
        process = subprocess.Popen(
            command,
            cwd=common.ROOT,
            env=common.bench_env(TOKENIZERS_PARALLELISM="false"),
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        for line in process.stdout:
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            event["at"] = time.perf_counter() - started
            events.append(event)
            if event.get("event") in {"eval", "done", "start"}:
                progress(f"finetune: {command[2] if len(command) > 2 else ''} {event['event']} at {event['at']:.0f} s")
        process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{log.read_text()[-3000:]}")
    return {"events": events, "wall": time.perf_counter() - started}


def summarise(events: list[dict], train_rows: int) -> dict:
    """Training time without the evaluations, samples/second, and accuracy after each epoch."""
    start = next(e["at"] for e in events if e["event"] == "start")
    evals = [e for e in events if e["event"] == "eval"]
    steps = [e for e in events if e["event"] == "step"]
    train_time, epoch_start = 0.0, start
    for evaluation in evals:
        last_step = max(s["at"] for s in steps if s["at"] <= evaluation["at"])
        train_time += last_step - epoch_start
        epoch_start = evaluation["at"]
    return {
        "train_seconds": train_time,
        "samples_per_second": train_rows * len(evals) / train_time,
        "accuracies": [(e["at"], e["accuracy"]) for e in evals],
        "steps": len(steps),
    }


def stock_trainer(args: argparse.Namespace) -> int:
    """The baseline: tokenize with padding="max_length", then the stock Trainer, printing JSON events."""
    import csv

    import numpy as np
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        set_seed,
    )

    from studio.hf import local_or_hub

    def emit(event: dict) -> None:
        print(json.dumps(event), flush=True)

    def read(path: str) -> tuple[list[str], list[str]]:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        return [r["text"] for r in rows], [r["label"] for r in rows]

    set_seed(args.seed)
    source = local_or_hub(args.model)
    train_texts, train_labels = read(args.data)
    val_texts, val_labels = read(args.validation)
    names = sorted(set(train_labels))
    label2id = {name: i for i, name in enumerate(names)}
    tokenizer = AutoTokenizer.from_pretrained(source)

    def encode(texts: list[str], labels: list[str]) -> list[dict]:
        encoded = tokenizer(texts, padding="max_length", truncation=True, max_length=args.max_length)
        return [
            {"input_ids": i, "attention_mask": m, "labels": label2id[label]}
            for i, m, label in zip(encoded["input_ids"], encoded["attention_mask"], labels)
        ]

    model = AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=len(names), id2label=dict(enumerate(names)), label2id=label2id
    )

    class Events(TrainerCallback):
        def on_train_begin(self, *_, **__):
            emit({"event": "start"})

        def on_step_end(self, _args, state, *_, **__):
            emit({"event": "step", "step": state.global_step})

        def on_evaluate(self, _args, state, _control, metrics=None, **__):
            emit({"event": "eval", "epoch": state.epoch, "accuracy": metrics["eval_accuracy"]})

    def accuracy(prediction) -> dict:
        return {"accuracy": float((np.argmax(prediction.predictions, -1) == prediction.label_ids).mean())}

    training_args = TrainingArguments(
        output_dir=args.output,
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size * 2,
        learning_rate=args.learning_rate,
        weight_decay=0.01,
        warmup_steps=0.1,  # a fraction below 1: 10% of the steps, as python -m finetune warms up
        max_grad_norm=1.0,
        eval_strategy="epoch",
        save_strategy="no",
        logging_strategy="no",
        seed=args.seed,
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=encode(train_texts, train_labels),
        eval_dataset=encode(val_texts, val_labels),
        compute_metrics=accuracy,
        callbacks=[Events()],
    )
    trainer.train()
    trainer.save_model(args.output)
    emit({"event": "done"})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench finetune", description=__doc__.split("\n")[0])
    parser.add_argument("--per-topic", type=int, default=50, help="training texts per topic (5 topics)")
    parser.add_argument("--val-per-topic", type=int, default=30, help="validation texts per topic")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="python -m finetune's default for MiniLM")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="pack:minilm-l6")
    parser.add_argument("--target-accuracy", type=float, default=0.90, help="for the time-to-accuracy column")
    # Internal: run the stock-Trainer side in this process.
    parser.add_argument("--stock-trainer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--validation", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stock_trainer:
        return stock_trainer(args)

    common.start_results("finetune")
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        folder = Path(tmp)
        train_csv, val_csv, n_train, n_val = write_data(folder, args.per_topic, args.val_per_topic, args.seed)
        shared = [
            "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--max-length", str(args.max_length),
            "--learning-rate", str(args.learning_rate), "--seed", str(args.seed), "--model", args.model,
        ]  # fmt: skip
        ours_cmd = [
            sys.executable, "-m", "finetune", "--data", str(train_csv), "--validation", str(val_csv),
            "--output", str(folder / "ours"), "--progress", "jsonl", "--cpu", *shared,
        ]  # fmt: skip
        stock_cmd = [
            sys.executable, "-m", "bench.finetune_speed", "--stock-trainer", "--data", str(train_csv),
            "--validation", str(val_csv), "--output", str(folder / "stock"), *shared,
        ]  # fmt: skip
        progress(f"finetune: {n_train} training and {n_val} validation texts; python -m finetune first")
        ours = run_side(ours_cmd, folder / "ours.log")
        progress("finetune: the stock Trainer")
        stock = run_side(stock_cmd, folder / "stock.log")
        token_stats = _token_stats(train_csv, args.model, args.max_length)
    report(summarise(ours["events"], n_train), ours["wall"], summarise(stock["events"], n_train), stock["wall"],
           n_train, n_val, args, token_stats)  # fmt: skip
    return 0


def _token_stats(train_csv: Path, model: str, max_length: int) -> dict:
    import csv

    from transformers import AutoTokenizer

    from studio.hf import local_or_hub

    tokenizer = AutoTokenizer.from_pretrained(local_or_hub(model))
    with train_csv.open(encoding="utf-8", newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    full = sum(n == max_length for n in lengths)
    return {"mean": sum(lengths) / len(lengths), "median": common.median(lengths), "full": full}


def report(ours: dict, ours_wall: float, stock: dict, stock_wall: float, n_train: int, n_val: int,
           args: argparse.Namespace, tokens: dict) -> None:  # fmt: skip
    final_ours, final_stock = ours["accuracies"][-1][1], stock["accuracies"][-1][1]
    target = args.target_accuracy

    def time_to(accuracies: list[tuple[float, float]]) -> str:
        return next((f"{at:.0f}" for at, accuracy in accuracies if accuracy >= target), "not reached")

    speedup = ours["samples_per_second"] / stock["samples_per_second"]
    table = Table(
        "Fine-tuning: python -m finetune vs a stock Trainer padding to max length (same model, data, epochs, seed)",
        ["Side", "Training samples/s", "Training time (s)", f"Time to {target:.2f} accuracy (s)", "Wall time (s)",
         "Accuracy after each epoch (s since start)"],
    )  # fmt: skip
    for name, side, wall in (("python -m finetune", ours, ours_wall), ("stock Trainer", stock, stock_wall)):
        table.add(
            name,
            f"{side['samples_per_second']:.2f}",
            f"{side['train_seconds']:.0f}",
            time_to(side["accuracies"]),
            f"{wall:.0f}",
            ", ".join(f"{a:.3f} ({at:.0f})" for at, a in side["accuracies"]),
        )
    equal = final_ours >= final_stock - ACCURACY_TOLERANCE - 1e-9
    table.note(
        f"Goal: samples/s >= {SPEEDUP_GOAL}x the stock Trainer's at equal accuracy (not more than 1 point below "
        f"it): {common.mark(speedup >= SPEEDUP_GOAL and equal)} ({speedup:.2f}x; final accuracy {final_ours:.3f} vs "
        f"{final_stock:.3f}; one validation text is {1 / n_val:.3f})."
    )
    table.note(
        f"Time to {target:.2f} accuracy = process start to the first evaluation (one per epoch) at {target:.2f} or "
        "better, the target fixed before the runs. Training time leaves out the evaluations; wall time is the whole "
        "process."
    )
    table.note(
        f"Data: {n_train} training and {n_val} validation BBC News texts, 5 topics, each cut to a seeded "
        f"log-uniform length of 80-3000 characters: {tokens['mean']:.0f} tokens on average (median "
        f"{tokens['median']:.0f}), {tokens['full']} of {n_train} cut at max_length {args.max_length}."
    )
    table.note(
        f"Both: {args.model} (all-MiniLM-L6-v2), {args.epochs} epochs, batch {args.batch_size}, learning rate "
        f"{args.learning_rate:g}, 10% warmup, weight decay 0.01, gradient clipping 1.0, seed {args.seed}, CPU. "
        "python -m finetune pads each batch to its longest text and groups texts of similar length; the "
        "Trainer pads every text to max_length and samples at random."
    )
    table.show("finetune")


if __name__ == "__main__":
    sys.exit(main())
