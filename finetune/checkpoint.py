"""A run's checkpoint: what a stopped or crashed training needs to go on from its last finished epoch.

It lives beside the run's folder-to-be, hidden (`.<run>.checkpoint`), so the runs listing skips it, and holds the
run's settings, its own copy of the data files (the app deletes uploads, and the same data is the point), and after
each epoch the model, the optimizer, the schedule, the random generators and the loop's counters. Training deletes
it once the run is saved.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from studio.errors import UserError

SETTINGS_FILE = "settings.json"  # the TrainConfig, with the data files pointing at the copies beside it
STATE_FILE = "state.pt"
LOG_FILE = "training_log.jsonl"  # the events so far, ending with why training stopped
DATA_FIELDS = ("data", "validation", "corrections")  # the settings that name files, copied in


def checkpoint_folder(output: str | Path) -> Path:
    output = Path(output)
    return output.parent / f".{output.name}.checkpoint"


def run_folder(checkpoint: Path) -> Path:
    """The folder the run will be saved in, from its checkpoint's."""
    return checkpoint.parent / checkpoint.name[1 : -len(".checkpoint")]


@dataclass
class Unfinished:
    """A run that stopped before its last epoch and can be resumed."""

    name: str  # the run folder's name it will have
    task: str
    model: str
    data: str  # the data file's name
    epochs_done: int
    epochs: int
    reason: str  # why it stopped: "cancelled", or "" when the process ended without saying (a crash, a restart)


def unfinished_runs(runs_dir: str | Path) -> list[Unfinished]:
    """The runs in `runs_dir` that can be resumed, newest first."""
    runs_dir = Path(runs_dir)
    found = []
    folders = sorted(runs_dir.glob(".*.checkpoint"), key=lambda p: p.stat().st_mtime, reverse=True)
    for folder in folders if runs_dir.is_dir() else []:
        state = read_progress(folder)
        if state is None:
            continue
        settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
        found.append(
            Unfinished(
                name=run_folder(folder).name,
                task=settings["task"],
                model=settings["model"],
                data=Path(settings["data"]).name,
                epochs_done=state["epoch"],
                epochs=settings["epochs"],
                reason=state.get("stopped", ""),
            )
        )
    return found


def read_progress(folder: Path) -> dict | None:
    """The counters of a checkpoint (epoch done, why it stopped), or None when it has no finished epoch."""
    try:
        return json.loads((folder / "progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _begin(folder: Path, cfg: Any) -> None:
    """The checkpoint's settings and its own copy of the data files, which a resumed run reads."""
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "data").mkdir(parents=True)
    copied = {}
    for name in DATA_FIELDS:
        path = getattr(cfg, name)
        if path:
            target = folder / "data" / name / Path(path).name
            target.parent.mkdir()
            shutil.copyfile(path, target)
            copied[name] = str(target)
    settings = {**asdict(cfg), **copied}
    (folder / SETTINGS_FILE).write_text(json.dumps(settings, indent=2), encoding="utf-8")


def settings_of(output: str | Path, config_type: type) -> Any:
    """The settings a stopped run was started with, to resume it."""
    folder = checkpoint_folder(output)
    if read_progress(folder) is None:
        raise UserError("{run} has no finished epoch to resume from; train it again instead.", run=Path(output).name)
    values = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    known = {f.name for f in fields(config_type)}
    return config_type(**{key: value for key, value in values.items() if key in known})


def save(cfg: Any, state: dict, events: list[dict]) -> None:
    """Write the state after an epoch: each file replaced in one step, so a kill mid-write leaves the last one."""
    import torch

    folder = checkpoint_folder(cfg.output)
    if not (folder / SETTINGS_FILE).is_file():
        _begin(folder, cfg)
    state = {**state, "rng": _rng_state()}
    _replace(folder / STATE_FILE, lambda path: torch.save(state, path))
    write_log(folder, events)
    progress = {"epoch": state["epoch"], "step": state["step"], "stopped": ""}
    _replace(folder / "progress.json", lambda path: path.write_text(json.dumps(progress), encoding="utf-8"))


def mark_stopped(output: str | Path, stop: dict) -> None:
    """Record why the run stopped before its end (its "stop" event) at the end of the log of its last state, if it
    has finished an epoch."""
    folder = checkpoint_folder(output)
    progress = read_progress(folder)
    if progress is not None:
        write_log(folder, [*logged_events(output), stop])
        progress["stopped"] = stop["reason"]
        _replace(folder / "progress.json", lambda path: path.write_text(json.dumps(progress), encoding="utf-8"))


def load(output: str | Path) -> dict:
    """The state saved after the last finished epoch; the random generators are put back as they were."""
    import torch

    state = torch.load(checkpoint_folder(output) / STATE_FILE, map_location="cpu", weights_only=False)
    _set_rng_state(state["rng"])
    return state


def logged_events(output: str | Path) -> list[dict]:
    try:
        lines = (checkpoint_folder(output) / LOG_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def write_log(folder: Path, events: list[dict]) -> None:
    text = "".join(json.dumps(event) + "\n" for event in events)
    _replace(folder / LOG_FILE, lambda path: path.write_text(text, encoding="utf-8"))


def remove(output: str | Path) -> None:
    shutil.rmtree(checkpoint_folder(output), ignore_errors=True)


def _replace(path: Path, write: Any) -> None:
    partial = path.with_name(path.name + ".partial")
    write(partial)
    os.replace(partial, path)


def _rng_state() -> dict:
    import numpy as np
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    import numpy as np
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
