"""Fine-tuned runs over HTTP: named everywhere, never by their path on the server; limited in number, size and free
disk; deleted in Fine-tune → Your runs, except the ones models.toml names or a job is using."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from studio.config import Limits
from studio.errors import UserError
from studio.runs import GIB, check_room_for_a_run, folder_bytes, list_runs
from tests.conftest import ROOT, write_config
from tests.test_bad_inputs import start_app
from tests.test_finetune import train_tiny_text_run

SAMPLE = ROOT / "assets" / "support_tickets.csv"
LABELS = {"billing", "shipping", "technical"}


@pytest.fixture(scope="module")
def trained_run(tiny_models, tmp_path_factory) -> Path:
    """A finished text run of the tiny classifier on the support tickets, one epoch; tests copy it into runs_dir."""
    return train_tiny_text_run(tiny_models, tmp_path_factory.mktemp("trained") / "tickets")


def put_run(runs_dir: Path, trained_run: Path, name: str, task: str = "text") -> Path:
    """A copy of the trained run in runs_dir, named `name`, listed as a run of kind `task`."""
    run = runs_dir / name
    shutil.copytree(trained_run, run)
    if task != "text":
        metrics = json.loads((run / "metrics.json").read_text())
        (run / "metrics.json").write_text(json.dumps({**metrics, "task": task}))
    return run


def put_copy(run: Path) -> Path:
    """A faster copy of `run` as the app lists one (`<run>-int8`, "<run> (int8)"); the same weights will do here."""
    copy = run.parent / f"{run.name}-int8"
    shutil.copytree(run, copy)
    (copy / "metrics.json").write_text(
        json.dumps({"task": "text", "label": f"{run.name} (int8)", "optimised_from": run.name})
    )
    return copy


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
    batch_folders = set(Path(tempfile.gettempdir()).glob("model-studio-batch-text_classification-*"))
    demo, studio, url, client = start(folder, tiny_models)
    (own,) = set(Path(tempfile.gettempdir()).glob("model-studio-batch-text_classification-*")) - batch_folders
    yield url, studio, client, own
    demo.close()


def test_no_page_answer_or_file_names_the_runs_folder(named_app):
    url, studio, client, _ = named_app
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

    deleted = client.predict(model_name, api_name="/delete_run")
    assert deleted[0].startswith(f"Deleted **{model_name}**")
    answers["/delete_run"] = seen(deleted)

    for where, answer in answers.items():
        assert hidden not in answer, f"{where} shows the runs folder"


def test_old_batch_outputs_are_deleted_when_a_new_run_starts(named_app):
    _, studio, client, downloads = named_app
    left_behind = downloads / "model-studio-job-of-a-client-who-left"
    left_behind.mkdir()
    (left_behind / "tickets.results.csv").write_text("text,prediction\n")
    long_ago = time.time() - studio.config.limits.delete_files_after_s - 60
    os.utime(left_behind, (long_ago, long_ago))
    client.predict(handle_file(str(SAMPLE)), "text", "", api_name="/batch_classify_text")
    assert not left_behind.exists()
    deadline = time.monotonic() + 10
    while list(downloads.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list(downloads.iterdir()), "the run's own outputs went once they were served"


# ---- Limits: how many runs, how much room, how much free disk ----


@pytest.fixture(scope="module")
def two_runs_app(tiny_models, trained_run, tmp_path_factory):
    """At most 2 runs; "kept" is Text classification's offline model in models.toml."""
    folder = tmp_path_factory.mktemp("two-runs")
    runs = folder / "runs"
    put_run(runs, trained_run, "kept")
    put_copy(put_run(runs, trained_run, "spare"))
    demo, studio, _, client = start(folder, tiny_models, "max_runs = 2", offline="kept")
    yield studio, client
    demo.close()


@pytest.mark.parametrize(
    "name, message",
    [
        ("kept", "'kept' is named in models.toml ([text_classification] offline), so it cannot be deleted here; "),
        ("nope", "There is no run named 'nope'; choose one of the runs Fine-tune → Your runs lists."),
        ("../runs/kept", "There is no run named '../runs/kept'"),
        ("", "There is no run named ''"),
    ],
)
def test_a_default_or_unknown_run_is_not_deleted(two_runs_app, name, message):
    studio, client = two_runs_app
    with pytest.raises(AppError) as error:
        client.predict(name, api_name="/delete_run")
    assert str(error.value).startswith(message)
    assert set(list_runs(studio.config.runs_dir)) == {"kept", "spare", "spare-int8"}


def test_a_run_a_job_is_using_is_not_deleted(two_runs_app):
    studio, client = two_runs_app
    spare = Path(studio.config.runs_dir) / "spare"
    in_use = "'spare' is in use by a batch run or a faster copy being made; wait"
    # What a batch run or a faster copy does while it reads the run.
    with studio.holding([str(spare)]), pytest.raises(AppError, match=in_use):
        client.predict("spare", api_name="/delete_run")
    assert spare.is_dir()


def test_a_fine_tune_over_max_runs_is_refused_until_one_is_deleted(two_runs_app):
    studio, client = two_runs_app
    with pytest.raises(AppError) as error:
        client.predict(handle_file(str(SAMPLE)), api_name="/finetune")
    assert str(error.value) == (
        "There are already 2 fine-tuned models, the limit (max_runs in models.toml); delete one in Fine-tune → "
        "Your runs, then train again."
    )
    assert client.predict("I was charged twice", "spare (int8)", api_name="/classify_text")["label"] in LABELS

    message, runs_left, text_models, _, _ = client.predict("spare", api_name="/delete_run")
    assert message.startswith("Deleted **spare** and its faster CPU copy. 1 of 2 fine-tuned models kept")
    assert runs_left["choices"] == [["kept", "kept"]]
    assert chosen(text_models) == "Tiny sentiment", "the tab whose run went is back on its default"
    assert "spare" not in json.dumps(text_models["choices"])
    assert set(list_runs(studio.config.runs_dir)) == {"kept"}
    for gone in ("spare", "spare (int8)"):
        assert gone not in studio.choices("text_classification")
        with pytest.raises(AppError, match=re.escape(f"Unknown model '{gone}'")):
            client.predict("I was charged twice", gone, api_name="/classify_text")

    trained = client.submit(handle_file(str(SAMPLE)), epochs=1, batch_size=8, api_name="/finetune").result(timeout=600)
    assert "is ready in the Text classification tab" in trained[0]
    assert set(list_runs(studio.config.runs_dir)) == {"kept", trained[-2]}


def test_the_size_limit_counts_faster_copies(trained_run, tmp_path):
    runs = tmp_path / "runs"
    run = put_run(runs, trained_run, "only")
    limits = Limits(max_runs_gib=folder_bytes(run) * 1.5 / GIB)
    check_room_for_a_run(limits, runs)  # one run fits
    put_copy(run)
    with pytest.raises(UserError, match=r"more than the limit of .* GiB \(max_runs_gib in models.toml\); delete one"):
        check_room_for_a_run(limits, runs)


@pytest.fixture(scope="module")
def full_disk_app(tiny_models, trained_run, tmp_path_factory):
    """A free-disk floor no disk reaches."""
    folder = tmp_path_factory.mktemp("full-disk")
    put_run(folder / "runs", trained_run, "tickets")
    demo, studio, _, client = start(folder, tiny_models, "min_free_disk_gib = 1000000000")
    yield studio, client
    demo.close()


def test_below_the_free_disk_floor_training_and_batch_runs_are_refused(full_disk_app):
    studio, client = full_disk_app
    floor = r"GiB of disk is free on the server, under the floor of 1e\+09 GiB \(min_free_disk_gib in models.toml\); "
    with pytest.raises(AppError, match=floor + "delete a run in Fine-tune → Your runs or free some disk"):
        client.predict(handle_file(str(SAMPLE)), api_name="/finetune")
    with pytest.raises(AppError, match=floor):
        client.predict(handle_file(str(SAMPLE)), "text", "label", api_name="/batch_classify_text")
    with pytest.raises(AppError, match=floor):
        client.predict("tickets", api_name="/optimise_run")
    # Deleting is what makes room, so it is never refused for want of it.
    assert client.predict("tickets", api_name="/delete_run")[0].startswith("Deleted **tickets**")
    assert list_runs(studio.config.runs_dir) == {}
