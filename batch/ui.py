"""'Run on a file' in a tab: a whole file through the tab's model in a child process, scored when it has references.

app.py puts `batch_section(studio, spec, model)` into every tab that runs on files, given the tab's model
picker; its endpoint is /<spec.api_name>. Text tabs take a table and its columns; Image classification a zip of
pictures; Speech recognition recordings (or a zip). The run is `python -m batch.evaluate` in its own process
(studio/jobs.py), so the tabs keep serving, Cancel really stops it, and the command line gives the same files.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from batch.evaluate import markdown, parse_label_map
from batch.runner import PREVIEW_ROWS, TaskBatch
from studio import jobs
from studio.errors import UserError
from studio.files.rows import TAGGED_SUFFIXES, TEXT_SUFFIXES, read_rows
from studio.files.tables import guess_columns
from studio.i18n import ENGLISH, language, say, ui, word
from studio.jobs import ChildJob
from studio.runs import check_free_disk
from studio.runtime import Studio
from studio.ui import user_errors

# Redraw the progress at most this often: each update is a message to every watching browser.
UPDATE_EVERY_S = 0.5
# What each yield fills, in the order of the endpoint's outputs.
OUTPUTS = ("preview", "csv", "report_json", "jsonl", "report_md", "metrics", "confusion", "status")
# The page's words, texts of the translation table (studio/i18n.py), for each kind of input the section reads.
TITLES = {"table": "Run on a file", "pictures": "Run on many pictures", "recordings": "Run on many recordings"}
RUN_BUTTONS = {"table": "Run on the file", "pictures": "Run on the pictures", "recordings": "Run on the recordings"}
PREVIEW_LABEL = f"First {PREVIEW_ROWS} results"
INTRO = {
    "table": "Run the model over a whole file: CSV, TSV, JSON, JSONL or Parquet with a column of texts, or TXT "
    "with one text a line. Name a reference column to score the model as well; pick more models under "
    "**Compare with** to score them side by side.",
    "pictures": "Run the model over a zip of pictures. With one folder per class in the zip (roses/1.jpg, "
    "tulips/2.jpg) or a labels.csv of file,label, the model is scored against them as well; pick more models "
    "under **Compare with** to score them side by side.",
    "recordings": "Transcribe several recordings at once: audio or video files, or a zip of them. Add a "
    "transcripts table (CSV of file,transcript) or a .txt beside each recording with the same name to get the "
    "word error rate as well; the subtitles of every recording come as one zip.",
}
UPLOADS = {
    "pictures": ("Zip of pictures", [".zip"], "single"),
    "recordings": ("Recordings, or a zip of them (and a transcripts table)", None, "multiple"),
}

# The reference column, named by what it holds for each metric family.
REFERENCE_LABELS = {
    "classification": "Reference column (true labels)",
    "translation": "Reference column (reference translations)",
    "entities": "Reference column (true entities)",
    "speech": "Reference column (true transcripts)",
}

slot: jobs.JobSlot | None = None  # made with the first tab, sized by the config's max_batch_jobs


class BatchJob(ChildJob):
    """`python -m batch.evaluate --progress jsonl` on the job's own copy of the upload."""

    name = "The batch run"  # a text of the translation table

    def __init__(self, args: dict[str, Any], owner: str = ""):
        super().__init__(owner)
        self.output = self.workdir / "output"
        # Each upload in a folder of its own: two recordings may both be called audio.wav.
        data = [self.private_copy(path, f"data/{i}") for i, path in enumerate(args["data"])]
        args = {**args, "data": data, "output": str(self.output)}
        self.start(jobs.python_module("batch.evaluate", [*_cli_args(args), "--progress=jsonl"]))

    def failure_message(self, code: int, stderr_tail: str) -> str:
        if self.cancelled:
            return say("The batch run was cancelled.")
        failure = super().failure_message(code, stderr_tail)
        return say("{failure} Try a smaller file or another model.", failure=failure)


def batch_section(studio: Studio, spec: TaskBatch, model: gr.Dropdown) -> None:
    """The tab's closed 'Run on a file' accordion and its endpoint, /<spec.api_name>."""
    global slot
    limits = studio.config.limits
    if slot is None:
        slot = jobs.JobSlot(capacity=limits.max_batch_jobs)
    downloads = jobs.output_folder(f"model-studio-batch-{spec.task}-")
    classification = spec.family == "classification"
    tagged = spec.family == "entities"
    table = spec.reads == "table"
    outputs = (*OUTPUTS, "subtitles") if spec.write_extras else OUTPUTS

    @user_errors("reading the file")
    def on_upload(data_file: str | None) -> tuple[Any, Any, str]:
        if not data_file:
            return gr.update(choices=[], value=None), gr.update(choices=[], value=None), ""
        rows = read_rows(
            data_file, max_rows=limits.max_batch_rows, max_bytes=limits.max_upload_mb * 2**20, tagged=tagged
        )
        guessed_reference = None
        if rows.words is not None:
            return (
                gr.update(choices=[(say("text"), "text")], value="text"),
                gr.update(choices=[], value=""),
                say("{rows:,} rows. Tagged sentences: the model is scored against their tags.", rows=len(rows.inputs)),
            )
        if len(rows.columns) > 1:
            import pandas as pd

            _, guessed_reference = guess_columns(pd.DataFrame(rows.records[:2000], columns=rows.columns))
        references = [(say("(none: no evaluation)"), "")] + [(c, c) for c in rows.columns if c != rows.text_column]
        return (
            gr.update(choices=rows.columns, value=rows.text_column),
            gr.update(choices=references, value=guessed_reference or ""),
            say("{rows:,} rows.", rows=len(rows.inputs)),
        )

    def run_on_file(
        data_file: str | None,
        text_column: str | None = None,
        reference_column: str | None = None,
        model_ref: str | None = None,
        label_map: str | None = None,
        compare_models: list[str] | None = None,
        request: gr.Request = None,
        progress: gr.Progress = gr.Progress(),
    ) -> Iterator[tuple]:
        """Run a whole file through the model; with a reference column, also score it (and compare models).

        Args:
            data_file: CSV, TSV, JSON, JSONL or Parquet with a column of texts, or TXT with one text a line.
            text_column: the column holding the texts; empty: guessed.
            reference_column: the column holding the true answers; empty: no evaluation.
            model_ref: a model the tab's dropdown lists (its label or reference); empty: the tab's default.
            label_map: the model's labels to the file's, such as "POSITIVE=pos, NEGATIVE=neg".
            compare_models: more models to run on the same file and score side by side.
        Returns:
            the first rows of the results, the results as CSV (the input's columns plus the model's), the report
            as JSON (when there are references), the results as JSONL, the report as Markdown, the metrics, the
            confusion matrix picture, and a status line.
        """
        if not data_file:
            raise UserError("No file was given; upload a CSV, TSV, JSON, JSONL, Parquet or TXT file first.")
        rows = read_rows(
            data_file, text_column, reference_column, limits.max_batch_rows, limits.max_upload_mb * 2**20, tagged
        )
        mapping = parse_label_map(label_map) if classification or tagged else {}
        columns = {"text-column": rows.text_column, "reference-column": rows.reference_column or ""}
        yield from run_job([str(data_file)], columns, mapping, [model_ref, *(compare_models or [])], request, progress)

    def run_on_pictures(
        data_file: str | None,
        model_ref: str | None = None,
        label_map: str | None = None,
        compare_models: list[str] | None = None,
        request: gr.Request = None,
        progress: gr.Progress = gr.Progress(),
    ) -> Iterator[tuple]:
        """Classify every picture in a zip; with one folder per class (or a labels.csv), also score the model.

        Args:
            data_file: a zip of JPEG, PNG, WebP, GIF or BMP pictures; class folders or labels.csv: references.
            model_ref: a model the tab's dropdown lists (its label or reference); empty: the tab's default.
            label_map: the model's classes to the zip's, such as "tabby, tabby cat=cat".
            compare_models: more models to run on the same pictures and score side by side.
        Returns:
            the first rows of the results, the results as CSV (file, label, prediction, score, error), the report
            as JSON (when there are references), the results as JSONL, the report as Markdown, the metrics, the
            confusion matrix picture, and a status line.
        """
        if not data_file:
            raise UserError("No file was given; upload a zip of pictures first.")
        mapping = parse_label_map(label_map)
        yield from run_job([str(data_file)], {}, mapping, [model_ref, *(compare_models or [])], request, progress)

    def run_on_recordings(
        files: list[str] | str | None,
        model_ref: str | None = None,
        compare_models: list[str] | None = None,
        request: gr.Request = None,
        progress: gr.Progress = gr.Progress(),
    ) -> Iterator[tuple]:
        """Transcribe several recordings; with transcripts (a CSV of file,transcript or same-named .txt files),
        also give the word and character error rates.

        Args:
            files: audio or video files, or zips of them, and optionally a transcripts table or .txt files.
            model_ref: a Whisper model the tab's dropdown lists (its label or reference); empty: the default.
            compare_models: more models to run on the same recordings and score side by side.
        Returns:
            the first rows of the results, the results as CSV (file, transcript, language, seconds, error), the
            report as JSON (when there are transcripts: wer, cer), the results as JSONL, the report as Markdown,
            the metrics, an unused picture slot, a status line, and a zip of an .srt and a .vtt per recording.
        """
        paths = [files] if isinstance(files, str) else list(files or [])
        if not paths:
            raise UserError("No recording was given; upload audio or video files, or a zip of them.")
        yield from run_job([str(p) for p in paths], {}, {}, [model_ref, *(compare_models or [])], request, progress)

    def run_job(
        data: list[str],
        columns: dict[str, str],
        mapping: dict[str, str],
        models: list[str | None],
        request: gr.Request | None,
        progress: gr.Progress,
    ) -> Iterator[tuple]:
        """Start the child process on the uploads and stream its progress; the finished files at the end."""
        refs = list(dict.fromkeys(studio.resolve(spec.task, ref) for ref in models))
        jobs.delete_older_than(downloads, limits.delete_files_after_s)
        check_free_disk(limits, [Path(tempfile.gettempdir()), downloads, gradio_cache()])
        args = {
            "task": spec.task,
            "data": data,
            **columns,
            "label-map": ",".join(f"{k}={v}" for k, v in mapping.items()),
            "config": str(studio.config.path),
            "max-rows": limits.max_batch_rows,
            # By name, as the page lists them: the child's answers and files show the names it is given.
            "model": [studio.public_name(spec.task, ref) for ref in refs],
        }
        if studio.device_override == "cpu":
            args["cpu"] = True
        if (lang := language(request)) != ENGLISH:  # the child's notes, row errors, report and picture: the user's
            args["language"] = lang
        assert slot is not None
        owner = getattr(request, "session_hash", "") or ""
        with studio.holding(refs):  # a run it reads is not deleted under it
            job = slot.start_job(lambda: BatchJob(args, owner))
            if job is None:
                raise UserError(
                    "{count} batch runs are already running on this app; wait for one to finish, then try again.",
                    count=limits.max_batch_jobs,
                )
            yield from follow(job, data, progress)

    def follow(job: BatchJob, data: list[str], progress: gr.Progress) -> Iterator[tuple]:
        """The job's progress as the endpoint's outputs; the finished files at the end."""
        yield _outputs({"status": say("Starting: loading the model for the {what}…", what=word(spec.what))}, outputs)
        last_update = 0.0
        model_name, rows, running = "", 0, ""
        try:
            for event in job.events():
                if event is None:  # nothing new; yielding lets a cancel or a closed browser stop us
                    yield _outputs({}, outputs)
                    continue
                kind = event["event"]
                if kind == "start":
                    model_name, rows = _short_name(event["model"]), event["rows"]
                    total = rows * event["models"]
                    running = say("Running {model}", model=model_name)  # the progress bar's words
                    progress((event["index"] * rows, total), desc=running, unit=say("rows"))
                    yield _outputs({"status": _start_line(model_name, rows, spec.what, event.get("note"))}, outputs)
                elif kind == "progress":
                    progress((event["done"], event["total"]), desc=running, unit=say("rows"))
                    if time.monotonic() - last_update > UPDATE_EVERY_S:
                        last_update = time.monotonic()
                        yield _outputs({"status": _progress_line(model_name, event, spec.what)}, outputs)
                elif kind == "error":
                    raise UserError(event["message"])
                elif kind == "done":
                    stem = Path(data[0]).stem if len(data) == 1 else spec.what
                    yield _outputs(_finished(event, job, downloads, stem, spec), outputs)
                    # Gradio has copied the files into its own cache before this generator resumes.
                    shutil.rmtree(downloads / job.workdir.name, ignore_errors=True)
                    return
        finally:
            if job.running():  # the client went away or pressed Cancel
                job.cancel()

    def cancel(request: gr.Request) -> str:
        assert slot is not None
        if slot.cancel(owner=request.session_hash):
            return say("Cancelled: the batch run was stopped.")
        return say("Nothing to cancel: no batch run of yours is running.")

    with gr.Accordion(ui(TITLES[spec.reads]), open=False):
        gr.Markdown(ui(INTRO[spec.reads]))
        with gr.Row(equal_height=False):
            with gr.Column():
                if table:
                    data_file = gr.File(
                        label=ui("File (CSV, TSV, JSON, JSONL, Parquet or TXT)"),
                        file_types=list(TEXT_SUFFIXES + (TAGGED_SUFFIXES if tagged else ())),
                        type="filepath",
                        height=110,
                    )
                    info = gr.Markdown(elem_classes="status-line")
                    with gr.Row():
                        text_column = gr.Dropdown(label=ui("Text column"), choices=[], allow_custom_value=True)
                        reference_column = gr.Dropdown(
                            label=ui(REFERENCE_LABELS[spec.family]), choices=[], allow_custom_value=True
                        )
                else:
                    label, file_types, count = UPLOADS[spec.reads]
                    data_file = gr.File(
                        label=ui(label), file_types=file_types, file_count=count, type="filepath", height=110
                    )
                label_map = gr.Textbox(
                    label=ui("Label mapping (optional)"),
                    placeholder=ui("e.g. POSITIVE=pos, NEGATIVE=neg"),
                    info=ui("The model's labels to yours; labels that differ only in case are matched by themselves."),
                    visible=classification or tagged,
                )
                compare = gr.Dropdown(
                    choices=studio.dropdown_choices(spec.task),
                    value=[],
                    multiselect=True,
                    label=ui("Compare with (optional)"),
                    allow_custom_value=True,  # checked by Studio.resolve against the live choices
                )
                with gr.Row():
                    run_button = gr.Button(ui(RUN_BUTTONS[spec.reads]), variant="primary")
                    cancel_button = gr.Button(ui("Cancel"), variant="stop")
            with gr.Column():
                status = gr.Markdown(elem_classes="status-line")
                metrics = gr.Markdown()
                # Hidden until a run has them (shown by the run button's success event, below): the first look shows
                # no empty picture, table or file.
                confusion = gr.Image(
                    label=ui("Confusion matrix"), type="filepath", interactive=False, height=320, visible=False
                )
        preview = gr.Dataframe(label=ui(PREVIEW_LABEL), interactive=False, wrap=True, max_height=360, visible=False)
        with gr.Row():
            csv_file = gr.File(label=ui("Results (CSV)"), interactive=False, height=60, visible=False)
            jsonl_file = gr.File(label=ui("Results (JSONL)"), interactive=False, height=60, visible=False)
            report_json = gr.File(label=ui("Report (JSON)"), interactive=False, height=60, visible=False)
            report_md = gr.File(label=ui("Report (Markdown)"), interactive=False, height=60, visible=False)
        subtitles = ui("Subtitles (.srt and .vtt, zip)")
        extra = [gr.File(label=subtitles, interactive=False, height=60, visible=False)] if spec.write_extras else []

    if table:
        data_file.change(on_upload, data_file, [text_column, reference_column, info], api_visibility="private")
        run, inputs = run_on_file, [data_file, text_column, reference_column, model, label_map, compare]
    elif spec.reads == "pictures":
        run, inputs = run_on_pictures, [data_file, model, label_map, compare]
    else:
        run, inputs = run_on_recordings, [data_file, model, compare]
    event = run_button.click(
        user_errors("running the file")(run),
        inputs,
        [preview, csv_file, report_json, jsonl_file, report_md, metrics, confusion, status, *extra],
        api_name=spec.api_name,
        concurrency_limit=limits.max_batch_jobs + 1,  # one more, so an extra request is told at once that it waits
        concurrency_id="batch",
    )
    cancel_button.click(cancel, None, status, cancels=[event], api_visibility="private")
    # The results appear once a run has them: the table, and each file the run made (no references, no report). Here
    # rather than in the endpoint's outputs, which the API returns as they are.
    files = [csv_file, report_json, jsonl_file, report_md, confusion, *extra]
    event.success(
        lambda *paths: [gr.update(visible=True), *(gr.update(visible=path is not None) for path in paths)],
        files,
        [preview, *files],
        api_visibility="private",
    )


def _finished(event: dict, job: BatchJob, downloads: Path, stem: str, spec: TaskBatch) -> dict:
    """The finished run's outputs: files copied where Gradio serves them, named after the upload."""
    import pandas as pd

    folder = downloads / job.workdir.name
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "-", stem)[:60] or "file"
    names = {
        "csv": f"{stem}.results.csv",
        "jsonl": f"{stem}.results.jsonl",
        "report_json": f"{stem}.report.json",
        "report_md": f"{stem}.report.md",
        "confusion": f"{stem}.confusion.png",
        "subtitles": f"{stem}.subtitles.zip",
    }
    files = {key: str(shutil.copy(path, folder / names[key])) for key, path in event["files"].items()}
    report = event["report"]
    preview = pd.read_csv(files["csv"], nrows=PREVIEW_ROWS, dtype=str, keep_default_na=False)
    done = {
        "rows": report["rows"],
        "what": word(spec.what),
        "seconds": report["seconds"],
        "speed": report["rows_per_second"],
        "model": _short_name(report["model"]),
    }
    if report["failed_rows"]:
        line = say(
            "Done: {rows:,} {what} in {seconds:.1f} s ({speed:.1f}/s) with **{model}**. "
            "{failed:,} {what} could not be run; their **error** column says why.",
            failed=report["failed_rows"],
            **done,
        )
    else:
        line = say("Done: {rows:,} {what} in {seconds:.1f} s ({speed:.1f}/s) with **{model}**.", **done)
    has_report = "report_json" in files
    return {
        "preview": _headers_said(preview, spec),
        "csv": files["csv"],
        "report_json": files.get("report_json"),
        "jsonl": files["jsonl"],
        "report_md": files.get("report_md"),
        "metrics": markdown({"scored_rows": report["rows"], "unreferenced_rows": 0, **report}) if has_report else "",
        "confusion": files.get("confusion"),
        "status": line,
        "subtitles": files.get("subtitles"),
    }


def _headers_said(preview: Any, spec: TaskBatch) -> Any:
    """The preview's headers in the request's language where they are the app's own words: the columns the run
    adds and, for pictures and recordings, the file and reference columns it reads them into. The columns of a
    user's table keep their names (a column that clashed with one of the run's was renamed model_<name>: kept too).
    """
    ours = [*spec.fields, "error"]
    columns = list(preview.columns)
    own = set(columns[-len(ours) :]) & set(ours)
    if spec.reads != "table":
        own |= set(columns)
    return preview.rename(columns={column: say(column) for column in own})


def gradio_cache() -> Path:
    """Where Gradio keeps the copies of the files it serves."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def _start_line(model_name: str, rows: int, what: str, note: str | None) -> str:
    """The status line when a model starts, with the child's note (said in the run's language) on a stand-in."""
    if note:
        return say(
            "Running **{model}** on {rows:,} {what}… *{note}*", model=model_name, rows=rows, what=word(what), note=note
        )
    return say("Running **{model}** on {rows:,} {what}…", model=model_name, rows=rows, what=word(what))


def _progress_line(model_name: str, event: dict, what: str = "rows") -> str:
    """How far the run is, in the request's language; `what` a row is: a word of the translation table."""
    minutes = lambda s: f"{int(s) // 60}:{int(s) % 60:02d}"  # noqa: E731
    return say(
        "Running **{model}**: {done:,}/{total:,} {what} · elapsed {elapsed} · about {left} left",
        model=model_name,
        done=event["done"],
        total=event["total"],
        what=word(what),
        elapsed=minutes(event["elapsed"]),
        left=minutes(event["eta"]),
    )


def _short_name(ref: str) -> str:
    return Path(ref).name if Path(ref).is_absolute() else ref


def _outputs(values: dict, names: tuple[str, ...] = OUTPUTS) -> tuple:
    return tuple(values.get(name, gr.skip()) for name in names)


def _cli_args(args: dict[str, Any]) -> list[str]:
    """Each value glued to its flag, so a column named "--output=/x" stays a value; lists repeat the flag."""
    flags = []
    for key, value in args.items():
        if value is True:
            flags.append(f"--{key}")
        elif isinstance(value, list):
            flags += [f"--{key}={v}" for v in value]
        elif value is not None:
            flags.append(f"--{key}={value}")
    return flags
