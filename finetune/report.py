"""The output folder of a run: model, tokenizer, metrics, training log, confusion matrix, model card."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections import Counter
from pathlib import Path, PurePath
from typing import Any

from studio.files.classes import few_examples_note
from studio.i18n import ENGLISH, language, say, word
from studio.metrics import plot_confusion_matrix
from studio.runs import COMPLETE_MARKER

# The run's files that name files on the server (the data, the output folder, a local base model): the zip to
# download holds them with each such path cut to its last part.
CONFIG_FILE = (
    "training_config.json"  # every setting of the run: to load in the tab or train again (finetune/configs.py)
)
NAMES_PATHS = ("metrics.json", "training_log.jsonl", "config.json", "tokenizer_config.json", CONFIG_FILE)


PREDICTIONS_FILE = "predictions.jsonl"  # every validation row: the item, its true label and the prediction
# Copies of the files the run was trained on (data/<name>, validation/<name>): the app deletes uploads, and Your runs
# checks a run's labels again from them. Not in the zip to download, which is the model.
DATA_FOLDER = "training_data"
DATA_SETTINGS = ("data", "validation")


def save_run(
    output: Path, kind: Any, model: Any, built: Any, result: dict, events: list[dict], validation_rows: list[dict]
) -> Path:
    """Write everything into a hidden sibling folder, then rename it to `output` in one step."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.parent / f".{output.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    kind.save_model(model, built, partial)
    with open(partial / "training_log.jsonl", "w", encoding="utf-8") as f:
        for event in events:
            f.write(json.dumps(event) + "\n")
    with open(partial / PREDICTIONS_FILE, "w", encoding="utf-8") as f:
        for row in validation_rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    (partial / CONFIG_FILE).write_text(json.dumps(result["config"], indent=2, ensure_ascii=False), encoding="utf-8")
    keep_data(partial, result["config"])
    draw_confusion(result["metrics"], result["task"], partial / "confusion_matrix.png")
    if hasattr(kind, "save_extras"):
        kind.save_extras(partial, built, result)
    (partial / "README.md").write_text(model_card(output.name, kind, result, built), encoding="utf-8")
    (partial / COMPLETE_MARKER).write_text(json.dumps(result, indent=2), encoding="utf-8")
    if output.exists():
        output.rmdir()  # train() refused a non-empty one; an empty one may be left by the user
    os.replace(partial, output)
    return output


MULTI_LABEL_TITLE = "Texts of each label, and the labels given them (validation)"
CONFUSION_TITLES = {
    "text": "Confusion matrix (validation)",
    "image": "Confusion matrix (validation)",
    "entities": "Word tags, true vs predicted (validation)",
}


def draw_confusion(metrics: dict, task: str, path: Path, title: str | None = None) -> str:
    """The run's confusion matrix as a PNG picture, titled `title` (by default the English title of its kind:
    the Fine-tune tab draws it again in its user's language)."""
    return plot_confusion_matrix(
        metrics["confusion_matrix"],
        metrics["confusion_labels"] if "confusion_labels" in metrics else metrics["labels"],
        str(path),
        title=title or confusion_title(metrics, task),
    )


def confusion_title(metrics: dict, task: str) -> str:
    """The English title of a run's confusion matrix."""
    return MULTI_LABEL_TITLE if metrics.get("multi_label") else CONFUSION_TITLES.get(task, CONFUSION_TITLES["text"])


def confusion_in_language(run: Path, metrics: dict, task: str, picture: Path) -> str:
    """The run's confusion matrix at `picture`: its own, or drawn again with the title in the request's language."""
    if language() == ENGLISH:
        return str(shutil.copy(run / "confusion_matrix.png", picture))
    return draw_confusion(metrics, task, picture, title=say(confusion_title(metrics, task)))


WHAT = {"text": "A text classifier", "image": "An image classifier", "entities": "A named-entity recogniser"}
EXAMPLES = {"text": "labelled texts", "image": "labelled images", "entities": "labelled sentences"}
# What each kind counts, and per what, in a summary's "labels": words of the table, said in the warning's language.
COUNTED = {
    "text": (word("examples"), word("label")),
    "image": (word("pictures"), word("class")),
    "entities": (word("entities"), word("entity type")),
}


def few_examples(task: str, *summaries: dict) -> str:
    """The warning that the validation metrics will be unreliable, from the summaries' counts per label together;
    "" when every label has enough."""
    counts: Counter[str] = Counter()
    for summary in summaries:
        counts.update(summary["labels"])
    return few_examples_note(counts, *COUNTED[task])


def model_card(name: str, kind: Any, result: dict, built: Any) -> str:
    """A README.md in the Hugging Face model-card style: what it is, the data, the settings, the scores."""
    cfg, metrics, data, task = result["config"], result["metrics"], result["data"], result["task"]
    labels = ", ".join(f"`{label}`" for label in metrics["labels"])
    if task == "image":
        size = (
            f"| image size | {cfg['image_size'] or 'as the base model was trained'} |\n"
            f"| label smoothing | {cfg['label_smoothing']} |"
        )
    else:
        size = f"| max length | {cfg['max_length']} tokens |"
    return f"""---
library_name: {kind.LIBRARY}
pipeline_tag: {kind.PIPELINE_TAG}
base_model: {shown_model(cfg["model"])}
tags: [{kind.PIPELINE_TAG}, model-studio]
---

# {name}

{WHAT[task]} fine-tuned with Model Studio from `{shown_model(cfg["model"])}` on {data["train"]["rows"]} {EXAMPLES[task]}.
Labels: {labels}.

## Use

{kind.usage(f"path/to/{name}", built)}

## Data

| split | rows | per label |
|---|---|---|
| train | {data["train"]["rows"]} | {_counts(data["train"]["labels"])} |
| validation | {data["validation"]["rows"]} | {_counts(data["validation"]["labels"])} |

{_dropped(data["train"], task)}

## Training

| setting | value |
|---|---|
| base model | `{shown_model(cfg["model"])}` |
| epochs (max) | {cfg["epochs"]} |
| learning rate | {cfg["learning_rate"]:g} |
| batch size | {cfg["batch_size"]} |
{size}
| warmup | {cfg["warmup_fraction"]:.0%} of steps |
| weight decay | {cfg["weight_decay"]} |
| early stopping | after {cfg["patience"]} epochs without a better validation loss |
| seed | {cfg["seed"]} |
| steps run | {result["steps"]} |
| time | {result["train_seconds"]:.0f} s ({result["samples_per_second"]:.1f} samples/s) |

## Evaluation (validation split)

{_few_examples_line(task, data)}{_scores(metrics, task)}

![Confusion matrix](confusion_matrix.png)
{_mistake_pictures(result) if task == "image" else ""}"""


def _few_examples_line(task: str, data: dict) -> str:
    note = few_examples(task, data["train"], data["validation"])
    return f"**Note:** {note}\n\n" if note else ""


def _scores(metrics: dict, task: str) -> str:
    if task == "entities":
        return _entity_scores(metrics)
    return _multi_label_scores(metrics) if metrics.get("multi_label") else _class_scores(metrics)


def _multi_label_scores(metrics: dict) -> str:
    rows = "\n".join(
        f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} | "
        f"{metrics['thresholds'][label]:.2f} |"
        for label, s in metrics["per_class"].items()
    )
    return f"""Several labels per text: each label is scored on its own, and given above its threshold (tuned for the best
F1 on the validation split, and folded into the classifier's bias, so the saved model gives a label above 0.5).

| metric | precision | recall | F1 |
|---|---|---|---|
| micro | {metrics["micro"]["precision"]:.3f} | {metrics["micro"]["recall"]:.3f} | {metrics["micro"]["f1"]:.3f} |
| macro | {metrics["macro"]["precision"]:.3f} | {metrics["macro"]["recall"]:.3f} | {metrics["macro"]["f1"]:.3f} |

Subset accuracy (every label of a text right): **{metrics["subset_accuracy"]:.3f}**; validation loss
{metrics["val_loss"]:.4f}.

| label | precision | recall | F1 | texts | threshold |
|---|---|---|---|---|---|
{rows}"""


def _class_scores(metrics: dict) -> str:
    rows = "\n".join(
        f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
        for label, s in metrics["per_class"].items()
    )
    return f"""| metric | precision | recall | F1 |
|---|---|---|---|
| macro | {metrics["macro"]["precision"]:.3f} | {metrics["macro"]["recall"]:.3f} | {metrics["macro"]["f1"]:.3f} |
| weighted | {metrics["weighted"]["precision"]:.3f} | {metrics["weighted"]["recall"]:.3f} | {metrics["weighted"]["f1"]:.3f} |

Accuracy: **{metrics["accuracy"]:.3f}**; validation loss {metrics["val_loss"]:.4f}.

| label | precision | recall | F1 | support |
|---|---|---|---|---|
{rows}"""


def _entity_scores(metrics: dict) -> str:
    rows = "\n".join(
        f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
        for label, s in metrics["per_type"].items()
    )
    return f"""Entity-level scores (seqeval, strict: an entity counts only with its exact span and type).

| metric | precision | recall | F1 |
|---|---|---|---|
| micro | {metrics["precision"]:.3f} | {metrics["recall"]:.3f} | {metrics["f1"]:.3f} |
| macro | {metrics["macro"]["precision"]:.3f} | {metrics["macro"]["recall"]:.3f} | {metrics["macro"]["f1"]:.3f} |

Token accuracy: **{metrics["token_accuracy"]:.3f}**; validation loss {metrics["val_loss"]:.4f}.

| entity type | precision | recall | F1 | support |
|---|---|---|---|---|
{rows}"""


def _dropped(train: dict, task: str = "text") -> str:
    notes = [f"{what}: {train[key]}" for key, what in DROPPED.items() if train.get(key)]
    what = "Pictures skipped" if task == "image" else "Rows dropped"
    if notes:
        return f"{what} — " + "; ".join(notes) + "."
    return "No pictures were skipped." if task == "image" else "No rows were dropped."


def _mistake_pictures(result: dict) -> str:
    """The misclassified validation pictures that the image kind saved beside the card."""
    shown = [m for m in result.get("mistakes", []) if m.get("image")]
    if not shown:
        return ""
    pictures = " ".join(f"![{m['true']} taken for {m['predicted']}]({m['image']})" for m in shown)
    return f"\n## Some validation pictures it got wrong (true label taken for the prediction)\n\n{pictures}\n"


DROPPED = {
    "dropped_empty": "empty text",
    "dropped_unlabelled": "missing label",
    "skipped_unreadable": "unreadable image",
    "skipped_missing": "listed in the table but not in the zip",
}


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{label}: {n}" for label, n in counts.items())


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


def keep_data(folder: Path, config: dict) -> None:
    """Copies of the run's data files in folder/DATA_FOLDER/<setting>/<file name>."""
    for setting in DATA_SETTINGS:
        path = config.get(setting)
        if path and Path(path).is_file():
            target = folder / DATA_FOLDER / setting / Path(path).name
            target.parent.mkdir(parents=True)
            shutil.copyfile(path, target)


def kept_data(run: Path, setting: str = "data") -> Path | None:
    """The run's copy of the file it was trained on (or validated on), or None for a run that kept none."""
    return next(iter(sorted((run / DATA_FOLDER / setting).glob("*"))), None)


def zip_run(run: Path, destination_dir: Path) -> Path:
    """The run folder as one zip file to download, without the server's paths."""
    destination_dir.mkdir(parents=True, exist_ok=True)
    target = destination_dir / f"{run.name}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(run.rglob("*")):
            if not path.is_file() or path.relative_to(run).parts[0] == DATA_FOLDER:
                continue
            member = f"{run.name}/{path.relative_to(run).as_posix()}"
            if path.name in NAMES_PATHS:
                archive.writestr(member, _without_paths(path))
            else:
                archive.write(path, member)
    return target


def shown_model(ref: str) -> str:
    """A model as a user is shown it: a local folder by its name, a Hub id or pack name as it is."""
    return _last_part(ref)


def _without_paths(path: Path) -> str:
    """A JSON or JSON Lines file with every absolute path in its values cut to the path's last part."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return "".join(json.dumps(_cut_paths(json.loads(line))) + "\n" for line in text.splitlines() if line.strip())
    return json.dumps(_cut_paths(json.loads(text)), indent=2)


def _cut_paths(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _cut_paths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut_paths(item) for item in value]
    return _last_part(value) if isinstance(value, str) else value


def _last_part(text: str) -> str:
    path = PurePath(text)
    return path.name if path.is_absolute() and path.name else text
