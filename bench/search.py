"""Find good settings, measured: a 12-trial search against one run with the defaults, in wall time and in accuracy on
the validation split and on held-out texts.

Data: 1,000 BBC News texts (200 per topic, finetune/news_sample.py) to train on (the search and the default run split
off the same 200 for validation), and 500 other articles (100 per topic) held out. Base model: the offline pack's
MiniLM-L6. Both are the CLI, one after the other on this machine: `python -m finetune` (the default run, its process
start included) and `python -m finetune search --trials 12`.

    .venv/bin/python -m bench.search
    .venv/bin/python -m bench.search --trials 4 --per-topic 60   # a quick look
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bench.common import Table, news_train_and_held_out, progress, run_timed, start_results

NAME = "search"


def news_files(folder: Path, per_topic: int, held_out_per_topic: int) -> tuple[Path, Path]:
    from finetune.news_sample import write_csv

    train, held_out = news_train_and_held_out(per_topic, held_out_per_topic)
    return write_csv(folder / "news.csv", train), write_csv(folder / "news_held_out.csv", held_out)


def held_out_accuracy(run: Path, held_out: Path) -> float:
    import pandas as pd
    from transformers import pipeline

    table = pd.read_csv(held_out)
    classify = pipeline("text-classification", model=str(run), device="cpu")
    predicted = [p["label"] for p in classify(list(table["text"]), truncation=True, max_length=128, batch_size=32)]
    return sum(p == t for p, t in zip(predicted, table["label"])) / len(table)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--per-topic", type=int, default=200)
    p.add_argument("--held-out", type=int, default=100, help="held-out texts per topic")
    p.add_argument("--model", default="pack:minilm-l6")
    args = p.parse_args(argv)
    start_results(NAME)
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    data, held_out = news_files(work, args.per_topic, args.held_out)
    finetune = [sys.executable, "-m", "finetune"]

    progress("one run with the defaults")
    default_run = work / "default"
    default_s = run_timed([*finetune, "--data", str(data), "--model", args.model, "--output", str(default_run)])
    progress(f"the search, {args.trials} trials")
    searched = work / "search"
    search_s = run_timed(
        [*finetune, "search", "--data", str(data), "--model", args.model, "--output", str(searched)]
        + ["--trials", str(args.trials)]
    )
    record = json.loads((searched / "search.json").read_text())
    best = record["best"]
    default_metrics = json.loads((default_run / "metrics.json").read_text())["metrics"]

    states = [trial["state"] for trial in record["trials"]]
    table = Table(
        f"A {args.trials}-trial search against the defaults ({len(states)} trials run; BBC News, "
        f"{5 * args.per_topic} texts, {args.model})",
        ["", "trials", "pruned", "wall time", "vs one default run", "validation accuracy", "held-out accuracy"],
    )
    table.add(
        "one default run", 1, 0, f"{default_s:.0f} s", "1.00×", f"{default_metrics['accuracy']:.3f}",
        f"{held_out_accuracy(default_run, held_out):.3f}",
    )  # fmt: skip
    table.add(
        "search", len(states), states.count("pruned"), f"{search_s:.0f} s", f"{search_s / default_s:.2f}×",
        f"{best['metric']:.3f}", f"{held_out_accuracy(Path(best['run']), held_out):.3f}",
    )  # fmt: skip
    params = ", ".join(f"{key} {value:.3g}" for key, value in best["params"].items())
    table.note(f"Best: trial {best['trial']}, {params}.")
    for trial in record["trials"]:
        metric = "" if trial["metric"] is None else f"{trial['metric']:.3f}"
        shown = ", ".join(f"{key} {value:.3g}" for key, value in trial["params"].items())
        checks = "; ".join(
            f"{epochs}: {check['score']:.3f} / {check['val_loss']:.3f}" for epochs, check in trial["checks"].items()
        )
        table.note(
            f"trial {trial['trial']}: {trial['state']} {metric} after {trial['seconds']:.0f} s ({shown}); "
            f"score / validation loss by epochs: {checks}"
        )
    table.show(NAME)


if __name__ == "__main__":
    main()
