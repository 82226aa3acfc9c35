"""Why a run ended, and going on with one that was stopped: the log's "stop" event, early stopping, resuming a killed
or cancelled run from its checkpoint to the model an uninterrupted run makes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from finetune.checkpoint import checkpoint_folder, unfinished_runs
from tests.conftest import ROOT
from tests.test_finetune import run_cli

SAMPLE = ROOT / "assets" / "support_tickets.csv"


@pytest.fixture(scope="module")
def tickets(tmp_path_factory) -> Path:
    """The support tickets 40 times over: 1,800 rows, epochs of 180 steps, long enough to stop one midway."""
    path = tmp_path_factory.mktemp("resume") / "tickets.csv"
    pd.concat([pd.read_csv(SAMPLE)] * 40, ignore_index=True).to_csv(path, index=False)
    return path


def training(tiny_models: dict[str, Path], data: Path, output: Path, *extra: str) -> list[str]:
    """The command that trains the tiny classifier on `data` for 3 epochs (unless `extra` says otherwise)."""
    return [
        sys.executable, "-m", "finetune", "--data", str(data), "--model", str(tiny_models["text_classification"]),
        "--output", str(output), "--epochs", "3", "--batch-size", "8", *extra,
    ]  # fmt: skip


def stop_in_epoch_2(command: list[str], sig: int) -> int:
    """Start the training and send `sig` once it is halfway through epoch 2; its exit code."""
    child = subprocess.Popen(
        [*command, "--progress", "jsonl"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert child.stdout is not None
    for line in child.stdout:
        event = json.loads(line)
        if event["event"] == "step" and event["epoch"] >= 1.5:
            child.send_signal(sig)
            break
    child.stdout.read()
    return child.wait(timeout=120)


def log(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "training_log.jsonl").read_text().splitlines()]


def test_a_run_killed_in_epoch_2_resumes_to_the_model_an_uninterrupted_run_makes(tiny_models, tickets, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    done = subprocess.run(training(tiny_models, tickets, whole), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]

    assert stop_in_epoch_2(training(tiny_models, tickets, killed), signal.SIGKILL) == -signal.SIGKILL
    assert not killed.exists()
    progress = json.loads((checkpoint_folder(killed) / "progress.json").read_text())
    assert progress == {"epoch": 1, "step": 180, "stopped": ""}
    [stopped] = unfinished_runs(tmp_path)
    assert (stopped.name, stopped.epochs_done, stopped.epochs, stopped.reason) == ("killed", 1, 3, "")

    resumed = run_cli("resume", str(killed))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "ran all 3 epochs; kept epoch 3" in resumed.stdout
    assert not checkpoint_folder(killed).exists() and unfinished_runs(tmp_path) == []
    first, second = (json.loads((run / "metrics.json").read_text()) for run in (whole, killed))
    assert second["metrics"]["val_loss"] == pytest.approx(first["metrics"]["val_loss"], abs=1e-4)
    assert abs(second["metrics"]["accuracy"] - first["metrics"]["accuracy"]) <= 0.01
    assert (second["steps"], second["epochs_run"], second["stopped"]) == (540, 3, "finished")
    # The log: epoch 1 from the first process, then a start that says it resumed, epochs 2 and 3, and why it ended.
    events = log(killed)
    assert [e["epoch"] for e in events if e["event"] == "eval"] == [1, 2, 3]
    assert [e.get("resumed_after_epoch") for e in events if e["event"] == "start"] == [None, 1]
    assert events[-1] == {
        "event": "stop", "reason": "finished", "epoch": 3, "epochs": 3, "kept_epoch": 3, "kept_by": "val_loss",
    }  # fmt: skip
    # The resumed run trained on its checkpoint's own copy of the data: the source names the user's file.
    assert second["source"]["file"] == "tickets.csv" and second["source"]["sha256"] == first["source"]["sha256"]


def test_sigterm_stops_after_the_current_step_and_says_the_run_was_cancelled(tiny_models, tickets, tmp_path):
    output = tmp_path / "cancelled"
    assert stop_in_epoch_2(training(tiny_models, tickets, output), signal.SIGTERM) == 128 + signal.SIGTERM
    assert not output.exists()
    events = log(checkpoint_folder(output))
    assert events[-1]["event"] == "stop" and events[-1]["reason"] == "cancelled" and events[-1]["epoch"] == 1
    [stopped] = unfinished_runs(tmp_path)
    assert (stopped.epochs_done, stopped.reason, stopped.task) == (1, "cancelled", "text")


def test_resuming_a_run_with_no_checkpoint_says_so(tmp_path):
    done = run_cli("resume", str(tmp_path / "never"))
    assert done.returncode == 2
    assert "never has no finished epoch to resume from; train it again instead." in done.stderr


def test_early_stopping_ends_the_run_keeps_the_best_epoch_and_says_so(tiny_models, tmp_path):
    # A step far too large: the validation loss does not keep improving, so 20 epochs are never all run.
    output = tmp_path / "early"
    command = training(tiny_models, SAMPLE, output, "--epochs", "20", "--learning-rate", "3", "--patience", "2")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((output / "metrics.json").read_text())
    stop = log(output)[-1]
    assert stop["event"] == "stop" and stop["reason"] == "early stopping"
    assert stop["epoch"] == result["epochs_run"] < 20 and stop["epochs"] == 20
    assert stop["kept_epoch"] == result["kept_epoch"] == stop["epoch"] - 2
    assert result["stopped"] == "early stopping"
    assert f"stopped early after epoch {stop['epoch']} of 20: the validation loss stopped improving" in done.stdout
    assert not checkpoint_folder(output).exists()


def test_a_run_cancelled_in_the_app_is_listed_and_resumed_over_http(client, live_app, tickets):
    from gradio_client import handle_file

    from finetune.tab import slot

    runs_dir = Path(live_app[1].config.runs_dir)
    # Other tests cancel runs in the same app, and a run cancelled after its first epoch stays resumable.
    stopped_before = {run.name for run in unfinished_runs(runs_dir)}
    job = client.submit(handle_file(str(tickets)), epochs=6, api_name="/finetune")
    deadline = time.monotonic() + 300
    while not any(str(o[0]).startswith("Epoch 1:") for o in job.outputs() if o and o[0]):
        assert time.monotonic() < deadline, "training never finished an epoch"
        time.sleep(0.2)
    process = slot.job.process
    job.cancel()
    process.wait(timeout=30)
    [stopped] = [run for run in unfinished_runs(runs_dir) if run.name not in stopped_before]
    assert stopped.reason == "cancelled" and 1 <= stopped.epochs_done < 6 and stopped.data == "tickets.csv"

    resumed = client.predict(stopped.name, api_name="/resume_run")
    status, model_name = resumed[0], resumed[7]
    assert model_name == stopped.name and f"**{stopped.name}** is ready in the Text classification tab" in status
    assert "kept epoch" in status.lower()
    assert stopped.name not in {run.name for run in unfinished_runs(runs_dir)}
    events = log(runs_dir / stopped.name)
    assert [e.get("resumed_after_epoch") for e in events if e["event"] == "start"] == [None, stopped.epochs_done]
    assert events[-1]["event"] == "stop" and events[-1]["epoch"] > stopped.epochs_done
    client.predict(stopped.name, api_name="/delete_run")
