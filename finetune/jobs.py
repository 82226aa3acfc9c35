"""Training runs in a child process: Cancel really stops it, its memory goes with it, the app keeps serving."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

from finetune.train import TrainConfig, remove_partial

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
# What a child that ran out of memory leaves in its stderr: Python's, PyTorch's CPU and CUDA allocators'.
OUT_OF_MEMORY = ("MemoryError", "OutOfMemoryError", "can't allocate memory", "out of memory")
OUT_OF_MEMORY_MESSAGE = (
    "Training ran out of memory and stopped; no model was saved. Try a smaller batch size or max length."
)


class TrainingJob:
    """`python -m finetune --progress jsonl` as a child process whose JSON events we read.

    The job reads its own links (or copies) of the data files, so the app's scheduled cleanup of uploads
    cannot delete them from under it; they go when the job ends. `command` replaces the training program
    (tests use it to make a child fail in a chosen way).
    """

    def __init__(self, cfg: TrainConfig, owner: str = "", command: list[str] | None = None):
        self.owner = owner
        self.cancelled = False
        self.workdir = Path(tempfile.mkdtemp(prefix="model-studio-job-"))
        self.cfg = replace(
            cfg,
            data=_private_copy(cfg.data, self.workdir / "data"),
            validation=_private_copy(cfg.validation, self.workdir / "validation") if cfg.validation else None,
        )
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (lives as long as the job)
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "finetune", *_cli_args(self.cfg), "--progress", "jsonl"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            start_new_session=True,  # its own process group, so cancel reaches any workers it starts
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def events(self, heartbeat_s: float = 0.5) -> Iterator[dict | None]:
        """Each progress event until the process ends, then one final "error" event if it failed.

        Yields None when nothing happened for `heartbeat_s`, so that a caller can notice a cancel in time.
        """
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read_lines, args=(lines,), daemon=True).start()
        finished = False
        try:
            while True:
                try:
                    line = lines.get(timeout=heartbeat_s)
                except queue.Empty:
                    yield None
                    continue
                if line is None:
                    break
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    log.info("finetune: %s", line.rstrip())
                    continue
                finished = finished or event.get("event") in {"done", "error"}
                yield event
            code = self.process.wait()
            if not finished:
                yield {"event": "error", "message": self._failure_message(code)}
        finally:  # also when the caller stops reading early, e.g. once it has the "done" event
            self._remove_workdir()

    def _read_lines(self, lines: queue.Queue) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            lines.put(line)
        lines.put(None)

    def cancel(self) -> None:
        """Stop the process group: SIGTERM, then SIGKILL if it has not gone within 5 seconds."""
        self.cancelled = True
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait()
        remove_partial(Path(self.cfg.output))
        self._remove_workdir()

    def _remove_workdir(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _failure_message(self, code: int) -> str:
        remove_partial(Path(self.cfg.output))
        self._stderr.seek(0)
        tail = self._stderr.read()[-4000:]
        if self.cancelled:
            return "Training was cancelled; no model was saved."
        log.error("fine-tune exited with code %s:\n%s", code, tail)
        if code in (-signal.SIGKILL, 137):
            return (
                "Training was stopped by the system, most likely out of memory; try a smaller batch size or max length."
            )
        if any(marker in tail for marker in OUT_OF_MEMORY):
            return OUT_OF_MEMORY_MESSAGE
        return (
            f"Training stopped unexpectedly (exit code {code}); no model was saved, "
            "and the details are in the server log."
        )


class JobSlot:
    """One training at a time per app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.job: TrainingJob | None = None

    def start(self, cfg: TrainConfig, owner: str) -> TrainingJob | None:
        """A started job, or None when another one is running."""
        with self._lock:
            if self.job is not None and self.job.process.poll() is None:
                return None
            self.job = TrainingJob(cfg, owner)
            return self.job

    def cancel(self, owner: str | None = None) -> bool:
        """Cancel the running job (only the owner's, when an owner is given)."""
        with self._lock:
            job = self.job
        if job is None or job.process.poll() is not None or (owner is not None and job.owner != owner):
            return False
        job.cancel()
        return True


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


def _private_copy(path: str, folder: Path) -> str:
    """A hard link to `path` in `folder` (a copy across file systems), under the same name."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(path).name
    try:
        os.link(path, target)
    except OSError:
        try:
            shutil.copyfile(path, target)
        except OSError:
            return path  # gone already: the child reports it as the user's missing file
    return str(target)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
