"""The output folder of a run: model, tokenizer, metrics, training log, confusion matrix, model card."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from finetune.evaluate import plot_confusion_matrix

COMPLETE_MARKER = "metrics.json"  # written last inside the folder, which is itself renamed into place


def save_run(output: Path, model: Any, tokenizer: Any, result: dict, events: list[dict]) -> Path:
    """Write everything into a hidden sibling folder, then rename it to `output` in one step."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.parent / f".{output.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    with open(partial / "training_log.jsonl", "w", encoding="utf-8") as f:
        for event in events:
            f.write(json.dumps(event) + "\n")
    metrics = result["metrics"]
    plot_confusion_matrix(metrics["confusion_matrix"], metrics["labels"], str(partial / "confusion_matrix.png"))
    (partial / "README.md").write_text(model_card(output.name, result), encoding="utf-8")
    (partial / COMPLETE_MARKER).write_text(json.dumps(result, indent=2), encoding="utf-8")
    if output.exists():
        output.rmdir()  # train() refused a non-empty one; an empty one may be left by the user
    os.replace(partial, output)
    return output


def model_card(name: str, result: dict) -> str:
    """A README.md in the Hugging Face model-card style: what it is, the data, the settings, the scores."""
    cfg, metrics, data = result["config"], result["metrics"], result["data"]
    labels = ", ".join(f"`{label}`" for label in metrics["labels"])
    rows = "\n".join(
        f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
        for label, s in metrics["per_class"].items()
    )
    return f"""---
library_name: transformers
pipeline_tag: text-classification
base_model: {cfg["model"]}
tags: [text-classification, model-studio]
---

# {name}

A text classifier fine-tuned with Model Studio from `{cfg["model"]}` on {data["train"]["rows"]} labelled texts.
Labels: {labels}.

## Use

```python
from transformers import pipeline

classify = pipeline("text-classification", model="path/to/{name}")
classify("Your text here")
```

## Data

| split | rows | per label |
|---|---|---|
| train | {data["train"]["rows"]} | {_counts(data["train"]["labels"])} |
| validation | {data["validation"]["rows"]} | {_counts(data["validation"]["labels"])} |

Rows dropped for empty text: {data["train"]["dropped_empty"]}; \
for a missing label: {data["train"]["dropped_unlabelled"]}.

## Training

| setting | value |
|---|---|
| base model | `{cfg["model"]}` |
| epochs (max) | {cfg["epochs"]} |
| learning rate | {cfg["learning_rate"]:g} |
| batch size | {cfg["batch_size"]} |
| max length | {cfg["max_length"]} tokens |
| warmup | {cfg["warmup_fraction"]:.0%} of steps |
| weight decay | {cfg["weight_decay"]} |
| early stopping | after {cfg["patience"]} epochs without a better validation loss |
| seed | {cfg["seed"]} |
| steps run | {result["steps"]} |
| time | {result["train_seconds"]:.0f} s ({result["samples_per_second"]:.1f} samples/s) |

## Evaluation (validation split)

| metric | precision | recall | F1 |
|---|---|---|---|
| macro | {metrics["macro"]["precision"]:.3f} | {metrics["macro"]["recall"]:.3f} | {metrics["macro"]["f1"]:.3f} |
| weighted | {metrics["weighted"]["precision"]:.3f} | {metrics["weighted"]["recall"]:.3f} | {metrics["weighted"]["f1"]:.3f} |

Accuracy: **{metrics["accuracy"]:.3f}**; validation loss {metrics["val_loss"]:.4f}.

| label | precision | recall | F1 | support |
|---|---|---|---|---|
{rows}

![Confusion matrix](confusion_matrix.png)
"""


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{label}: {n}" for label, n in counts.items())


def list_runs(runs_dir: Path) -> dict[str, Path]:
    """Complete runs in `runs_dir`, newest first, by folder name; partial or broken folders are skipped."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return {}
    complete = [
        path
        for path in runs_dir.iterdir()
        if path.is_dir()
        and not path.name.startswith(".")
        and (path / COMPLETE_MARKER).is_file()
        and (path / "config.json").is_file()
        and (path / "model.safetensors").is_file()
    ]
    complete.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return {path.name: path for path in complete}


def sweep_partial(runs_dir: Path) -> list[Path]:
    """Remove the half-written folders of saves whose process died (killed mid-save); returns what went."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    import psutil

    swept = []
    for partial in runs_dir.glob(".*.partial-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if partial.is_dir() and pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)
            swept.append(partial)
    return swept


def zip_run(run: Path, destination_dir: Path) -> Path:
    """The run folder as one zip file to download."""
    destination_dir.mkdir(parents=True, exist_ok=True)
    return Path(shutil.make_archive(str(destination_dir / run.name), "zip", root_dir=run.parent, base_dir=run.name))
