"""Fine-tune → Your runs: the table of runs, two or more side by side, the one each tab serves by default, delete.

Endpoints: /compare_runs, /make_default, /delete_run; the tab wires Resume (/resume_run), which trains. The runs are
the folders fine-tuning wrote (studio/runs.py); what the table and the comparison say of them comes from
finetune/compare.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from finetune import checkpoint
from finetune.checkpoint import Unfinished, unfinished_runs
from finetune.compare import RunRecord, compare, run_record
from finetune.configs import command_line
from finetune.report import confusion_in_language, shown_model
from studio.errors import UserError
from studio.i18n import say, ui, word
from studio.runs import (
    GIB,
    SERVED_IN,
    WHERE_TO_DELETE,
    copies_of,
    copy_of,
    delete_run,
    folder_bytes,
    list_runs,
    run_label,
    run_metadata,
    run_task,
)
from studio.runtime import Studio
from studio.ui import user_errors

RUNS_NOTE = (
    "Each fine-tuned model is kept on the server until it is deleted here; a new fine-tune is refused once there "
    "are {max_runs} of them or they take more than {max_gib:g} GiB. The models named in models.toml, and those a "
    "batch run or a faster copy is using, cannot be deleted."
)
# The kinds of run as the table names them: words of the translation table.
KIND_NAMES = {"text": "Text classifier", "image": "Image classifier", "entities": "Entity recogniser"}
# The tab each kind is served in, as a sentence names it.
TAB_NAMES = {"text": "Text classification", "image": "Image classification", "entities": "Named entities"}


@dataclass
class RunsSection:
    """The components of Your runs that the rest of the Fine-tune tab refreshes after a run or a copy."""

    table: gr.Dataframe
    picked: gr.Dropdown
    to_compare: gr.Dropdown
    stopped: gr.Dropdown  # the runs that stopped before their end, to resume
    resume: gr.Button
    check: gr.Button  # Check its labels: the tab puts the picked run's data in its kind's form and checks it there
    usage: gr.Markdown
    note: gr.Markdown
    refreshed: Callable[[], tuple]  # the table, the three lists of runs and the usage line, as they are now
    wire: Callable[[], None]  # its buttons' events: called after the training's, so the API lists those first

    def outputs(self) -> list[Any]:
        """What `refreshed` fills, in its order."""
        return [self.table, self.picked, self.to_compare, self.stopped, self.usage]


def runs_usage(studio: Studio) -> str:
    """How many runs there are and how much they take, against the limits."""
    limits, runs_dir = studio.config.limits, studio.config.runs_dir
    runs = sum(1 for path in list_runs(runs_dir).values() if copy_of(path) is None)
    used = folder_bytes(runs_dir) / GIB if Path(runs_dir).is_dir() else 0.0
    return say(
        "{runs} of {max_runs} fine-tuned models kept, taking {used:.1f} of {max_gib:g} GiB.",
        runs=runs,
        max_runs=limits.max_runs,
        used=used,
        max_gib=limits.max_runs_gib,
    )


def run_choices(studio: Studio) -> list[tuple[str, str]]:
    """The runs and copies, newest first: (label, folder name)."""
    return [(run_label(path), name) for name, path in list_runs(studio.config.runs_dir).items()]


def stopped_choices(studio: Studio) -> list[tuple[str, str]]:
    """The runs that stopped before their end, newest first: (what the list says, folder name)."""
    return [(_stopped_cell(run, with_name=True), run.name) for run in unfinished_runs(studio.config.runs_dir)]


def stopped_run(studio: Studio, name: str | None) -> Unfinished:
    """The run that stopped before its end that `name` names."""
    run = next((run for run in unfinished_runs(studio.config.runs_dir) if run.name == name), None)
    if run is None:
        raise UserError(
            "There is no stopped run named '{name}'; choose one of the stopped runs Your runs lists.",
            name=(name or "")[:80],
        )
    return run


def _stopped_cell(run: Unfinished, with_name: bool = False) -> str:
    said = say("stopped at epoch {done} of {epochs} — Resume", done=run.epochs_done, epochs=run.epochs)
    return f"{run.name}: {said}" if with_name else said


def runs_table(studio: Studio) -> Any:
    """Every run, newest first, as the page lists them: what it is, what it was trained on, how it scored; then the
    runs that stopped before their end, which can be resumed."""
    import pandas as pd

    defaults = set(studio.chosen_defaults.values())
    rows = []
    for path in list_runs(studio.config.runs_dir).values():
        record = run_record(path)
        rows.append(
            [
                record.name,
                say(KIND_NAMES.get(record.kind, record.kind)),
                record.base,
                _data_cell(record),
                record.finished,
                _epochs_cell(record),
                f"{say(record.headline[0])} {record.headline[1]:.3f}" if record.headline else "",
                "✓" if str(path) in defaults else "",
            ]
        )
    for run in unfinished_runs(studio.config.runs_dir):
        kind = say(KIND_NAMES.get(run.task, run.task))
        rows.append([run.name, kind, shown_model(run.model), run.data, "", _stopped_cell(run), "", ""])
    headers = ["Name", "Kind", "Base model", "Data", "Finished", "Epochs", "Score", "Default"]
    return pd.DataFrame(rows, columns=[say(header) for header in headers])


def _data_cell(record: RunRecord) -> str:
    corrections = record.corrections
    if not corrections:
        return record.data
    origin = corrections.get("of") or {}
    return say(
        "{data}, corrected from {file} ({sha}): {changed} labels changed, {dropped} rows dropped",
        data=record.data,
        file=origin.get("file", ""),
        sha=str(origin.get("sha256", ""))[:8],
        changed=len(corrections.get("changed", [])),
        dropped=len(corrections.get("dropped", [])),
    )


def _epochs_cell(record: RunRecord) -> str:
    if not record.epochs_run:
        return ""
    return say("{run} of {max} (kept {kept})", run=record.epochs_run, max=record.epochs_max, kept=record.kept_epoch)


def named_run(studio: Studio, name: str | None) -> Path:
    """The run (or faster copy) that `name` names: its folder name or its label."""
    name = (name or "").strip()
    runs = list_runs(studio.config.runs_dir)  # only runs the app made: never a path a client sends
    run = runs.get(name) or next((path for path in runs.values() if run_label(path) == name), None)
    if run is None:
        raise UserError(
            "There is no run named '{name}'; choose one of the runs {where} lists.",
            name=name[:80],
            where=word(WHERE_TO_DELETE),
        )
    return run


def deletable_run(studio: Studio, name: str | None) -> Path:
    """The run (or faster copy) that `name` names, once it is clear that it may be deleted."""
    run = named_run(studio, name)
    for folder in [*copies_of(run), run]:
        label = run_label(folder)
        entry = studio.named_in_config([str(folder), folder.name, label])
        if entry:
            raise UserError(
                "'{run}' is named in models.toml ({entry}), so it cannot be deleted here; take it out of models.toml "
                "first.",
                run=label,
                entry=entry,
            )
        if studio.held(str(folder)):
            raise UserError(
                "'{run}' is in use by a batch run or a faster copy being made; wait for it to finish, then delete it.",
                run=label,
            )
    return run


def delete_and_forget(studio: Studio, run: Path) -> str:
    """Delete a run and its faster copies (or just a copy): out of every tab, out of memory, off the disk."""
    folders = [*copies_of(run), run]
    for folder in folders:
        studio.forget(str(folder))
    delete_run(run)
    name, usage = run_label(run), runs_usage(studio)
    if len(folders) == 2:
        return say("Deleted **{run}** and its faster CPU copy. {usage}", run=name, usage=usage)
    if len(folders) > 2:
        return say("Deleted **{run}** and its {copies} copies. {usage}", run=name, copies=len(folders) - 1, usage=usage)
    return say("Deleted **{run}**. {usage}", run=name, usage=usage)


def build_runs_section(studio: Studio, model_dropdowns: dict[str, gr.Dropdown], downloads: Path) -> RunsSection:
    """Your runs, inside the Fine-tune tab: built where it is called, wired here."""
    tabs = list(SERVED_IN.values())

    def listing() -> tuple:
        """The table and the three lists of runs, as they are now."""
        choices, table = run_choices(studio), runs_table(studio)
        stopped_runs = gr.update(choices=stopped_choices(studio), value=None)
        return (
            gr.update(value=table, visible=len(table) > 0),
            gr.update(choices=choices),
            gr.update(choices=choices),
            stopped_runs,
        )

    def refreshed() -> tuple:
        return *listing(), runs_usage(studio)

    def model_lists(served_in: str, value: str | None = None) -> list[Any]:
        """The three model lists: the one of `served_in` with its choices again (and on `value`, when given)."""
        updates = []
        for tab in tabs:
            if tab != served_in:
                updates.append(gr.update())
            elif value is None:
                updates.append(gr.update(choices=studio.dropdown_choices(tab)))
            else:
                updates.append(gr.update(choices=studio.dropdown_choices(tab), value=value))
        return updates

    @user_errors("comparing the runs")
    def compare_runs(runs: list[str] | str | None) -> tuple[str, Any, Any, Any, list]:
        """Two or more runs of one kind side by side: their scores, the F1 of each label, each confusion matrix, and
        the validation rows whose prediction changed.

        Args:
            runs: the runs' names (as /finetune returned them), a list or one text separated by commas.
        Returns:
            a one-line summary, the scores (a row per metric, a column per run), the F1 of each label, the
            validation rows every run saw whose prediction differs between runs (each run's prediction marked ✓
            right or ✗ wrong by its own data's label), and each run's confusion matrix.
        """
        import pandas as pd

        names = [name.strip() for name in (runs.split(",") if isinstance(runs, str) else runs or []) if name.strip()]
        folders = list(dict.fromkeys(named_run(studio, name) for name in names))
        comparison = compare(folders)
        columns = comparison.runs
        metrics = pd.DataFrame(
            [[say(row[0]), *row[1:]] for row in comparison.metrics], columns=[say("Metric"), *columns]
        )
        per_label = pd.DataFrame(comparison.per_label, columns=[say("Label (F1)"), *columns])
        changed = pd.DataFrame(
            comparison.changed, columns=[say("Validation row"), say("Label (last run's data)"), *columns]
        )
        pictures = [
            (
                confusion_in_language(
                    run, run_metadata(run)["metrics"], run_task(run), downloads / f"{run.name}.compare.png"
                ),
                name,
            )
            for run, name in zip(folders, comparison.runs)
            if (run / "confusion_matrix.png").is_file()
        ]
        summary = say(
            "{shared:,} validation rows were seen by every run; {changed:,} of them are predicted differently, "
            "those where one run is right and another wrong first.",
            shared=comparison.compared_rows,
            changed=comparison.changed_total,
        )
        return summary, metrics, per_label, changed, pictures

    @user_errors("making the run the default")
    def make_default(run_name: str | None) -> tuple:
        """Serve a fine-tuned model by default in its tab (and to API calls that name no model), from now on and
        after restarts; deleting it brings back the configured default.

        Args:
            run_name: the run's name, as /finetune returned it (a faster copy: "<run> (int8)").
        Returns:
            what was done, and the Text classification, Image classification and Named entities model lists.
        """
        run = named_run(studio, run_name)
        served_in = SERVED_IN[run_task(run)]
        studio.make_default(served_in, str(run))
        said = say(
            "**{run}** now answers by default in the {tab} tab and its API.",
            run=run_label(run),
            tab=word(TAB_NAMES[run_task(run)]),
        )
        return said, *model_lists(served_in, studio.public_name(served_in, str(run)))

    @user_errors("deleting the run")
    def delete(run_name: str | None) -> tuple:
        """Delete a fine-tuned model (with its faster CPU copy) from the server, to make room for new ones.

        Args:
            run_name: the run's name, as /finetune returned it (a faster copy: "<run> (int8)"). Models named in
                models.toml, and those a batch run or a faster copy is using, are not deleted.
        Returns:
            what was deleted and what is left, the runs left, and the Text classification, Image classification
            and Named entities model lists.
        """
        run = deletable_run(studio, run_name)
        served_in = SERVED_IN[run_task(run)]
        message = delete_and_forget(studio, run)
        lists = [gr.update(choices=studio.dropdown_choices(tab)) for tab in tabs]
        lists[tabs.index(served_in)]["value"] = studio.public_name(served_in, studio.default(served_in))
        return message, gr.update(choices=run_choices(studio), value=None), *lists

    @user_errors("showing the command")
    def show_command(run_name: str | None) -> Any:
        """The command line that trains the run again, from its configuration."""
        run = named_run(studio, run_name)
        config = run_metadata(run).get("config")
        if copy_of(run) is not None or not config:
            raise UserError("'{run}' is a faster copy, not a trained run; show the command of its run.", run=run.name)
        return gr.update(value=command_line(config, output=f"runs/{run.name}"), visible=True)

    @user_errors("discarding the stopped run")
    def discard_stopped(name: str | None) -> str:
        run = stopped_run(studio, name)
        checkpoint.remove(Path(studio.config.runs_dir) / run.name)
        return say("Discarded the stopped run **{run}**. {usage}", run=run.name, usage=runs_usage(studio))

    with gr.Accordion(ui("Your runs"), open=False):
        # Its numbers come from models.toml: said in the visitor's language when the page loads.
        note = gr.Markdown(elem_classes="status-line")
        table = gr.Dataframe(label=ui("Runs, newest first"), interactive=False, wrap=True, visible=False)
        with gr.Row(equal_height=True):
            picked = gr.Dropdown(
                choices=run_choices(studio),
                value=None,
                label=ui("Fine-tuned model"),
                allow_custom_value=True,  # checked against runs_dir
                scale=4,
            )
            default_button = gr.Button(ui("Make default"), scale=1, min_width=80)
            command_button = gr.Button(ui("Show the command"), scale=1, min_width=80)
            check_button = gr.Button(ui("Check its labels"), scale=1, min_width=80)
            delete_button = gr.Button(ui("Delete"), variant="stop", scale=1, min_width=80)
        with gr.Row(equal_height=True):
            stopped = gr.Dropdown(
                choices=stopped_choices(studio),
                value=None,
                label=ui("Stopped runs"),
                allow_custom_value=True,  # checked against runs_dir, like the runs stopped after page load
                scale=4,
            )
            resume_button = gr.Button(ui("Resume"), scale=1, min_width=80)
            discard_button = gr.Button(ui("Discard"), variant="stop", scale=1, min_width=80)
        usage = gr.Markdown(elem_classes="status-line")  # filled when the page loads
        command = gr.Code(label=ui("The command that trains it again"), language="shell", visible=False)
        with gr.Row(equal_height=True):
            to_compare = gr.Dropdown(
                choices=run_choices(studio),
                value=None,
                multiselect=True,
                label=ui("Runs to compare"),
                allow_custom_value=True,  # checked against runs_dir, like the runs a fine-tune adds after page load
                scale=4,
            )
            compare_button = gr.Button(ui("Compare"), scale=1, min_width=80)
        summary = gr.Markdown()
        # Shown with their results: their headers are the runs' names.
        scores = gr.Dataframe(label=ui("Scores"), interactive=False, visible=False)
        per_label = gr.Dataframe(label=ui("F1 of each label"), interactive=False, visible=False)
        changed = gr.Dataframe(
            label=ui("Validation rows predicted differently"), interactive=False, wrap=True, visible=False
        )
        confusion = gr.Gallery(label=ui("Confusion matrices"), columns=3, height="auto", visible=False)

    def wire() -> None:
        lists = [model_dropdowns[tab] for tab in tabs]
        compare_button.click(
            compare_runs, to_compare, [summary, scores, per_label, changed, confusion], api_name="compare_runs"
        ).success(
            lambda: [gr.update(visible=True)] * 4,
            None,
            [scores, per_label, changed, confusion],
            api_visibility="private",
        )
        # Then the listing again, leaving the usage line, which says what was done.
        default_button.click(make_default, picked, [usage, *lists], api_name="make_default").success(
            listing, None, [table, picked, to_compare, stopped], api_visibility="private"
        )
        command_button.click(show_command, picked, command, api_visibility="private")
        discard_button.click(discard_stopped, stopped, usage, api_visibility="private").success(
            listing, None, [table, picked, to_compare, stopped], api_visibility="private"
        )
        delete_button.click(
            delete,
            picked,
            [usage, picked, *lists],
            api_name="delete_run",
            concurrency_limit=1,  # two requests to delete one run: the second is told there is no such run
        ).success(listing, None, [table, picked, to_compare, stopped], api_visibility="private")

    section = RunsSection(table, picked, to_compare, stopped, resume_button, check_button, usage, note, refreshed, wire)
    return section
