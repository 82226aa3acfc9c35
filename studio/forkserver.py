"""A warm start for job processes: one helper process imports PyTorch, Transformers and the rest of what batch runs and
trainings import (8-14 s on 2 CPUs, most of a small job's time), and forks each `python -m module ...` job from there.

A job forked here is what `subprocess.Popen` would start: its own session (Cancel signals its whole group), its
stdout and stderr where the caller asked, the caller's working folder and environment, `__main__` run by runpy, and
its exit code (negative for a signal) back through a socket. The first job starts the helper (and itself starts as a
new process while the helper warms up); the helper serves the jobs whose environment agrees with its own in what the
libraries read as they are imported, and another environment starts another helper. Where it cannot be had (not
Linux, a GPU driver installed, or turned off with STUDIO_WARM_JOBS=0), `start` returns None and the caller starts a
new interpreter.

Forking is safe here because the helper only imports: no PyTorch operation has run in it, so no OpenMP pool exists to
be lost in the fork, and CTranslate2 is loaded before PyTorch as in the app (studio/compute.py).
"""

from __future__ import annotations

import contextlib
import json
import locale
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
# What the jobs import that takes time, in the order the app loads it (CTranslate2 first: studio/compute.py).
WARM_MODULES = (
    "studio.compute",
    "torch",
    "transformers.modeling_utils",
    "transformers.models.bert.modeling_bert",
    "sklearn.model_selection",
    "sklearn.metrics",
    "pandas",
    "timm",
)
# Variables that the libraries the helper imports read as they are imported: a job whose environment differs from the
# helper's in one of them needs a helper started with it. Any other difference (a STUDIO_ setting, say) is applied in
# the forked job.
# fmt: off
IMPORT_TIME_VARIABLES = (
    "HF_", "HUGGINGFACE_", "TRANSFORMERS_", "TOKENIZERS_", "TORCH", "PYTORCH_", "TIMM_", "CUDA", "NVIDIA_", "OMP_",
    "KMP_", "MKL_", "OPENBLAS_", "GOTO", "NUMEXPR_", "CT2_", "MPL", "MATPLOTLIB", "SKLEARN_", "SCIPY_", "PYTHON",
    "LD_", "LANG", "LC_", "TMP", "TEMP", "HOME", "XDG_", "PATH",
)
# fmt: on
# A GPU's driver, once initialised (which a library's import may do, asking how many devices there are), does not work
# in a forked child: where one is installed, jobs start as new processes (they are long there anyway).
GPU_DRIVERS = ("/dev/nvidiactl", "/dev/kfd")
READY_TIMEOUT_S = 300  # the helper's imports, on a busy machine
MESSAGE_BYTES = 1 << 20
READY = b"ready"

_lock = threading.Lock()
_helper: Helper | None = None


def start(command: list[str], cwd: Path, env: dict[str, str], stderr: int) -> ForkedProcess | None:
    """`command` forked from the warm helper, its stdout a pipe as `Popen(stdout=PIPE, text=True)` gives; None where
    that cannot be: not `python -m`, not Linux, a GPU machine, turned off, or the helper is still warming up (started
    by the first job, which starts as a new process)."""
    if not _can_fork(command) or env.get("STUDIO_WARM_JOBS", "1") == "0":
        return None
    global _helper
    with _lock:
        if _helper is None or not _helper.serves(env):
            if _helper is not None:
                _helper.retire()
            _helper = Helper(env)  # warms up beside this job, which starts as a new process
            return None
        helper = _helper
        if not helper.ready():
            return None
    try:
        return helper.fork(command, cwd, env, stderr)
    except OSError as e:  # the helper is gone: the next job starts another
        log.warning("The warm job helper could not start a job (%s); starting it as a new process.", e)
        with _lock:
            if _helper is helper:
                helper.retire()
                _helper = None
        return None


def _read_at_import(env: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in env.items() if name.startswith(IMPORT_TIME_VARIABLES)}


def _can_fork(command: list[str]) -> bool:
    return (
        sys.platform == "linux"
        and not any(Path(device).exists() for device in GPU_DRIVERS)
        and hasattr(os, "pidfd_open")
        and hasattr(socket, "send_fds")
        and len(command) >= 3
        and command[0] == sys.executable
        and command[1] == "-m"
    )


class Helper:
    """The app's end of one helper process: a socket it sends jobs on."""

    def __init__(self, env: dict[str, str]):
        self.env = dict(env)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "studio.forkserver", str(theirs.fileno())],
            cwd=ROOT,
            env=self.env,
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.socket = ours
        self._ready = False

    def serves(self, env: dict[str, str]) -> bool:
        return _read_at_import(env) == _read_at_import(self.env) and self.process.poll() is None

    def ready(self) -> bool:
        """Whether the helper has imported what it warms (it says so once on its socket)."""
        if not self._ready:
            self.socket.settimeout(0)
            with contextlib.suppress(BlockingIOError):
                self._ready = self.socket.recv(16) == READY
        return self._ready

    def fork(self, command: list[str], cwd: Path, env: dict[str, str], stderr: int) -> ForkedProcess:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        read_end, write_end = os.pipe()
        request = json.dumps({"module": command[2], "args": command[3:], "cwd": str(cwd), "env": env}).encode()
        try:
            self.socket.settimeout(None)
            socket.send_fds(self.socket, [request], [theirs.fileno(), write_end, stderr])
            process = ForkedProcess(command, ours)
        except OSError:
            ours.close()
            os.close(read_end)
            raise
        finally:
            theirs.close()
            os.close(write_end)
        process.stdout = open(read_end, encoding=locale.getpreferredencoding(False))  # noqa: SIM115 (Popen's too)
        return process

    def retire(self) -> None:
        """No more jobs: the helper exits once the jobs it forked have ended."""
        with contextlib.suppress(OSError):
            self.socket.close()
        threading.Thread(target=self.process.wait, daemon=True).start()  # reaped when it exits


class ForkedProcess:
    """What the jobs use of `subprocess.Popen`, for a process the helper forked: pid, stdout, poll, wait."""

    def __init__(self, args: list[str], channel: socket.socket):
        self.args = args
        self.returncode: int | None = None
        self.stdout: TextIO | None = None
        channel.settimeout(READY_TIMEOUT_S)
        said = _read(channel)  # the job itself says its pid, once it leads its own session
        if "pid" not in said:
            channel.close()
            raise OSError(f"the forked job ended before it started: {said}")
        self.pid = int(said["pid"])
        self._ended = threading.Event()
        threading.Thread(target=self._await_exit, args=(channel,), name=f"job {self.pid}", daemon=True).start()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout)
        assert self.returncode is not None
        return self.returncode

    def _await_exit(self, channel: socket.socket) -> None:
        channel.settimeout(None)
        with channel:
            try:
                said = _read(channel)
            except OSError:
                said = {}
        # Nothing said means the helper died with the job still running: count it as killed, as it soon is (it
        # writes to pipes the app holds).
        self.returncode = int(said.get("code", -signal.SIGKILL))
        self._ended.set()


def _read(channel: socket.socket) -> dict:
    message = channel.recv(MESSAGE_BYTES)
    return json.loads(message) if message else {}


# The helper process: python -m studio.forkserver FD


def serve(control: socket.socket) -> None:
    """Fork a job for each request on `control`; report each job's exit code; stop once `control` closes and the
    last job has ended."""
    jobs: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, the job's channel)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    accepting = True
    while accepting or jobs:
        for key, _ in selector.select():
            if key.fileobj is control:
                request, fds, *_ = socket.recv_fds(control, MESSAGE_BYTES, 3)
                if not request:
                    selector.unregister(control)
                    accepting = False
                    continue
                channel = socket.socket(fileno=fds[0])
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    control.close()
                    for other_pidfd, (_, other_channel) in jobs.items():
                        os.close(other_pidfd)
                        other_channel.close()
                    _run_job(json.loads(request), channel, stdout=fds[1], stderr=fds[2])
                for fd in fds[1:]:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                jobs[pidfd] = (pid, channel)
                selector.register(pidfd, selectors.EVENT_READ)
            else:
                pidfd = key.fd
                pid, channel = jobs.pop(pidfd)
                selector.unregister(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(pid, 0)
                with contextlib.suppress(OSError):  # the app stopped listening: nothing to tell
                    channel.send(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode())
                channel.close()


def _run_job(request: dict, channel: socket.socket, stdout: int, stderr: int) -> None:
    """In the forked child: become `python -m module args` in its own session, and exit with its code."""
    code = 1
    try:
        os.setsid()
        channel.send(json.dumps({"pid": os.getpid()}).encode())
        channel.close()
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        os.close(stdout)
        os.close(stderr)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.path[0] = os.getcwd()  # where python -m looks first
        _reseed()
        code = _run_module(request["module"], request["args"])
    except BaseException:  # noqa: BLE001 -- the child must never return into the helper's loop
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _run_module(module: str, args: list[str]) -> int:
    """`python -m module args` as the interpreter runs it, exit handlers included; its exit code."""
    import atexit
    import runpy

    sys.argv = [module, *args]  # runpy puts the module's file first, as python -m does
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:
            print(exit_.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 -- printed as the interpreter prints an uncaught exception
        import traceback

        traceback.print_exc()
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # wait for non-daemon threads, as the interpreter does
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return code


def _reseed() -> None:
    """A fresh interpreter seeds NumPy's global generator from the OS; every fork would share the helper's."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _warm_up() -> None:
    import importlib

    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 -- a job that needs it will say what is missing
            log.info("The warm job helper did not import %s: %s", name, e)
    with contextlib.suppress(Exception):  # the backend chosen as the jobs choose it (studio/metrics.py)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the app, whose socket closing stops this
    control = socket.socket(fileno=int(sys.argv[1]))
    _warm_up()
    try:
        control.send(READY)
    except OSError:  # retired before it was ready
        sys.exit(0)
    serve(control)
