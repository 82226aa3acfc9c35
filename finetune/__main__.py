"""python -m finetune: fine-tune a text classifier, an image classifier or an entity recogniser on your data.

--task text (the default): a CSV/TSV/JSON/JSONL/Parquet table with a text and a label column.
--task image: a zip of one folder per class, or a zip with a CSV/JSONL of file,label inside.
--task entities: CoNLL (a token and its tag per line), JSONL of tokens + tags, or JSONL of text + entities.

Multi-GPU or multi-node: the same command under `accelerate launch --num_processes N -m finetune ...`.

`python -m finetune search --trials N --output DIR [--minutes M] ...` tries N settings (the training flags give the
data and the starting point) and writes DIR/search.json; the best trial's run is kept as DIR/DIR-trial-NN.

`python -m finetune resume runs/<name>` goes on with a run that was cancelled or killed, from its last finished epoch,
with the data and settings it started with. Ctrl-C (or SIGTERM) stops a run after its current step, resumable.

`python -m finetune check-labels FILE` writes FILE-label-check.csv: every labelled row, most suspicious first.

`python -m finetune optimise runs/<name>` makes a text run's faster CPU copy (ONNX Runtime, int8 weights) beside
it, measured on the run's validation split, and prints one JSON line: speedup, accuracy before and after, the
copy's model name.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path

from finetune.jobs import error_event
from finetune.kinds import KINDS, kind_named
from finetune.train import Cancelled, Report, TrainConfig, human_reporter, jsonl_reporter, remove_partial, train
from studio.errors import UserError


def parse_args(argv: list[str] | None = None, p: argparse.ArgumentParser | None = None) -> tuple[TrainConfig, str]:
    defaults = TrainConfig(data="", output="")
    p = p or argparse.ArgumentParser(
        prog="python -m finetune", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--task", choices=list(KINDS), default=defaults.task, help="the kind of model to train")
    p.add_argument("--data", required=True, help="the labelled file (see above for each task)")
    p.add_argument("--output", required=True, help="folder to write the model, metrics and model card into")
    p.add_argument("--model", default=defaults.model, help="base model: Hub id, local folder or pack name")
    p.add_argument("--text-column", default=defaults.text_column)
    p.add_argument("--label-column", default=defaults.label_column)
    p.add_argument("--validation", default=None, help="a separate validation file (else --val-split of --data)")
    p.add_argument("--val-split", type=float, default=defaults.val_split)
    p.add_argument("--epochs", type=int, default=defaults.epochs, help="default: 3 (entities: 8)")
    p.add_argument("--learning-rate", type=float, default=None, help="default: chosen from the model's size")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--max-length", type=int, default=defaults.max_length, help="text, entities: tokens per text")
    p.add_argument("--image-size", type=int, default=defaults.image_size, help="image: pixels a side (0: the model's)")
    p.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing, help="image: 0 turns it off")
    p.add_argument(
        "--augmentation", type=float, default=defaults.augmentation, help="image: 0 (none) to 1 (crops, jitter)"
    )
    p.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    p.add_argument("--warmup-fraction", type=float, default=defaults.warmup_fraction)
    p.add_argument(
        "--patience",
        type=int,
        default=defaults.patience,
        help="stop after this many epochs without a better validation loss (entities: entity F1)",
    )
    p.add_argument("--max-rows", type=int, default=defaults.max_rows, help="refuse files with more rows")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--cpu", action="store_true", help="train on the CPU even when a GPU is present")
    p.add_argument("--corrections", default=None, help="a JSON file of the label corrections that made --data")
    p.add_argument(
        "--progress",
        choices=["human", "jsonl"],
        default="human",
        help="jsonl: one JSON event per line (what the app reads)",
    )
    args = p.parse_args(argv)
    cfg = TrainConfig(
        task=args.task,
        data=args.data,
        output=args.output,
        model=args.model,
        text_column=args.text_column,
        label_column=args.label_column,
        validation=args.validation,
        val_split=args.val_split,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_length=args.max_length,
        image_size=args.image_size,
        label_smoothing=args.label_smoothing,
        augmentation=args.augmentation,
        weight_decay=args.weight_decay,
        warmup_fraction=args.warmup_fraction,
        patience=args.patience,
        seed=args.seed,
        cpu=args.cpu,
        max_rows=args.max_rows,
        corrections=args.corrections,
    )
    return cfg, args.progress


def optimise_main(argv: list[str]) -> int:
    """`python -m finetune optimise RUN`: the copy beside the run, and its measurement as one JSON line."""
    from finetune.optimise import DEFAULT_VARIANT, VARIANTS, optimise

    p = argparse.ArgumentParser(
        prog="python -m finetune optimise",
        description="Make a faster CPU copy of a fine-tuned text classifier, measured on its validation split.",
    )
    p.add_argument("run", help="the run's folder, e.g. runs/<name>")
    p.add_argument(
        "--variant",
        choices=list(VARIANTS),
        default=DEFAULT_VARIANT,
        help="int8: ONNX Runtime with int8 weights (the fastest); onnx: ONNX Runtime in float32",
    )
    args = p.parse_args(argv)
    try:
        measurement = optimise(args.run, args.variant, report=lambda line: print(line, file=sys.stderr, flush=True))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(measurement), flush=True)
    return 0


def check_labels_main(argv: list[str]) -> int:
    """`python -m finetune check-labels FILE`: every labelled row, most suspicious first, as a CSV."""
    from finetune.checking import check_file

    p = argparse.ArgumentParser(
        prog="python -m finetune check-labels",
        description="Find the rows of a labelled table or picture zip whose label is probably wrong.",
    )
    p.add_argument("file", help="a labelled table (CSV, TSV, JSON, JSONL, Parquet) or a zip of labelled pictures")
    p.add_argument("--text-column", default="", help="default: guessed")
    p.add_argument("--label-column", default="", help="default: guessed")
    p.add_argument("--model", default="", help="base model for the embeddings (default: the offline pack's)")
    p.add_argument("--output", default=None, help="the CSV to write (default: FILE's name + -label-check.csv)")
    p.add_argument("--cpu", action="store_true", help="embed on the CPU even when a GPU is present")
    args = p.parse_args(argv)
    from studio.device import best_device

    try:
        checked = check_file(
            args.file, args.text_column, args.label_column, args.model, "cpu" if args.cpu else best_device()
        )
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    output = Path(args.output or Path(args.file).with_name(f"{Path(args.file).stem}-label-check.csv"))
    checked.write_csv(output)
    suspects = checked.suspects()
    print(f"{len(suspects)} of {len(checked.rows)} labelled rows look mislabelled ({checked.seconds:.1f} s); {output}")
    for row in suspects[:10]:
        sure = "" if row.confidence is None else f" ({row.confidence:.0%})"
        print(f"  row {row.row}: {row.label!r} -> {row.suggested_label!r}{sure}: {row.item[:60]!r}")
    return 0


def search_main(argv: list[str]) -> int:
    """`python -m finetune search ...`: trials of the training flags' settings, the best one kept."""
    from finetune.search import search

    p = argparse.ArgumentParser(
        prog="python -m finetune search",
        description="Find good training settings: Optuna's TPE sampler; a trial stops early once it falls out of "
        "the top third of the trials at the same point, or behind the defaults.",
    )
    p.add_argument("--trials", type=int, default=12, help="how many settings to try (the first: the defaults)")
    p.add_argument("--minutes", type=float, default=0.0, help="stop the search after this long (0: no limit)")
    p.add_argument("--runs-dir", default=None, help="where the best trial's run is kept (default: --output)")
    cfg, progress = parse_args(argv, p)
    budget = p.parse_known_args(argv)[0]
    report = jsonl_reporter() if progress == "jsonl" else search_reporter()
    stopping = stop_on_signals()
    try:
        record = search(
            cfg,
            kind_named(cfg.task),
            budget.trials,
            cfg.output,
            minutes=budget.minutes,
            runs_dir=budget.runs_dir,
            report=report,
            should_stop=stopping.is_set,
        )
    except UserError as e:
        return _failed(e, progress)
    if progress == "human":
        print(json.dumps({"best": record["best"], "seconds": record["seconds"]}), flush=True)
    return 0


def search_reporter() -> Report:
    """A line per trial as it ends, for a terminal."""

    def report(event: dict) -> None:
        if event["event"] == "trial" and event["state"] != "running":
            params = ", ".join(f"{key} {value:.3g}" for key, value in event["params"].items())
            metric = "" if event["metric"] is None else f" {event['metric']:.4f}"
            print(f"trial {event['trial']} {event['state']}{metric} ({event['seconds']:.0f} s): {params}", flush=True)

    return report


def stop_on_signals() -> threading.Event:
    """An event set at the first SIGTERM or Ctrl-C; a second one stops the process at once."""
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()
        signal.signal(signum, signal.SIG_DFL)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    return stopping


def resume_main(argv: list[str]) -> int:
    """`python -m finetune resume RUN`: go on with a stopped run from its checkpoint."""
    from finetune import checkpoint

    p = argparse.ArgumentParser(
        prog="python -m finetune resume",
        description="Go on with a cancelled or killed run from its last finished epoch, with its data and settings.",
    )
    p.add_argument("run", help="the run's output folder, e.g. runs/<name>")
    p.add_argument("--progress", choices=["human", "jsonl"], default="human")
    args = p.parse_args(argv)
    try:
        cfg = checkpoint.settings_of(args.run, TrainConfig)
    except UserError as e:
        return _failed(e, args.progress)
    return run_training(replace(cfg, output=args.run), args.progress, resume=True)


def run_training(cfg: TrainConfig, progress: str, resume: bool = False) -> int:
    """Train, stopping after the current step at the first SIGTERM or Ctrl-C (the run stays resumable)."""
    report = jsonl_reporter() if progress == "jsonl" else human_reporter()
    stopping = stop_on_signals()
    try:
        train(cfg, kind_named(cfg.task), report=report, should_stop=stopping.is_set, resume=resume)
    except Cancelled:
        remove_partial(Path(cfg.output))
        return 128 + signal.SIGTERM
    except (UserError, FileExistsError) as e:
        remove_partial(Path(cfg.output))
        return _failed(e, progress)
    return 0


def _failed(error: Exception, progress: str) -> int:
    if progress == "jsonl":  # with its template, which the app says in its user's language
        print(json.dumps(error_event(error)), flush=True)
    else:
        print(f"error: {error}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["optimise"]:
        return optimise_main(argv[1:])
    if argv[:1] == ["check-labels"]:
        return check_labels_main(argv[1:])
    if argv[:1] == ["search"]:
        return search_main(argv[1:])
    if argv[:1] == ["resume"]:
        return resume_main(argv[1:])
    cfg, progress = parse_args(argv)
    return run_training(cfg, progress)


if __name__ == "__main__":
    sys.exit(main())
