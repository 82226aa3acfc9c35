"""Jobs forked from the warm helper (studio/forkserver.py) behave as the new processes they stand in for."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from studio import forkserver

pytestmark = pytest.mark.skipif(not forkserver._can_fork([sys.executable, "-m", "x"]), reason="Linux only")

PROBE = """
import json, os, sys, time
import numpy
print(json.dumps({
    "argv": sys.argv[1:], "cwd": os.getcwd(), "leads_its_session": os.getsid(0) == os.getpid() == os.getpgid(0),
    "env": os.environ.get("PROBE_VALUE"), "random": float(numpy.random.random()), "main": __name__,
}), flush=True)
print("to stderr", file=sys.stderr, flush=True)
if "sleep" in sys.argv:
    time.sleep(60)
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    (tmp_path / "probe_job.py").write_text(PROBE, encoding="utf-8")
    return tmp_path


def job_environment(**values: str) -> dict[str, str]:
    """The app's job environment, `values` added: variables that no library reads as it is imported, so that every
    test here is served by the helper the app's jobs warmed."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **values}


def fork(args: list[str], cwd: Path, env: dict[str, str], stderr: int) -> forkserver.ForkedProcess:
    """The job forked once the helper for `env` is warm (the first request starts it and is answered None)."""
    deadline = time.monotonic() + 300
    while (process := forkserver.start([sys.executable, "-m", "probe_job", *args], cwd, env, stderr)) is None:
        assert time.monotonic() < deadline, "the warm helper never became ready"
        time.sleep(0.5)
    return process


def test_a_forked_job_has_its_folder_arguments_environment_session_pipes_and_exit_code(probe):
    with tempfile.TemporaryFile(mode="w+") as stderr:
        first = fork(["3", "two words"], probe, job_environment(PROBE_VALUE="first"), stderr.fileno())
        said = json.loads(first.stdout.readline())
        assert first.wait(timeout=60) == 3
        second = fork(["0"], probe, job_environment(PROBE_VALUE="second"), stderr.fileno())
        again = json.loads(second.stdout.readline())
        assert second.wait(timeout=60) == 0
        stderr.seek(0)
        assert stderr.read() == "to stderr\nto stderr\n"
    assert said["argv"] == ["3", "two words"] and said["cwd"] == str(probe) and said["main"] == "__main__"
    assert said["leads_its_session"], "Cancel signals the job's process group"
    assert (said["env"], again["env"]) == ("first", "second"), "each job has the environment it was given"
    assert said["random"] != again["random"], "each job seeds NumPy afresh, as a new interpreter does"
    assert first.poll() == 3


def test_a_killed_job_reports_the_signal_and_wait_can_time_out(probe):
    env = job_environment()
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = fork(["0", "sleep"], probe, env, stderr.fileno())
        json.loads(process.stdout.readline())
        assert process.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(timeout=0.2)
        os.killpg(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL


def test_only_python_modules_are_forked_and_the_helper_can_be_turned_off(probe):
    env = job_environment()
    assert forkserver.start(["accelerate", "launch", "-m", "finetune"], probe, env, 2) is None
    off = {**env, "STUDIO_WARM_JOBS": "0"}
    assert forkserver.start([sys.executable, "-m", "probe_job", "0"], probe, off, 2) is None
