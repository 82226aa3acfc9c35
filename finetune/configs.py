"""A run's full configuration as a file (training_config.json in its folder), read back to train again, and the
command line that reproduces it."""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, fields
from pathlib import Path, PurePath
from typing import Any

from finetune.train import TrainConfig, cli_flags
from studio.errors import UserError

# Settings that say where files are: the command names them by file name, as the user knows them.
FILE_SETTINGS = ("data", "validation")
# Settings the command leaves out: the app's own limits and devices, not part of what the run learned, and the record
# of the label check's corrections, which made the data file the command names.
NOT_IN_COMMAND = ("max_rows", "cpu", "corrections")
SETTINGS = {f.name for f in fields(TrainConfig)}


def read_config(path: str | Path, task: str | None = None) -> dict:
    """The settings of a training_config.json (or a run's metrics.json, which holds them), checked: only known
    settings, of the kind `task` when given."""
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise UserError("The settings file is not JSON; upload a run's training_config.json.") from None
    if isinstance(values, dict) and isinstance(values.get("config"), dict):
        values = values["config"]  # a run's metrics.json
    if not isinstance(values, dict) or not SETTINGS & set(values):
        raise UserError("The settings file holds no training settings; upload a run's training_config.json.")
    if task and values.get("task", "text") != task:
        raise UserError(
            "These settings are for a {found} run, not a {task} run; load them in that kind's tab.",
            found=str(values.get("task"))[:40],
            task=task,
        )
    return {key: value for key, value in values.items() if key in SETTINGS}


def command_line(config: dict, output: str = "") -> str:
    """`python -m finetune ...` with every setting that differs from the defaults: the run again, on the same file."""
    defaults = asdict(TrainConfig(data="", output=""))
    args = ["python", "-m", "finetune", "--task", config.get("task", "text")]
    args += ["--data", _file_name(config["data"]), "--output", output or f"runs/{_file_name(config['output'])}"]
    changed = {
        key: value
        for key, value in config.items()
        if key not in {"task", "data", "output", *NOT_IN_COMMAND} and key in defaults and value != defaults[key]
    }
    for key, flag, value in cli_flags(changed):
        args += [flag] if value is True else [flag, _file_name(value) if key in FILE_SETTINGS else str(value)]
    return shlex.join(args)


def _file_name(path: Any) -> str:
    return PurePath(str(path)).name
