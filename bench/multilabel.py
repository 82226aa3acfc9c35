"""Several labels per text, measured: MiniLM fine-tuned on news whose labels are their topic plus a derived tag.

Data: 1,000 BBC News texts (200 per topic, finetune/news_sample.py), each labelled with its topic, and also "money"
when its first 300 characters name an amount or a share (£, $, €, %) — about a quarter of them; 500 other articles
(100 per topic) held out, tagged the same way. The run is the CLI with the defaults (`python -m finetune`, which
reads the ";" cells as label sets); the held-out texts go through the batch evaluation the app runs
(`python -m batch.evaluate`), which scores the predicted label sets.

    .venv/bin/python -m bench.multilabel
    .venv/bin/python -m bench.multilabel --per-topic 60 --held-out 20   # a quick look
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

from bench.common import Table, news_train_and_held_out, progress, run_timed, start_results

NAME = "multilabel"
TAG = "money"
TAGGED = re.compile(r"[£$€%]")
TAG_WINDOW = 300  # characters: well inside the 128 tokens the model reads
GOAL = 0.9  # micro F1, the issue's


def tagged(row: dict[str, str]) -> dict[str, str]:
    labels = [row["label"], TAG] if TAGGED.search(row["text"][:TAG_WINDOW]) else [row["label"]]
    return {"text": row["text"], "label": ";".join(labels)}


def news_files(folder: Path, per_topic: int, held_out_per_topic: int) -> tuple[Path, Path, int]:
    """The tagged training and held-out files, and how many training texts have the tag."""
    from finetune.news_sample import write_csv

    train, held_out = (list(map(tagged, rows)) for rows in news_train_and_held_out(per_topic, held_out_per_topic))
    share = sum(row["label"].endswith(";" + TAG) for row in train)
    paths = write_csv(folder / "news_tagged.csv", train), write_csv(folder / "news_tagged_held_out.csv", held_out)
    return *paths, share


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-topic", type=int, default=200)
    p.add_argument("--held-out", type=int, default=100, help="held-out texts per topic")
    p.add_argument("--model", default="pack:minilm-l6")
    args = p.parse_args(argv)
    start_results(NAME)
    work = Path(tempfile.mkdtemp(prefix="bench-multilabel-"))
    data, held_out, share = news_files(work, args.per_topic, args.held_out)

    progress("fine-tuning with the defaults")
    run_folder = work / "run"
    seconds = run_timed(
        [sys.executable, "-m", "finetune", "--data", str(data), "--model", args.model, "--output", str(run_folder)]
    )
    validation = json.loads((run_folder / "metrics.json").read_text())["metrics"]
    progress("the held-out texts through batch evaluation")
    scored = work / "held_out"
    run_timed(
        [sys.executable, "-m", "batch.evaluate", "--task", "text_classification", "--data", str(held_out)]
        + ["--text-column", "text", "--reference-column", "label", "--model", str(run_folder)]
        + ["--output", str(scored), "--cpu"]
    )
    test = json.loads((scored / "report.json").read_text())

    table = Table(
        f"Multi-label news ({5 * args.per_topic} texts, topic plus '{TAG}' on {share}; {args.model}, the defaults, "
        f"trained in {seconds:.0f} s)",
        ["split", "texts", "micro F1", "macro F1", "subset accuracy", f"'{TAG}' F1", "topics' mean F1", "goal"],
    )
    for split, metrics, rows in (
        ("validation", validation, validation["validation_rows"]),
        ("held out", test, test["scored_rows"]),
    ):
        topics = [m["f1"] for label, m in metrics["per_class"].items() if label != TAG]
        table.add(
            split, rows, f"{metrics['f1_micro']:.3f}", f"{metrics['f1_macro']:.3f}",
            f"{metrics['subset_accuracy']:.3f}", f"{metrics['per_class'][TAG]['f1']:.3f}",
            f"{sum(topics) / len(topics):.3f}", f"micro F1 ≥ {GOAL} " + ("✓" if metrics["f1_micro"] >= GOAL else "✗"),
        )  # fmt: skip
    thresholds = ", ".join(f"{label} {value:.2f}" for label, value in validation["thresholds"].items())
    table.note(f"Thresholds tuned on validation (folded into the model, which then says yes above 0.5): {thresholds}.")
    table.show(NAME)


if __name__ == "__main__":
    main()
