"""Training runs in a child process (studio/jobs.py): Cancel really stops it, its memory goes with it, the app
keeps serving."""

from __future__ import annotations

import signal
from dataclasses import asdict, replace
from pathlib import Path

from finetune.train import TrainConfig, remove_partial
from studio import jobs
from studio.jobs import OUT_OF_MEMORY, ChildJob

OUT_OF_MEMORY_MESSAGE = (
    "Training ran out of memory and stopped; no model was saved. Try a smaller batch size or max length."
)


class TrainingJob(ChildJob):
    """`python -m finetune --progress jsonl` as a child process whose JSON events we read.

    The job reads its own links (or copies) of the data files, so the app's scheduled cleanup of uploads
    cannot delete them from under it; they go when the job ends. `command` replaces the training program
    (tests use it to make a child fail in a chosen way).
    """

    name = "Training"

    def __init__(self, cfg: TrainConfig, owner: str = "", command: list[str] | None = None):
        super().__init__(owner)
        self.cfg = replace(
            cfg,
            data=self.private_copy(cfg.data, "data"),
            validation=self.private_copy(cfg.validation, "validation") if cfg.validation else None,
        )
        self.start(command or jobs.python_module("finetune", [*_cli_args(self.cfg), "--progress", "jsonl"]))

    def clean_up(self) -> None:
        remove_partial(Path(self.cfg.output))

    def failure_message(self, code: int, stderr_tail: str) -> str:
        if self.cancelled:
            return "Training was cancelled; no model was saved."
        if code in (-signal.SIGKILL, 137):
            return (
                "Training was stopped by the system, most likely out of memory; try a smaller batch size or max length."
            )
        if any(marker in stderr_tail for marker in OUT_OF_MEMORY):
            return OUT_OF_MEMORY_MESSAGE
        return (
            f"Training stopped unexpectedly (exit code {code}); no model was saved, "
            "and the details are in the server log."
        )


class JobSlot(jobs.JobSlot):
    """One training at a time per app."""

    def start(self, cfg: TrainConfig, owner: str) -> TrainingJob | None:
        """A started job, or None when another one is running."""
        return self.start_job(lambda: TrainingJob(cfg, owner))


def _cli_args(cfg: TrainConfig) -> list[str]:
    """The CLI's arguments, each value glued to its flag: a column named "--output=/x" stays a value."""
    args = []
    for key, value in asdict(cfg).items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            args += [flag] if value else []
        else:
            args.append(f"{flag}={value}")
    return args
