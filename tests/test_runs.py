"""Fine-tuned runs over HTTP: named everywhere, never by their path on the server."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.conftest import ROOT, write_config
from tests.test_bad_inputs import start_app
from tests.test_finetune import run_cli

SAMPLE = ROOT / "assets" / "support_tickets.csv"
LABELS = {"billing", "shipping", "technical"}


@pytest.fixture(scope="module")
def trained_run(tiny_models, tmp_path_factory) -> Path:
    """A finished text run of the tiny classifier on the support tickets, one epoch; tests copy it into runs_dir."""
    output = tmp_path_factory.mktemp("trained") / "tickets"
    done = run_cli(
        "--data", str(SAMPLE), "--model", str(tiny_models["text_classification"]), "--output", str(output),
        "--epochs", "1", "--batch-size", "8",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return output


def put_run(runs_dir: Path, trained_run: Path, name: str, task: str = "text") -> Path:
    """A copy of the trained run in runs_dir, named `name`, listed as a run of kind `task`."""
    run = runs_dir / name
    shutil.copytree(trained_run, run)
    if task != "text":
        metrics = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps({**metrics, "task": task}))
    return run


def start(folder: Path, tiny_models: dict, app_settings: str = "", offline: str | None = None):
    """The app on the test config with `app_settings` in [app] (and an `offline` run for Text classification)."""
    config = write_config(folder / "models.toml", tiny_models, folder / "runs", app_settings)
    if offline:
        text = config.read_text().replace("[text_classification]\n", f'[text_classification]\noffline = "{offline}"\n')
        config.write_text(text)
    demo, studio, url = start_app(config)
    return demo, studio, url, Client(url, verbose=False)


def seen(answer: object) -> str:
    """An answer as a user can read it: its values, and the text of every file it hands out (zips unpacked)."""
    parts = [json.dumps(answer, default=str)]
    values = answer if isinstance(answer, (list, tuple)) else [answer]
    for value in values:
        path = value.get("path") if isinstance(value, dict) else value
        if isinstance(path, str) and os.path.isfile(path):
            if path.endswith(".zip"):
                with zipfile.ZipFile(path) as archive:
                    parts += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
            else:
                parts.append(Path(path).read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def chosen(dropdown: object) -> object:
    """A model list's value in an answer (an update of the list, when its choices changed too)."""
    return dropdown.get("value") if isinstance(dropdown, dict) else dropdown


# ---- Runs go by their names: no page, answer or file shows where they live on the server ----


@pytest.fixture(scope="module")
def named_app(tiny_models, trained_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("named")
    runs = folder / "runs"
    put_run(runs, trained_run, "tickets")
    put_run(runs, trained_run, "clothes", task="image")
    put_run(runs, trained_run, "orders", task="entities")
    broken = put_run(runs, trained_run, "broken")
    (broken / "model.safetensors").write_bytes(os.urandom(4096))
    demo, studio, url, client = start(folder, tiny_models)
    yield url, studio, client
    demo.close()


def test_no_page_answer_or_file_names_the_runs_folder(named_app):
    url, studio, client = named_app
    hidden = str(studio.config.runs_dir)
    answers = {}
    answers["/config"] = httpx.get(url + "config").text
    answers["/gradio_api/info"] = httpx.get(url + "gradio_api/info").text
    for name in ("tickets", "clothes", "orders"):  # every tab lists its runs, by name
        assert f'"{name}"' in answers["/config"]

    result = client.predict("I was charged twice", "tickets", api_name="/classify_text")
    assert {c["label"] for c in result["confidences"]} == LABELS
    answers["/classify_text"] = seen(result)
    with pytest.raises(AppError) as error:
        client.predict("I was charged twice", "broken", api_name="/classify_text")
    assert "'broken' could not be loaded" in str(error.value)
    answers["a run that does not load"] = str(error.value)

    optimised = client.predict("tickets", api_name="/optimise_run")
    assert optimised[1] == "tickets (int8)" and chosen(optimised[2]) == "tickets (int8)", "the copy, by name"
    answers["/optimise_run"] = seen(optimised)

    batch = client.predict(
        handle_file(str(SAMPLE)), "text", "label", "tickets", "", ["tickets (int8)"], api_name="/batch_classify_text"
    )
    report = json.loads(Path(batch[2]).read_text())
    assert report["model"] == "tickets" and report["served_by"] == "tickets"
    assert [model["model"] for model in report["compare"]] == ["tickets", "tickets (int8)"]
    answers["/batch_classify_text"] = seen(batch)

    trained = client.submit(handle_file(str(SAMPLE)), epochs=1, batch_size=8, api_name="/finetune").result(timeout=600)
    status, *_, download, model_name, listed = trained
    assert "is ready in the Text classification tab" in status and chosen(listed) == model_name
    with zipfile.ZipFile(download) as archive:
        metrics = json.loads(archive.read(f"{model_name}/metrics.json"))
    assert metrics["config"]["output"] == model_name, "the zip's files name the run, not its folder"
    answers["/finetune"] = seen(trained)

    for where, answer in answers.items():
        assert hidden not in answer, f"{where} shows the runs folder"
