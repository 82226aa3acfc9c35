"""Find good training settings: trials of the training loop under Optuna's TPE sampler, bad ones pruned early.

The first trial is the defaults (the learning rate the kind chooses for the model), so a search never ends worse than
a plain run on the validation split; the others search around it: the learning rate from a fifth to five times it,
the epochs, the batch size, the warm-up and the weight decay, and for pictures their size and how strongly they are
augmented. A trial reports its validation score after a sixth and a half of its first epoch and after each epoch,
and goes on only while it is in the top third of the trials that reached the same point (as in asynchronous
successive halving: Optuna's median pruner compares with finished trials only, which a pruned search hardly has) and
not behind the defaults there (a lower score, or the same score with a higher validation loss). Of the trials that
finish, the best by score, then by validation loss, is kept; the others' runs are deleted. The data are read and the
model built once for the whole search (BuiltOnce): a trial pruned after a sixth of an epoch spent a quarter of its time
on them.
"""

from __future__ import annotations

import copy
import json
import math
import random
import shutil
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from finetune.train import Cancelled, Pruned, Report, TrainConfig, headline_of, train
from studio.errors import UserError
from studio.runs import COMPLETE_MARKER

SEARCH_FILE = "search.json"
FIRST_CHECKS = (1 / 6, 1 / 2)  # of the first epoch: where a trial is first compared with the others
CHECKS_PER_EPOCH = 6  # Optuna counts reports in whole steps: a sixth of an epoch is step 1, epoch k is step 6k
RANDOM_TRIALS = 3  # trials sampled at random before TPE models the others
KEPT_SHARE = 3  # a trial goes on while in the top 1/KEPT_SHARE of the trials at the same check (the halving rate)
BATCH_SIZES = (8, 16, 32)
IMAGE_SIZES = (0, 96, 160, 224)  # 0: the size the model was trained at (or the small-picture rule of images.py)
COMPLETE, PRUNED, CANCELLED, FAILED = "complete", "pruned", "cancelled", "failed"
# What only the training loop reads: trials that differ in these alone share their data and their untrained model.
LOOP_SETTINGS = {"output", "learning_rate", "epochs", "batch_size", "warmup_fraction", "weight_decay", "patience"}


class BuiltOnce:
    """A kind whose data are read, and whose model is built, once for every run whose settings differ only in
    LOOP_SETTINGS: each run gets its own copy of the untrained model, and the random generators as the build left
    them, so it trains exactly as it would have alone. The last build is kept (pictures of another size rebuild)."""

    def __init__(self, kind: Any) -> None:
        self.kind = kind
        self._data: tuple[tuple, Any] | None = None
        self._built: tuple[tuple, Any, tuple] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.kind, name)

    def load_data(self, cfg: TrainConfig) -> Any:
        key = _inputs(cfg)
        if self._data is None or self._data[0] != key:
            self._data = (key, self.kind.load_data(cfg))
        return self._data[1]

    def build(self, cfg: TrainConfig, data: Any, device: Any) -> Any:
        key = (_inputs(cfg), str(device))  # the same inputs read the same data (load_data)
        if self._built is None or self._built[0] != key:
            self._built = None  # the old model goes before the new one is built
            built = self.kind.build(cfg, data, device)
            self._built = (key, replace(built, model=copy.deepcopy(built.model)), _random_states())
            return built
        _, built, states = self._built
        _set_random_states(states)
        return replace(built, model=copy.deepcopy(built.model))


def _inputs(cfg: TrainConfig) -> tuple:
    """The settings reading the data and building the model may depend on."""
    return tuple((f.name, getattr(cfg, f.name)) for f in fields(cfg) if f.name not in LOOP_SETTINGS)


def _random_states() -> tuple:
    import numpy as np
    import torch

    return random.getstate(), np.random.get_state(), torch.get_rng_state(), _cuda_states()


def _cuda_states() -> list | None:
    import torch

    return torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None


def _set_random_states(states: tuple) -> None:
    import numpy as np
    import torch

    python, numpy, torch_cpu, cuda = states
    random.setstate(python)
    np.random.set_state(numpy)
    torch.set_rng_state(torch_cpu)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)


def search_space(task: str, defaults: TrainConfig, learning_rate: float) -> dict:
    """Optuna's distributions for one kind, around its defaults."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    most_epochs = max(2 * defaults.epochs, defaults.epochs + 2)
    space = {
        "learning_rate": FloatDistribution(learning_rate / 5, learning_rate * 5, log=True),
        "epochs": IntDistribution(1, most_epochs),
        "batch_size": CategoricalDistribution(sorted({*BATCH_SIZES, defaults.batch_size})),
        "warmup_fraction": FloatDistribution(0.0, max(0.2, defaults.warmup_fraction)),
        "weight_decay": FloatDistribution(0.0, max(0.1, defaults.weight_decay)),
    }
    if task == "image":
        space["image_size"] = CategoricalDistribution(sorted({*IMAGE_SIZES, defaults.image_size}))
        space["augmentation"] = FloatDistribution(0.0, 0.9)
    return space


def default_params(cfg: TrainConfig, learning_rate: float, space: dict) -> dict:
    """The defaults as a point of the search space: the first trial."""
    return {name: learning_rate if name == "learning_rate" else getattr(cfg, name) for name in space}


def search(
    cfg: TrainConfig,
    kind: Any,
    trials: int,
    output: str | Path,
    minutes: float = 0.0,
    runs_dir: str | Path | None = None,
    report: Report = print,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict:
    """Run up to `trials` trials (or until `minutes` pass), writing output/search.json after each; keep the best
    trial's run in runs_dir (default: output) as <output's name>-trial-NN, and return what search.json says."""
    import optuna
    from accelerate import PartialState

    if trials < 1:
        raise UserError("A search needs at least 1 trial.")
    # Under `accelerate launch` every process runs this loop, each trial data-parallel; the processes must start and
    # end trials together, so what only the main process knows (the clock, a trial's result) is sent to the others,
    # and only the main process writes.
    processes = PartialState(cpu=cfg.cpu)
    main, together = processes.is_main_process, processes.num_processes > 1
    report = report if main else (lambda event: None)
    output = Path(output)
    if main:
        output.mkdir(parents=True, exist_ok=True)
    runs_dir = Path(runs_dir or output)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cfg = replace(cfg, epochs=cfg.epochs or kind.EPOCHS)
    kind = BuiltOnce(kind)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=cfg.seed, n_startup_trials=RANDOM_TRIALS),
        pruner=optuna.pruners.NopPruner(),  # the pruning is ours (after_epoch): Optuna's sees finished trials only
    )
    started = time.perf_counter()
    deadline = started + minutes * 60 if minutes else math.inf
    record: dict = {
        "task": cfg.task,
        "model": cfg.model,
        "data": Path(cfg.data).name,
        "metric": "",
        "budget": {"trials": trials, "minutes": minutes},
        "trials": [],
        "best": None,
        "seconds": 0.0,
        "stopped": "",
    }
    space: dict = {}
    defaults: dict[int, tuple[float, float]] = {}  # the defaults' (score, -validation loss) at each check
    scores_at: dict[int, list[float]] = defaultdict(list)  # every trial's score at each check (step)
    out_of_time = lambda: should_stop() or time.perf_counter() > deadline  # noqa: E731
    for number in range(trials):
        if _shared(out_of_time(), together):
            break
        trial = None if number == 0 else study.ask(space)
        params = {} if trial is None else trial.params
        run = runs_dir / f"{output.name}-trial-{number:02d}"
        intermediate: dict[int, float] = {}
        losses: dict[int, float] = {}

        def after_epoch(
            epochs: float,
            score: float,
            val_loss: float,
            trial: Any = trial,
            intermediate: dict = intermediate,
            losses: dict = losses,
        ) -> bool:
            step = round(epochs * CHECKS_PER_EPOCH)
            intermediate[step], losses[step] = score, val_loss
            scores_at[step].append(score)
            if trial is None:  # the defaults are never pruned: they are what the search must beat
                defaults[step] = (score, -val_loss)
                return True
            trial.report(score, step)
            return _in_top_share(score, scores_at[step]) and (score, -val_loss) >= _bar(defaults, step)

        report({"event": "trial", "trial": number, "trials": trials, "params": params, "state": "running"})
        trial_started = time.perf_counter()
        entry: dict[str, Any] = {"trial": number, "params": params, "metric": None, "run": None}
        try:
            result = train(
                replace(cfg, output=str(run), **params),
                kind,
                report=lambda event, number=number: report({**event, "trial": number}),
                should_stop=should_stop if together else out_of_time,  # together, the clock is read between trials
                after_epoch=after_epoch,
                first_checks=FIRST_CHECKS,
                checkpoints=False,
            )
            outcome = _shared(_outcome(result) if main else None, together)
            record["metric"] = outcome["metric_name"]
            metric = outcome["metric"]
            entry.update(
                state=COMPLETE,
                metric=metric,
                val_loss=outcome["val_loss"],
                epochs_run=outcome["epochs_run"],
                run=str(run),
            )
            if trial is None:  # the defaults: the space is centred on the learning rate they chose
                learning_rate = outcome["learning_rate"]
                space = search_space(cfg.task, cfg, learning_rate)
                params = default_params(cfg, learning_rate, space)
                entry["params"] = params
                study.add_trial(
                    optuna.trial.create_trial(
                        params=params, distributions=space, value=metric, intermediate_values=intermediate
                    )
                )
            else:
                study.tell(trial, metric)
        except Pruned:
            entry.update(
                state=PRUNED, metric=intermediate[max(intermediate)], epochs_run=max(intermediate) / CHECKS_PER_EPOCH
            )
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        except Cancelled:
            entry.update(state=CANCELLED)
            if trial is not None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        except UserError:
            if number == 0:
                raise  # the data or the settings are wrong for every trial: said once, as a plain run says it
            entry.update(state=FAILED)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        entry["seconds"] = round(time.perf_counter() - trial_started, 1)
        # The score at each check, by epochs trained: how the trial went, and why it was stopped where it was.
        entry["checks"] = {
            f"{step / CHECKS_PER_EPOCH:g}": {"score": score, "val_loss": round(losses[step], 5)}
            for step, score in sorted(intermediate.items())
        }
        record["trials"].append(entry)
        _keep_best(record, delete=main)
        record["seconds"] = round(time.perf_counter() - started, 1)
        if main:
            _write(output, record)
        report({"event": "trial", **entry, "trials": trials, "best": record["best"]})
        if entry["state"] == CANCELLED:
            break
    record["stopped"] = "cancelled" if should_stop() else "out of time" if out_of_time() else "finished"
    if record["best"] is None:
        raise UserError("The search finished no trial, so no model was kept; give it more time or trials.")
    record["seconds"] = round(time.perf_counter() - started, 1)
    if main:
        _tag_best(record, output.name)
        _write(output, record)
    report({"event": "search_done", **{key: record[key] for key in ("best", "metric", "seconds", "stopped")}})
    return record


def _in_top_share(score: float, scores: list[float]) -> bool:
    """Whether `score` is among the best 1/KEPT_SHARE of `scores` (its own included; at least the best one)."""
    kept = max(1, len(scores) // KEPT_SHARE)
    return score >= sorted(scores, reverse=True)[kept - 1]


def _bar(defaults: dict[int, tuple[float, float]], step: int) -> tuple[float, float]:
    """What a trial must reach at `step`: the defaults' (score, -validation loss) there, or at their last check
    before it (past their last epoch, where they ended)."""
    earlier = [checked for checked in defaults if checked <= step]
    return defaults[max(earlier)] if earlier else (-math.inf, 0.0)


def _outcome(result: dict) -> dict:
    """What the search keeps of a finished trial's result."""
    metric_name, metric = headline_of(result["metrics"])
    return {
        "metric_name": metric_name,
        "metric": metric,
        "val_loss": result["metrics"].get("val_loss"),
        "epochs_run": result["epochs_run"],
        "learning_rate": result["config"]["learning_rate"],
    }


def _shared(value: Any, together: bool) -> Any:
    """The main process's value, on every process."""
    if not together:
        return value
    from accelerate.utils import broadcast_object_list

    return broadcast_object_list([value])[0]


def _keep_best(record: dict, delete: bool = True) -> None:
    """The best complete trial (by score, then by validation loss) keeps its run; every other trial's run is
    deleted (by the main process)."""
    complete = [entry for entry in record["trials"] if entry["state"] == COMPLETE]
    best = max(complete, key=lambda entry: (entry["metric"], -(entry.get("val_loss") or 0.0)), default=None)
    for entry in record["trials"]:
        if entry is not best and entry.get("run"):
            if delete:
                shutil.rmtree(entry["run"], ignore_errors=True)
            entry["run"] = None
    record["best"] = best


def _tag_best(record: dict, search_name: str) -> None:
    """The kept run says which search made it, and which trial of how many it was."""
    best = record["best"]
    path = Path(best["run"]) / COMPLETE_MARKER
    metadata = json.loads(path.read_text(encoding="utf-8"))
    metadata["search"] = {"name": search_name, "trial": best["trial"], "trials": len(record["trials"])}
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    partial.replace(path)


def _write(output: Path, record: dict) -> None:
    partial = output / (SEARCH_FILE + ".partial")
    partial.write_text(json.dumps(record, indent=2), encoding="utf-8")
    partial.replace(output / SEARCH_FILE)
