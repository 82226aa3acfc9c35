"""Training runs in a child process (studio/jobs.py): Cancel really stops it, its memory goes with it, the app
keeps serving."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from finetune.train import TrainConfig, cli_flags, remove_partial
from studio import jobs
from studio.errors import UserError, encodable
from studio.i18n import ENGLISH, SIMPLIFIED_CHINESE
from studio.jobs import OUT_OF_MEMORY, ChildJob

OUT_OF_MEMORY_MESSAGE = (
    "Training ran out of memory and stopped; no model was saved. Try a smaller batch size or max length."
)
CANCELLED_MESSAGE = (
    "Training was cancelled; no model was saved. A run that finished an epoch can be resumed in Your runs."
)
# The languages besides English that an error of the training process is said in.
OTHER_LANGUAGES = (SIMPLIFIED_CHINESE,)
KILLED_MESSAGE = (
    "Training was stopped by the system, most likely out of memory; try a smaller batch size or max length."
)


class TrainingJob(ChildJob):
    """`python -m finetune --progress jsonl` as a child process whose JSON events we read.

    The job reads its own links (or copies) of the data files, so the app's scheduled cleanup of uploads
    cannot delete them from under it; they go when the job ends. `command` replaces the training program
    (tests use it to make a child fail in a chosen way).
    """

    name = "Training"

    def __init__(
        self,
        cfg: TrainConfig,
        owner: str = "",
        command: list[str] | None = None,
        resume: bool = False,
        search: list[str] | None = None,
    ):
        """resume: go on with the stopped run of cfg.output; search: run a search instead of one training, these the
        search's own arguments (--trials, --minutes, --runs-dir)."""
        super().__init__(owner)
        self.search = search is not None
        self.failure: UserError | None = None  # why the process failed without saying, once it has
        self.cfg = replace(
            cfg,
            data=self.private_copy(cfg.data, "data"),
            validation=self.private_copy(cfg.validation, "validation") if cfg.validation else None,
            corrections=self.private_copy(cfg.corrections, "corrections") if cfg.corrections else None,
        )
        # A resumed run reads its checkpoint's settings and its own copy of the data (finetune/checkpoint.py).
        arguments = ["resume", cfg.output] if resume else _cli_args(self.cfg)
        if search is not None:
            arguments = ["search", *arguments, *search]
        self.start(command or jobs.python_module("finetune", [*arguments, "--progress", "jsonl"]))

    def clean_up(self) -> None:
        remove_partial(Path(self.cfg.output))

    def failure_message(self, code: int, stderr_tail: str) -> str:
        self.failure = self._failure(code, stderr_tail)
        return str(self.failure)

    def _failure(self, code: int, stderr_tail: str) -> UserError:
        if self.cancelled:
            return UserError(CANCELLED_MESSAGE)
        if code in (-signal.SIGKILL, 137):
            return UserError(KILLED_MESSAGE)
        if any(marker in stderr_tail for marker in OUT_OF_MEMORY):
            return UserError(OUT_OF_MEMORY_MESSAGE)
        return UserError(
            "Training stopped unexpectedly (exit code {code}); no model was saved, "
            "and the details are in the server log.",
            code=code,
        )

    def events(self, heartbeat_s: float = 0.5) -> Iterator[dict | None]:
        """The child's events; a failure it could not report itself comes said in each language, as the child's own
        errors do (error_event)."""
        with contextlib.closing(super().events(heartbeat_s)) as events:
            for event in events:
                if event and event.get("event") == "error" and "said" not in event and self.failure is not None:
                    event = {**error_event(self.failure), **event}
                yield event


class JobSlot(jobs.JobSlot):
    """One training at a time per app."""

    def start(
        self, cfg: TrainConfig, owner: str, resume: bool = False, search: list[str] | None = None
    ) -> TrainingJob | None:
        """A started job, or None when another one is running."""
        return self.start_job(lambda: TrainingJob(cfg, owner, resume=resume, search=search))


def _cli_args(cfg: TrainConfig) -> list[str]:
    """The CLI's arguments, each value glued to its flag: a column named "--output=/x" stays a value."""
    return [flag if value is True else f"{flag}={value}" for _, flag, value in cli_flags(asdict(cfg))]


def error_event(error: BaseException) -> dict:
    """The "error" event the child prints: the English message and, for a UserError, what it says in each other
    language of the table, so that the app can tell the user who started the training in theirs (error_of)."""
    event: dict[str, Any] = {"event": "error", "message": str(error)}
    if isinstance(error, UserError):
        event["said"] = {lang: error.in_language(lang) for lang in OTHER_LANGUAGES}
    return event


def error_of(event: dict, cut: str = "") -> UserError:
    """The UserError an "error" event reports, with `cut` (the runs folder, say) taken out of its text."""
    said = {ENGLISH: str(event.get("message", "")), **(event.get("said") or {})}
    return ReportedError({lang: text.replace(cut, "") if cut else text for lang, text in said.items()})


class ReportedError(UserError):
    """A UserError the training process reported, as it said it in each language."""

    def __init__(self, said: dict[str, str]):
        super().__init__(said[ENGLISH])
        self.said = said

    def in_language(self, lang: str) -> str:
        return encodable(self.said.get(lang, self.said[ENGLISH]))
