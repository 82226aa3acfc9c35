"""Long jobs (fine-tuning, batch runs) in a child process: Cancel really stops it, its memory goes with it, and
the app keeps serving while it runs. The child prints one JSON event per line on stdout."""

from __future__ import annotations

import atexit
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
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from studio import forkserver
from studio.i18n import say, word

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
# What a child that ran out of memory leaves in its stderr: Python's, PyTorch's CPU and CUDA allocators'.
OUT_OF_MEMORY = ("MemoryError", "OutOfMemoryError", "can't allocate memory", "out of memory")
STOP_GRACE_S = 5  # after SIGTERM, before SIGKILL: a training stops after its current step and says why


class ChildJob:
    """A child process whose stdout is JSON events; `workdir` is its own folder, removed when it ends.

    Subclasses say what the job is in messages (`failure_message`) and what to clean up after a failure
    (`clean_up`). Call `start(command)` once the workdir holds what the command needs.
    """

    name = "The job"  # a text of the translation table

    def __init__(self, owner: str = ""):
        self.owner = owner
        self.cancelled = False
        self.stopped = threading.Event()  # set once a cancelled job's process is gone and cleaned up after
        self.workdir = Path(tempfile.mkdtemp(prefix="model-studio-job-"))
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (lives as long as the job)
        self.process: subprocess.Popen | forkserver.ForkedProcess | None = None

    def start(self, command: list[str]) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = forkserver.start(command, ROOT, env, self._stderr.fileno()) or subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            start_new_session=True,  # its own process group, so cancel reaches any workers it starts
            env=env,
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def events(self, heartbeat_s: float = 0.5) -> Iterator[dict | None]:
        """Each event until the process ends, then one final "error" event if it failed without saying why.

        Yields None when nothing happened for `heartbeat_s`, so that a caller can notice a cancel in time.
        """
        assert self.process is not None, "start() the job first"
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
                    log.info("%s: %s", self.name, line.rstrip())
                    continue
                finished = finished or event.get("event") in {"done", "error"}
                yield event
            code = self.process.wait()
            if not finished:
                self.clean_up()
                self._stderr.seek(0)
                tail = self._stderr.read()[-4000:]
                if not self.cancelled:
                    log.error("%s exited with code %s:\n%s", self.name, code, tail)
                yield {"event": "error", "message": self.failure_message(code, tail)}
        finally:  # also when the caller stops reading early, e.g. once it has the "done" event
            self._remove_workdir()

    def _read_lines(self, lines: queue.Queue) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            lines.put(line)
        lines.put(None)

    def cancel(self) -> None:
        """Stop the process group: SIGTERM now, SIGKILL if it has not gone within STOP_GRACE_S. Returns at once: the
        request that cancels must not wait for a training step to end (a client gives up on it after 5 s). What the
        job leaves behind is cleaned up once the process is gone, and then `stopped` is set. A second cancel does
        nothing: a second SIGTERM would stop a training at once, before it says why it stopped."""
        if self.cancelled:
            return
        self.cancelled = True
        if not self.running():
            self._gone()
            return
        assert self.process is not None
        _signal_group(self.process.pid, signal.SIGTERM)
        threading.Thread(target=self._stop, name=f"stop {self.name}", daemon=True).start()

    def _stop(self) -> None:
        assert self.process is not None
        try:
            self.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._gone()

    def _gone(self) -> None:
        self.clean_up()
        self._remove_workdir()
        self.stopped.set()

    def clean_up(self) -> None:
        """What a cancelled or failed job leaves behind that must go (besides the workdir)."""

    def failure_message(self, code: int, stderr_tail: str) -> str:
        """Why the child stopped without saying, in the language of the request that follows the job."""
        job = word(self.name)
        if self.cancelled:
            return say("{job} was cancelled.", job=job)
        if code in (-signal.SIGKILL, 137):
            return say("{job} was stopped by the system, most likely out of memory.", job=job)
        if any(marker in stderr_tail for marker in OUT_OF_MEMORY):
            return say("{job} ran out of memory and stopped.", job=job)
        return say(
            "{job} stopped unexpectedly (exit code {code}); the details are in the server log.", job=job, code=code
        )

    def private_copy(self, path: str, folder: str) -> str:
        """A link to (or copy of) `path` in the workdir, so the app's cleanup of uploads cannot delete it mid-job."""
        return _private_copy(path, self.workdir / folder)

    def _remove_workdir(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


class JobSlot:
    """At most `capacity` jobs of one kind at a time per app."""

    def __init__(self, capacity: int = 1) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self.jobs: list[ChildJob] = []

    @property
    def job(self) -> ChildJob | None:
        """The latest job started."""
        return self.jobs[-1] if self.jobs else None

    def start_job(self, make: Callable[[], ChildJob]) -> ChildJob | None:
        """A started job (`make()`), or None when `capacity` jobs are running."""
        with self._lock:
            self.jobs = [job for job in self.jobs if job.running()]
            if len(self.jobs) >= self.capacity:
                return None
            job = make()
            self.jobs.append(job)
            return job

    def cancel(self, owner: str | None = None) -> bool:
        """Cancel the running jobs (only the owner's, when an owner is given); False when there were none."""
        with self._lock:
            mine = [job for job in self.jobs if job.running() and (owner is None or job.owner == owner)]
        for job in mine:
            job.cancel()
        return bool(mine)


def output_folder(prefix: str) -> Path:
    """A temporary folder for the files a feature hands out, removed when the app stops."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def delete_older_than(folder: Path, age_s: float) -> list[Path]:
    """Delete what `folder` holds that was written more than `age_s` ago; returns what went.

    A job's outputs are removed once Gradio has served them, but not when the client went away first.
    """
    cutoff = time.time() - age_s
    gone = []
    for entry in Path(folder).iterdir() if Path(folder).is_dir() else []:
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        gone.append(entry)
    return gone


def python_module(module: str, args: list[str]) -> list[str]:
    """The command that runs `python -m module args` with this interpreter."""
    return [sys.executable, "-m", module, *args]


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
