"""Runs side by side: what each was trained on and how it scored, the F1 of each label, and the validation rows whose
prediction changed from one run to another. The Fine-tune tab's runs table, its Compare button and /compare_runs
read runs through here; what a run folder holds is written by finetune/train.py and finetune/report.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from finetune.report import PREDICTIONS_FILE, shown_model
from finetune.train import headline_of
from studio.errors import UserError
from studio.runs import copy_of, run_label, run_metadata, run_task

# Validation rows whose prediction changed, at most: the first ones where one run is right and another wrong.
CHANGED_ROWS = 100
ITEM_CHARS = 200


@dataclass
class RunRecord:
    """One run as the runs table lists it."""

    name: str
    kind: str  # text | image | entities
    base: str
    data: str  # the file and the start of its SHA-256
    corrections: dict | None  # the label check's corrections that made the file (finetune/checking.py)
    finished: str  # local time, to the minute
    epochs_run: int | None  # None: a run from before this was recorded
    epochs_max: int | None
    kept_epoch: int | None
    headline: tuple[str, float] | None  # ("accuracy", 0.912)


@dataclass
class Comparison:
    """Runs of one kind, side by side (English names: the page translates what it shows)."""

    runs: list[str]
    metrics: list[list]  # [metric, value of each run]
    per_label: list[list]  # [label, F1 of each run ("" where a run has no such label)]
    changed: list[list]  # [item, its label, each run's prediction marked right or wrong], CHANGED_ROWS at most
    changed_total: int
    compared_rows: int  # validation rows that every run saw


def run_record(run: Path) -> RunRecord:
    """What the runs table says of a run, from its metrics.json (runs from before these fields: what is there)."""
    result = run_metadata(run)
    original = run.parent / copy_of(run) if copy_of(run) else None
    if original is not None:  # a faster copy: trained on what its run was
        result = {**run_metadata(original), "metrics": result.get("metrics", {})}
    config, metrics = result.get("config", {}), result.get("metrics", {})
    source = result.get("source") or {}
    data = source.get("file") or Path(str(config.get("data", ""))).name
    if source.get("sha256"):
        data += f" ({source['sha256'][:8]})"
    headline = headline_of(metrics) if {"accuracy", "f1", "f1_micro"} & set(metrics) else None
    finished = result.get("finished") or datetime.fromtimestamp(run.stat().st_mtime).isoformat(timespec="minutes")
    return RunRecord(
        name=run_label(run),
        kind=run_task(run),
        base=shown_model(str(config.get("model", ""))),
        data=data,
        corrections=source.get("corrections"),
        finished=finished[:16].replace("T", " "),
        epochs_run=result.get("epochs_run"),
        epochs_max=config.get("epochs"),
        kept_epoch=result.get("kept_epoch"),
        headline=headline,
    )


def compare(runs: list[Path]) -> Comparison:
    """Two or more runs of one kind side by side."""
    if len(runs) < 2:
        raise UserError("Choose two or more runs to compare.")
    kinds = {run_task(run) for run in runs}
    if len(kinds) > 1:
        raise UserError(
            "Choose runs of one kind to compare: text classifiers, image classifiers or entity recognisers."
        )
    names = [run_label(run) for run in runs]
    results = [run_metadata(run) for run in runs]
    metrics = [result.get("metrics", {}) for result in results]
    entities = kinds == {"entities"}
    predictions = [_predictions(run) for run in runs]
    shared = set.intersection(*(set(rows) for rows in predictions)) if all(predictions) else set()
    changed = _changed_rows(predictions, shared)
    return Comparison(
        runs=names,
        metrics=_metric_rows(results, metrics, entities),
        per_label=_per_label_rows(metrics, entities),
        changed=changed[:CHANGED_ROWS],
        changed_total=len(changed),
        compared_rows=len(shared),
    )


def _metric_rows(results: list[dict], metrics: list[dict], entities: bool) -> list[list]:
    def score(m: dict, *path: str) -> float | str:
        for key in path:
            m = m.get(key, {}) if isinstance(m, dict) else {}
        return round(m, 4) if isinstance(m, (int, float)) else ""

    rows = (
        [["entity F1", *(score(m, "f1") for m in metrics)], ["precision", *(score(m, "precision") for m in metrics)]]
        + [["recall", *(score(m, "recall") for m in metrics)]]
        + [["word accuracy", *(score(m, "token_accuracy") for m in metrics)]]
        if entities
        else [["micro F1", *(score(m, "f1_micro") for m in metrics)]]
        + [["subset accuracy", *(score(m, "subset_accuracy") for m in metrics)]]
        if any(m.get("multi_label") for m in metrics)
        else [["accuracy", *(score(m, "accuracy") for m in metrics)]]
        + [["weighted F1", *(score(m, "weighted", "f1") for m in metrics)]]
    )
    rows.append(["macro F1", *(score(m, "macro", "f1") for m in metrics)])
    rows.append(["validation loss", *(score(m, "val_loss") for m in metrics)])
    rows.append(["validation rows", *(m.get("validation_rows", "") for m in metrics)])
    rows.append(["training rows", *(r.get("data", {}).get("train", {}).get("rows", "") for r in results)])
    rows.append(["epochs run", *(r.get("epochs_run", "") for r in results)])
    rows.append(["seconds", *(r.get("train_seconds", "") for r in results)])
    return rows


def _per_label_rows(metrics: list[dict], entities: bool) -> list[list]:
    per_label = [m.get("per_type" if entities else "per_class", {}) for m in metrics]
    labels = list(dict.fromkeys(label for scores in per_label for label in scores))
    return [[label, *(round(s[label]["f1"], 4) if label in s else "" for s in per_label)] for label in labels]


def _predictions(run: Path) -> dict[str, dict]:
    """The run's validation rows by their item (text, picture or sentence); {} for a run from before they were kept."""
    try:
        lines = (run / PREDICTIONS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    rows = (json.loads(line) for line in lines if line.strip())
    return {row["item"]: row for row in rows}


def _changed_rows(predictions: list[dict[str, dict]], shared: set[str]) -> list[list]:
    """The validation rows every run saw whose prediction differs between runs: those where runs disagree on being
    right first (a run's true label is its own data's, which a correction may have changed)."""
    changed = []
    for item in sorted(shared):
        rows = [runs[item] for runs in predictions]
        if len({row["predicted"] for row in rows}) > 1:
            right = [row["predicted"] == row["true"] for row in rows]
            cells = [f"{row['predicted']} {'✓' if ok else '✗'}" for row, ok in zip(rows, right)]
            shown = item if len(item) <= ITEM_CHARS else item[: ITEM_CHARS - 1] + "…"
            changed.append((len(set(right)) == 1, [shown, rows[-1]["true"], *cells]))
    changed.sort(key=lambda pair: pair[0])  # stable: within each group, the items' order
    return [cells for _, cells in changed]
