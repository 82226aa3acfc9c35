"""Fine-tuned runs on disk: which there are, the tab each serves in, the room they take, and the limits on that.

A run is a folder in runs_dir that fine-tuning wrote (finetune/report.py); a faster CPU copy of one is a folder
beside it, `<run>-int8`, whose metrics.json names the run it was made from. Fine-tuning makes them; the tabs serve
them; batch runs read them: so what they are lives here, on the floor all three stand on.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from studio.config import Limits
from studio.errors import UserError
from studio.i18n import word

# A text classifier fine-tuned as a head on the pack's frozen multilingual encoder: its labels, weights and bias.
ENCODER_HEAD_FILE = "encoder_head.json"
COMPLETE_MARKER = "metrics.json"  # written last inside the folder, which is itself renamed into place
# The tab each kind of run is served in.
SERVED_IN = {"text": "text_classification", "image": "image_classification", "entities": "ner"}
GIB = 2**30
# The run each tab serves by default, where the user made one the default (Fine-tune → Your runs): tab -> folder name.
DEFAULTS_FILE = "defaults.json"
WHERE_TO_DELETE = "Fine-tune → Your runs"  # a text of the translation table, as are the remedies below
DELETE_A_RUN = f"delete a run in {WHERE_TO_DELETE}"


def list_runs(runs_dir: Path) -> dict[str, Path]:
    """Complete runs (and their faster CPU copies) in `runs_dir`, newest first, by folder name; partial or broken
    folders are skipped."""
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
        # A run, its faster copy, or a head on the frozen multilingual encoder.
        and any((path / name).is_file() for name in ("model.safetensors", "model.onnx", ENCODER_HEAD_FILE))
    ]
    complete.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return {path.name: path for path in complete}


def run_metadata(run: Path) -> dict:
    try:
        return json.loads((run / COMPLETE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def run_task(run: Path) -> str:
    """The kind of model a run folder holds ("text" for runs from before there were other kinds)."""
    return run_metadata(run).get("task", "text")


def run_label(run: Path) -> str:
    """What the dropdowns call a run: its folder's name, or "<run> (int8)" for a faster CPU copy."""
    return run_metadata(run).get("label") or run.name


def copy_of(run: Path) -> str | None:
    """The name of the run a faster CPU copy was made from; None for a run."""
    return run_metadata(run).get("optimised_from")


def copies_of(run: Path) -> list[Path]:
    """The faster CPU copies made from `run`, which go with it."""
    return [path for path in list_runs(run.parent).values() if copy_of(path) == run.name]


def folder_bytes(folder: Path) -> int:
    """The size of every file under `folder`."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:  # deleted while we counted
                continue
    return total


def check_room_for_a_run(limits: Limits, runs_dir: Path) -> None:
    """Refuse a new fine-tune when runs_dir holds max_runs runs or more than max_runs_gib, or the disk is nearly
    full."""
    runs = [path for path in list_runs(runs_dir).values() if copy_of(path) is None]
    if len(runs) >= limits.max_runs:
        raise UserError(
            "There are already {count} fine-tuned models, the limit (max_runs in models.toml); delete one in "
            "{where}, then train again.",
            count=len(runs),
            where=word(WHERE_TO_DELETE),
        )
    check_room_for_a_copy(limits, runs_dir, again="train again")


def check_room_for_a_copy(limits: Limits, runs_dir: Path, again: str = "try again") -> None:
    """Refuse to write more into runs_dir when it holds more than max_runs_gib or the disk is nearly full.

    `again` is a phrase of the translation table ("try again", "train again")."""
    used = folder_bytes(runs_dir) if Path(runs_dir).is_dir() else 0
    if used > limits.max_runs_gib * GIB:
        raise UserError(
            "The fine-tuned models take {used:.1f} GiB, more than the limit of {limit:g} GiB "
            "(max_runs_gib in models.toml); delete one in {where}, then {again}.",
            used=used / GIB,
            limit=limits.max_runs_gib,
            where=word(WHERE_TO_DELETE),
            again=word(again),
        )
    check_free_disk(limits, [Path(runs_dir), Path(tempfile.gettempdir())], DELETE_A_RUN)


def check_free_disk(limits: Limits, folders: list[Path], remedy: str = "wait for old outputs to be deleted") -> None:
    """Refuse a job that writes to `folders` when any of their disks has less than min_free_disk_gib free;
    `remedy` is a phrase of the translation table."""
    free = min(shutil.disk_usage(_existing(folder)).free for folder in folders)
    if free < limits.min_free_disk_gib * GIB:
        raise UserError(
            "Only {free:.1f} GiB of disk is free on the server, under the floor of {floor:g}"
            " GiB (min_free_disk_gib in models.toml); {remedy} or free some disk, then try again.",
            free=free / GIB,
            floor=limits.min_free_disk_gib,
            remedy=word(remedy),
        )


def delete_run(run: Path) -> list[Path]:
    """Delete a run and its faster CPU copies (or just a copy); returns the folders that went."""
    folders = [*copies_of(run), run]
    for folder in folders:
        # Renamed first, so that nothing lists a half-deleted folder as a run; a hidden partial name is also what the
        # app sweeps away at start-up (finetune/report.py) if this process dies before it is gone.
        doomed = folder.parent / f".{folder.name}.partial-{os.getpid()}"
        shutil.rmtree(doomed, ignore_errors=True)
        os.replace(folder, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    return folders


def chosen_defaults(runs_dir: Path) -> dict[str, str]:
    """The runs made the default of their tab, tab -> folder name, as long as each run is still there."""
    try:
        chosen = json.loads((Path(runs_dir) / DEFAULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    runs = list_runs(runs_dir)
    return {
        tab: name
        for tab, name in (chosen.items() if isinstance(chosen, dict) else [])
        if isinstance(name, str) and name in runs and SERVED_IN.get(run_task(runs[name])) == tab
    }


def save_chosen_defaults(runs_dir: Path, chosen: dict[str, str]) -> None:
    """Keep the runs made defaults across restarts (written whole, then renamed into place)."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    partial = runs_dir / f".{DEFAULTS_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(chosen, indent=2), encoding="utf-8")
    os.replace(partial, runs_dir / DEFAULTS_FILE)


def _existing(folder: Path) -> Path:
    """`folder`, or the nearest folder above it that exists (runs_dir is made by the first run)."""
    folder = Path(folder).resolve()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder
