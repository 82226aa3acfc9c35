"""Find good settings: the search CLI's search.json, one run kept and tagged, a budget in minutes, every kind, and the
app's /search_settings with its table of trials; a run's full configuration and the command that trains it again."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from gradio_client import handle_file

from finetune.configs import command_line, read_config
from finetune.search import FIRST_CHECKS
from studio.runs import list_runs
from tests.conftest import ROOT
from tests.test_finetune import run_cli

SAMPLE = ROOT / "assets" / "support_tickets.csv"
TEXT_SETTINGS = {"learning_rate", "epochs", "batch_size", "warmup_fraction", "weight_decay"}


def search_record(output: Path) -> dict:
    return json.loads((output / "search.json").read_text())


def test_a_text_search_writes_its_trials_keeps_the_best_run_and_tags_it(tiny_models, tmp_path):
    output = tmp_path / "tickets-search"
    done = run_cli(
        "search", "--task", "text", "--data", str(SAMPLE), "--model", str(tiny_models["text_classification"]),
        "--output", str(output), "--trials", "4", "--batch-size", "8",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    record = search_record(output)
    trials = record["trials"]
    assert [trial["trial"] for trial in trials] == [0, 1, 2, 3]
    for trial in trials:
        assert set(trial["params"]) == TEXT_SETTINGS and trial["state"] in {"complete", "pruned"}
        assert 0 <= trial["metric"] <= 1
        # Every check's score, by epochs trained; the last is the score the trial ended with.
        checked = [float(epochs) for epochs in trial["checks"]]
        assert checked == sorted(checked)
        assert checked[: len(FIRST_CHECKS)] == pytest.approx(list(FIRST_CHECKS)[: len(checked)], abs=1e-5)
        assert list(trial["checks"].values())[-1]["score"] == trial["metric"] or trial["state"] == "complete"
    assert [float(epochs) for epochs in trials[0]["checks"]] == pytest.approx([*FIRST_CHECKS, 1, 2, 3], abs=1e-5)
    # The first trial is the defaults: 3 epochs of 8 texts at the learning rate chosen for the model.
    assert trials[0]["state"] == "complete" and trials[0]["params"]["epochs"] == 3
    assert trials[0]["params"]["batch_size"] == 8 and trials[0]["params"]["weight_decay"] == 0.01
    best = record["best"]
    assert best["metric"] == max(trial["metric"] for trial in trials if trial["state"] == "complete")
    assert {key: best[key] for key in ("trial", "params", "metric", "state")} == {
        key: trials[best["trial"]][key] for key in ("trial", "params", "metric", "state")
    }
    # Only the best trial's run is kept, where search.json says, and it says which search made it.
    kept = [trial["run"] for trial in trials if trial["run"]]
    assert kept == [best["run"]] and list(list_runs(output)) == [Path(best["run"]).name]
    result = json.loads((Path(best["run"]) / "metrics.json").read_text())
    assert result["search"] == {"name": "tickets-search", "trial": best["trial"], "trials": 4}
    assert result["config"]["learning_rate"] == best["params"]["learning_rate"]
    assert record["stopped"] == "finished" and record["metric"] == "accuracy"


def test_a_search_out_of_minutes_before_a_trial_finishes_keeps_nothing_and_says_so(tiny_models, tmp_path):
    output = tmp_path / "hurried"
    done = run_cli(
        "search", "--data", str(SAMPLE), "--model", str(tiny_models["text_classification"]),
        "--output", str(output), "--trials", "3", "--minutes", "0.001",
    )  # fmt: skip
    assert done.returncode == 2
    assert "The search finished no trial, so no model was kept; give it more time or trials." in done.stderr
    assert list_runs(output) == {}


def test_an_image_search_tries_picture_sizes_and_augmentation(tiny_models, tmp_path):
    output = tmp_path / "clothes-search"
    done = run_cli(
        "search", "--task", "image", "--data", str(ROOT / "assets" / "fashion_sample.zip"),
        "--model", str(tiny_models["image_classification"]), "--output", str(output), "--trials", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    record = search_record(output)
    assert all(set(t["params"]) == TEXT_SETTINGS | {"image_size", "augmentation"} for t in record["trials"])
    assert record["trials"][0]["params"]["augmentation"] == 0.5 and record["metric"] == "accuracy"
    assert len(list_runs(output)) == 1


def test_an_entity_search_scores_trials_by_entity_f1(tiny_models, tmp_path):
    output = tmp_path / "entities-search"
    done = run_cli(
        "search", "--task", "entities", "--data", str(ROOT / "assets" / "ticket_entities.conll"),
        "--model", str(tiny_models["ner"]), "--output", str(output), "--trials", "2", "--max-length", "64",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    record = search_record(output)
    assert record["metric"] == "entity F1" and record["trials"][0]["params"]["epochs"] == 8
    assert len(list_runs(output)) == 1


def test_a_run_writes_its_configuration_and_the_command_that_trains_it_again(tiny_models, tmp_path):
    from tests.test_finetune import train_tiny_text_run

    run = train_tiny_text_run(tiny_models, tmp_path / "tickets")
    config = json.loads((run / "training_config.json").read_text())
    assert config["task"] == "text" and config["epochs"] == 1 and config["batch_size"] == 8
    assert config["learning_rate"] > 0  # the one chosen for the model, written out
    assert read_config(run / "training_config.json", "text") == config
    line = command_line(config)
    args = shlex.split(line)
    assert args[:5] == ["python", "-m", "finetune", "--task", "text"]
    assert args[args.index("--data") + 1] == "support_tickets.csv" and "--cpu" not in args
    assert args[args.index("--output") + 1] == "runs/tickets"
    # Run again on the same file, the command makes the same model.
    args[args.index("--data") + 1] = str(SAMPLE)
    args[args.index("--output") + 1] = str(tmp_path / "again")
    done = run_cli(*args[3:])
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = (json.loads((folder / "metrics.json").read_text()) for folder in (run, tmp_path / "again"))
    assert first["metrics"]["val_loss"] == second["metrics"]["val_loss"]


def test_search_settings_over_http_shows_the_trials_and_serves_the_best_run(client, live_app):
    runs_dir = Path(live_app[1].config.runs_dir)
    result = client.predict(handle_file(str(SAMPLE)), trials=3, batch_size=8, api_name="/search_settings")
    status, model_name, trials = result[0], result[6], result[8]
    assert (
        status.startswith("Tried 3 settings in ") and f"**{model_name}** is ready in the Text classification" in status
    )
    assert [row[0] for row in trials["data"]] == [1, 2, 3]
    assert trials["headers"][:5] == ["Trial", "State", "Score", "Epochs trained", "Seconds"]
    assert {row[1] for row in trials["data"]} <= {"complete", "pruned"}
    assert model_name in list_runs(runs_dir) and "-trial-" in model_name
    answer = client.predict("My parcel never arrived", model_name, api_name="/classify_text")
    assert answer["label"] in {"billing", "shipping", "technical"}
    client.predict(model_name, api_name="/delete_run")


def test_a_trial_checked_in_its_first_epoch_trains_exactly_as_a_plain_run(tiny_models, tmp_path):
    """The search's first trial is the defaults: checking it mid-epoch must not change its dropout, so it ends
    where a plain run with the same seed ends."""
    from dataclasses import replace

    from finetune import text as text_kind
    from finetune.search import FIRST_CHECKS
    from finetune.train import TrainConfig, train

    cfg = TrainConfig(
        data=str(SAMPLE), output=str(tmp_path / "plain"), model=str(tiny_models["text_classification"]), epochs=2,
        batch_size=4, cpu=True,
    )  # fmt: skip
    plain = train(cfg, text_kind, report=lambda event: None)
    checks: list[float] = []
    checked = train(
        replace(cfg, output=str(tmp_path / "checked")),
        text_kind,
        report=lambda event: None,
        after_epoch=lambda epochs, score, val_loss: checks.append(epochs) or True,
        first_checks=FIRST_CHECKS,
    )
    assert checks == [*FIRST_CHECKS, 1, 2]
    assert checked["metrics"]["val_loss"] == plain["metrics"]["val_loss"]


def test_trials_share_one_reading_and_one_build_and_each_trains_as_it_would_alone(tiny_models, tmp_path, monkeypatch):
    """A search reads the data and builds the model once; a trial on the shared build ends exactly where the same
    settings end in a run of their own (its own untrained copy of the model, the same random generators)."""
    from dataclasses import replace

    from finetune import text as text_kind
    from finetune.search import BuiltOnce
    from finetune.train import TrainConfig, train

    calls = {"load_data": 0, "build": 0}
    for name in calls:
        real = getattr(text_kind, name)
        monkeypatch.setattr(
            text_kind, name, lambda *a, real=real, name=name: calls.update({name: calls[name] + 1}) or real(*a)
        )
    cfg = TrainConfig(
        data=str(SAMPLE), output="", model=str(tiny_models["text_classification"]), epochs=1, batch_size=4, cpu=True
    )
    shared = BuiltOnce(text_kind)
    first = train(replace(cfg, output=str(tmp_path / "first")), shared, report=lambda event: None)
    other = replace(cfg, learning_rate=3e-4, batch_size=8, weight_decay=0.05, epochs=2)
    second = train(replace(other, output=str(tmp_path / "second")), shared, report=lambda event: None)
    assert calls == {"load_data": 1, "build": 1}
    alone = train(replace(other, output=str(tmp_path / "alone")), text_kind, report=lambda event: None)
    assert second["metrics"]["val_loss"] == alone["metrics"]["val_loss"]
    assert second["metrics"]["val_loss"] != first["metrics"]["val_loss"]
    # Another maximum length is another build.
    train(replace(cfg, output=str(tmp_path / "longer"), max_length=32), shared, report=lambda event: None)
    assert calls == {"load_data": 3, "build": 3}


def test_a_trial_must_keep_up_with_the_defaults_and_the_top_third_at_each_check():
    from finetune.search import _bar, _in_top_share

    assert _in_top_share(0.8, [0.8, 0.7]) and not _in_top_share(0.7, [0.8, 0.7])  # two: the best goes on
    scores = [0.9, 0.85, 0.85, 0.8, 0.7, 0.6]  # six: the best two
    assert [_in_top_share(s, scores) for s in scores] == [True, True, True, False, False, False]  # ties go on

    defaults = {1: (0.4, -1.2), 3: (0.8, -0.6), 6: (0.9, -0.4), 18: (0.95, -0.2)}
    assert _bar(defaults, 3) == (0.8, -0.6) and (0.8, -0.5) >= _bar(defaults, 3) > (0.8, -0.7)
    assert _bar(defaults, 12) == (0.9, -0.4)  # between checks: the last one before
    assert _bar(defaults, 30) == (0.95, -0.2)  # past the defaults' end: where they ended
    assert _bar({}, 1) == _bar({6: (0.9, -0.4)}, 1) == (float("-inf"), 0.0)


def test_under_accelerate_the_trials_run_one_after_another_each_data_parallel(tiny_models, tmp_path):
    output = tmp_path / "ddp-search"
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    launcher += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "finetune"]
    done = run_cli(
        "search", "--data", str(SAMPLE), "--model", str(tiny_models["text_classification"]), "--output", str(output),
        "--trials", "3", "--batch-size", "8", "--cpu", launcher=launcher,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    record = search_record(output)
    assert [trial["trial"] for trial in record["trials"]] == [0, 1, 2] and record["stopped"] == "finished"
    assert done.stdout.count("trial 0 complete") == 1  # one process speaks
    result = json.loads((Path(record["best"]["run"]) / "metrics.json").read_text())
    assert record["trials"][0]["epochs_run"] == 3 and result["search"]["trials"] == 3
    assert list(list_runs(output)) == [Path(record["best"]["run"]).name]
