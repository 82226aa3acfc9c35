"""Fine-tune a pretrained model on the user's labelled data: one training loop you can read top to bottom.

The kind of model (text classifier, image classifier, entity recogniser) is a parameter: what differs between
them — reading the data, the model and its head, batching, the metrics, saving — lives in finetune/text.py,
finetune/images.py and finetune/entities.py, which finetune/kinds.py names; the loop is given the kind it runs.
Runs the same on one CPU, one GPU, or many processes under `accelerate launch` (data-parallel).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from studio.errors import UserError

Report = Callable[[dict], None]


@dataclass
class TrainConfig:
    data: str
    output: str
    task: str = "text"  # text | image | entities
    model: str = "pack:minilm-l6"
    text_column: str = "text"  # text: the columns of the table
    label_column: str = "label"
    validation: str | None = None
    val_split: float = 0.2
    epochs: int = 0  # 0: the kind's own EPOCHS (text and images 3, entities 8)
    learning_rate: float | None = None  # None: chosen for the kind and the model's size
    batch_size: int = 16
    max_length: int = 128  # text and entities: tokens read of each text (entities: per window)
    image_size: int = 0  # image: pixels a side; 0 keeps the model's own
    label_smoothing: float = 0.1  # image: timm's usual recipe
    augmentation: float = 0.5  # image: 0 none; crops of (1 - this) to all of the picture, colour jitter above 0.5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    patience: int = 2  # epochs without a better validation score (the kind's KEEP_BEST_BY) before stopping
    seed: int = 0
    cpu: bool = False
    max_rows: int = 200_000
    corrections: str | None = None  # a JSON file: the label check's corrections that made `data` (finetune/checking.py)


def cli_flags(settings: dict) -> list[tuple[str, str, Any]]:
    """Each setting as (name, the CLI's flag, value), for `python -m finetune`; a switch that is on has the value
    True, and unset settings and switches that are off are left out."""
    return [
        (key, "--" + key.replace("_", "-"), value)
        for key, value in settings.items()
        if value is not None and value is not False
    ]


@dataclass
class Prepared:
    """The user's data, read, checked and split: what one kind's `load_data` returns."""

    train: Any
    validation: Any
    label_names: list[str]
    summary: dict  # {"train": {...}, "validation": {...}}: rows, examples per label, what was dropped
    multi_label: bool = False  # texts with several labels each (finetune/multilabel.py)


@dataclass
class Built:
    """The model with its new head and the examples as it takes them: what one kind's `build` returns."""

    model: Any
    processor: Any  # what turns raw inputs into model inputs (a tokenizer, an image transform), saved with it
    train_set: list
    val_set: list
    train_lengths: list[int]  # for length-grouped batches; all equal where length does not matter
    val_lengths: list[int]
    collate_train: Callable
    collate_eval: Callable
    label_smoothing: float = 0.0
    extra: dict = field(default_factory=dict)  # whatever the kind needs back in evaluation or saving


class Cancelled(Exception):
    """The run was asked to stop."""


class Pruned(Exception):
    """A search stopped the run after an epoch: its trial is doing worse than the others did by then."""


# Why training ended: the `reason` of the log's last event, "stop".
FINISHED, EARLY_STOPPING, CANCELLED, PRUNED = "finished", "early stopping", "cancelled", "pruned"


def length_grouped_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Batches of similar-length examples, in random order: little padding, still shuffled.

    Examples are shuffled, cut into pools of 50 batches, each pool sorted by length and cut into batches.
    With equal lengths (images) the sort keeps the shuffled order: plain shuffled batches.
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool_size = batch_size * 50
    batches = []
    for start in range(0, len(order), pool_size):
        pool = sorted(order[start : start + pool_size], key=lambda i: lengths[i], reverse=True)
        batches += [pool[i : i + batch_size] for i in range(0, len(pool), batch_size)]
    rng.shuffle(batches)
    return batches


def train(
    cfg: TrainConfig,
    kind: Any,
    report: Report = print,
    should_stop: Callable[[], bool] = lambda: False,
    resume: bool = False,
    after_epoch: Callable[[float, float, float], bool] | None = None,
    first_checks: tuple[float, ...] = (),
    checkpoints: bool = True,
) -> dict:
    """Train `kind` (a module of finetune/kinds.py), evaluate, and save the best model with its metrics and model
    card into cfg.output.

    resume: go on from the checkpoint of a run of cfg.output that stopped (finetune/checkpoint.py).
    after_epoch(epochs, score, val_loss): False stops the run there (Pruned): a search's pruning. Called after each
        epoch, and also at each share of the first epoch in `first_checks` (epochs is then that share), so that a bad
        trial can stop sooner.
    checkpoints: False saves no state after each epoch (a search's trials are not resumed).
    """
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader

    from finetune import checkpoint
    from finetune.report import save_run

    started = time.perf_counter()
    cfg = replace(cfg, epochs=cfg.epochs or kind.EPOCHS)
    accelerator = Accelerator(cpu=cfg.cpu, mixed_precision=_mixed_precision(cfg.cpu))
    main = accelerator.is_main_process
    events: list[dict] = []

    def emit(event: dict) -> None:
        if main:
            events.append(event)
            report(event)

    set_seed(cfg.seed)
    output = Path(cfg.output)
    if main and output.exists() and any(output.iterdir()):
        raise UserError("{output} already exists and is not empty; choose another output folder.", output=str(output))
    if main and not resume:
        checkpoint.remove(output)  # a stopped run's state under the same name is not this run's

    # Data and model: read and check the user's file, split it, and put a new head on the pretrained model.
    data = kind.load_data(cfg)
    built = kind.build(cfg, data, accelerator.device)
    model = built.model
    lr = cfg.learning_rate or kind.default_learning_rate(model)
    # Biases and norm weights (every 1-D parameter) are not decayed.
    params = [
        {"params": [p for p in model.parameters() if p.ndim > 1], "weight_decay": cfg.weight_decay},
        {"params": [p for p in model.parameters() if p.ndim <= 1], "weight_decay": 0.0},
    ]
    # The fused kernel updates all parameters in one pass: several times faster per step than the default loop.
    optimizer = torch.optim.AdamW(params, lr=lr, fused=accelerator.device.type in {"cpu", "cuda"})
    batches_per_epoch = len(length_grouped_batches(built.train_lengths, cfg.batch_size, 0))
    steps_per_epoch = math.ceil(batches_per_epoch / accelerator.num_processes)  # each process takes its share
    total_steps = steps_per_epoch * cfg.epochs
    from transformers import get_linear_schedule_with_warmup

    # Counted in whole-dataset batches: the prepared scheduler steps once per process at every optimizer step.
    schedule_steps = batches_per_epoch * cfg.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_fraction * schedule_steps), schedule_steps)
    # Validation examples go in length order, so batches pad little; predictions are put back in order below.
    # A plain batch size (not a list of batches) lets accelerate give every process equal batches and drop the
    # examples it repeated to make them equal when gathering.
    val_order = sorted(range(len(built.val_set)), key=lambda i: built.val_lengths[i])
    val_loader = DataLoader(
        built.val_set, batch_size=cfg.batch_size * 2, sampler=val_order, collate_fn=built.collate_eval
    )
    model, optimizer, scheduler, val_loader = accelerator.prepare(model, optimizer, scheduler, val_loader)

    # Training state: the step, the best score and its weights, and the epochs since it last improved.
    keep_best_by = getattr(kind, "KEEP_BEST_BY", "val_loss")
    step, best, best_state, bad_epochs, kept_epoch, done_epochs, trained_before = 0, -math.inf, None, 0, 0, 0, 0.0
    if resume:
        state = checkpoint.load(output)
        accelerator.unwrap_model(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, best, bad_epochs, kept_epoch = state["step"], state["best"], state["bad_epochs"], state["kept_epoch"]
        done_epochs, trained_before = state["epoch"], state["seconds"]
        best_state = state["best_state"] or _cpu_copy(accelerator.unwrap_model(model))
        if main:  # the log goes on from where it stopped
            events += [event for event in checkpoint.logged_events(output) if event["event"] != "stop"]
    emit(
        {
            "event": "start",
            "task": cfg.task,
            "model": cfg.model,
            "labels": data.label_names,
            "train": data.summary["train"],
            "validation": data.summary["validation"],
            "learning_rate": lr,
            "epochs": cfg.epochs,
            "total_steps": total_steps,
            **({"resumed_after_epoch": done_epochs} if resume else {}),
        }
    )

    def stopped(reason: str, epoch: int) -> dict:
        return {
            "event": "stop",
            "reason": reason,
            "epoch": epoch,
            "epochs": cfg.epochs,
            "kept_epoch": kept_epoch,
            "kept_by": keep_best_by,
        }

    # Training: each epoch a new order; evaluate after each; keep the best weights, by the kind's own measure.
    training_started = time.perf_counter()  # the time left is estimated from training alone, not loading
    first_step, epoch, reason, last_eval = step, done_epochs, FINISHED, None
    # The steps of the first epoch at which a search compares this trial with the others, and the share each is.
    checks: dict[int, float] = {}
    if after_epoch is not None and not resume:
        for share in first_checks:
            at = min(max(1, round(share * steps_per_epoch)), steps_per_epoch - 1)
            if at >= 1:  # an epoch of one step has no middle: its end is the first check
                checks.setdefault(at, share)

    def checked_now(share: float) -> bool:
        # Evaluating draws from the global RNG (each DataLoader iterator takes a seed), so a run checked in the
        # middle of an epoch would drop out differently from then on; the fork keeps it the run it would have been.
        with torch.random.fork_rng(devices=[]):
            val_loss, predictions, references = _evaluate(kind, model, val_loader, accelerator)
        score = kind.headline(built, _in_order(predictions, val_order), _in_order(references, val_order))[1]
        return after_epoch(share, score, val_loss)

    try:
        for epoch in range(done_epochs + 1, cfg.epochs + 1):
            train_loader = accelerator.prepare(
                DataLoader(
                    built.train_set,
                    batch_sampler=length_grouped_batches(built.train_lengths, cfg.batch_size, cfg.seed + epoch),
                    collate_fn=built.collate_train,
                )
            )
            model.train()
            for batch in train_loader:
                if should_stop():
                    raise Cancelled()
                logits, labels = kind.forward(model, batch)
                loss = _loss(logits, labels, built.label_smoothing)
                accelerator.backward(loss)
                accelerator.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                seconds = time.perf_counter() - training_started
                emit(
                    {
                        "event": "step",
                        "step": step,
                        "epoch": round(step / steps_per_epoch, 3),
                        "loss": round(loss.item(), 5),
                        "learning_rate": scheduler.get_last_lr()[0],
                        "elapsed": round(time.perf_counter() - started + trained_before, 1),
                        "eta": round(seconds / (step - first_step) * (total_steps - step), 1),
                        "total_steps": total_steps,
                    }
                )
                if epoch == 1 and step in checks and not checked_now(checks[step]):
                    raise Pruned()

            last_eval = _evaluate(kind, model, val_loader, accelerator)
            val_loss, predictions, references = last_eval
            name, score = kind.headline(built, _in_order(predictions, val_order), _in_order(references, val_order))
            emit({"event": "eval", "step": step, "epoch": epoch, "val_loss": round(val_loss, 5), name: score})
            goodness = -val_loss if keep_best_by == "val_loss" else score
            if goodness > best:
                best, bad_epochs, kept_epoch = goodness, 0, epoch
                best_state = _cpu_copy(accelerator.unwrap_model(model))
            else:
                bad_epochs += 1
            # After the last epoch there is nothing left to save by pruning: the run ends as it is, scored.
            if after_epoch is not None and not after_epoch(epoch, score, val_loss) and epoch < cfg.epochs:
                raise Pruned()
            if bad_epochs >= cfg.patience:
                reason = EARLY_STOPPING
                break
            if checkpoints and main and epoch < cfg.epochs:
                checkpoint.save(
                    cfg,
                    {
                        "epoch": epoch,
                        "step": step,
                        "best": best,
                        "bad_epochs": bad_epochs,
                        "kept_epoch": kept_epoch,
                        "seconds": trained_before + time.perf_counter() - training_started,
                        "model": accelerator.unwrap_model(model).state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        # The best weights are the model's own when this epoch is the best.
                        "best_state": None if kept_epoch == epoch else best_state,
                    },
                    events,
                )
    except Cancelled:
        emit(stopped(CANCELLED, epoch - 1))
        if main:
            checkpoint.mark_stopped(output, events[-1])
        raise
    except Pruned:
        emit(stopped(PRUNED, round(step / steps_per_epoch, 2)))
        if main:
            checkpoint.remove(output)
        raise
    emit(stopped(reason, epoch))

    # Evaluation of the best weights (the last epoch's, when they are the best), then an atomic save: the folder
    # appears complete or not at all.
    unwrapped = accelerator.unwrap_model(model)
    if kept_epoch != epoch or last_eval is None:
        unwrapped.load_state_dict(best_state)
        last_eval = _evaluate(kind, model, val_loader, accelerator)
    val_loss, predictions, references = last_eval
    predictions, references = _in_order(predictions, val_order), _in_order(references, val_order)
    result = {}
    if main:
        metrics, mistakes = kind.evaluation(data, built, predictions, references)
        metrics["val_loss"] = round(val_loss, 5)
        elapsed = time.perf_counter() - started + trained_before
        result = {
            "task": cfg.task,
            "metrics": metrics,
            "mistakes": mistakes,
            "train_seconds": round(elapsed, 1),
            "samples_per_second": round(
                (step - first_step) * cfg.batch_size * accelerator.num_processes / max(1e-9, elapsed - trained_before),
                2,
            ),
            "steps": step,
            "epochs_run": epoch,
            "kept_epoch": kept_epoch,
            "stopped": reason,
            "finished": datetime.now().astimezone().isoformat(timespec="seconds"),
            "config": {**asdict(cfg), "learning_rate": lr},
            "data": data.summary,
            "source": data_source(cfg),
        }
        validation_rows = kind.validation_rows(data, built, predictions, references)
        done = {
            "event": "done",
            "task": cfg.task,
            "output": str(output),
            "metrics": metrics,
            "train_seconds": result["train_seconds"],
        }
        save_run(output, kind, unwrapped, built, result, events, validation_rows)
        checkpoint.remove(output)
        emit(done)
    accelerator.wait_for_everyone()
    return result


def _cpu_copy(model: Any) -> dict:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def data_source(cfg: TrainConfig) -> dict:
    """What a run was trained on, to tell runs apart: the file's name and SHA-256, and the label check's corrections
    that made it from another file (None for a file as the user gave it)."""
    corrections = None
    if cfg.corrections:
        corrections = json.loads(Path(cfg.corrections).read_text(encoding="utf-8"))
    return {"file": Path(cfg.data).name, "sha256": file_sha256(cfg.data), "corrections": corrections}


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _loss(logits: Any, labels: Any, label_smoothing: float, reduction: str = "mean") -> Any:
    """Cross-entropy over every labelled position (-100 marks the sub-tokens and padding that have no label); with
    several labels per example (0/1 floats, one per label), each label's own binary cross-entropy."""
    import torch

    if labels.is_floating_point():
        return torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), labels, reduction=reduction)
    return torch.nn.functional.cross_entropy(
        logits.flatten(0, -2).float(),
        labels.flatten(),
        ignore_index=-100,
        label_smoothing=label_smoothing,
        reduction=reduction,
    )


def _evaluate(kind: Any, model: Any, loader: Any, accelerator: Any) -> tuple[float, list, list]:
    """Validation loss and, per example in loader order, the predicted and the true label (or labels)."""
    import torch

    model.eval()
    total_loss, count, predictions, references = 0.0, 0, [], []
    with torch.inference_mode():
        for batch in loader:
            logits, labels = kind.forward(model, batch)
            if labels.ndim == 2:  # a label per token: the processes' batches can differ in length
                logits = accelerator.pad_across_processes(logits, dim=1)
                labels = accelerator.pad_across_processes(labels, dim=1, pad_index=-100)
            logits, labels = accelerator.gather_for_metrics((logits, labels))
            total_loss += _loss(logits, labels, 0.0, reduction="sum").item()
            count += labels.numel() if labels.is_floating_point() else int((labels != -100).sum().item())
            # Several labels each: every label's probability, for the kind to choose its threshold.
            predictions += (logits.float().sigmoid() if labels.is_floating_point() else logits.argmax(-1)).tolist()
            references += labels.tolist()
    model.train()
    return total_loss / max(1, count), predictions, references


def _in_order(values: list, order: list[int]) -> list:
    """Values that came in `order` (value k belongs to example order[k]), put back in the examples' own order."""
    result: list = [None] * len(order)
    for position, index in enumerate(order):
        result[index] = values[position]
    return result


def _mixed_precision(cpu: bool) -> str:
    import torch

    if cpu or not torch.cuda.is_available():
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def remove_partial(output: Path) -> None:
    """Delete what a crashed or cancelled run left behind."""
    for partial in output.parent.glob(f".{output.name}.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)


def jsonl_reporter(path: Path | None = None) -> Report:
    """Print each event as one JSON line (what the app reads), also appending it to `path` if given."""

    def report(event: dict) -> None:
        line = json.dumps(event)
        print(line, flush=True)
        if path is not None:
            with open(path, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    return report


def human_reporter(every: int = 10) -> Report:
    """Readable progress for a terminal."""

    def report(event: dict) -> None:
        kind = event["event"]
        if kind == "start":
            print(
                f"training {event['model']} ({event['task']}) on {event['train']['rows']} examples, "
                f"{len(event['labels'])} labels, {event['total_steps']} steps, "
                f"learning rate {event['learning_rate']:g}",
                flush=True,
            )
        elif kind == "step" and (event["step"] % every == 0 or event["step"] == event["total_steps"]):
            print(
                f"step {event['step']}/{event['total_steps']}  loss {event['loss']:.4f}  "
                f"elapsed {event['elapsed']:.0f}s  eta {event['eta']:.0f}s",
                flush=True,
            )
        elif kind == "eval":
            name, score = headline_of(event)
            print(f"epoch {event['epoch']}: validation loss {event['val_loss']:.4f}, {name} {score:.3f}", flush=True)
        elif kind == "stop":
            print(stop_sentence(event), flush=True)
        elif kind == "done":
            name, score = headline_of(event["metrics"])
            print(f"saved to {event['output']}: {name} {score:.3f}", flush=True)

    return report


def stop_sentence(event: dict) -> str:
    """Why a run's training ended and which epoch it kept, from its "stop" event, in English (the CLI's words)."""
    measure = {"val_loss": "validation loss", "f1": "entity F1"}.get(event["kept_by"], event["kept_by"])
    epoch, epochs, kept = event["epoch"], event["epochs"], event["kept_epoch"]
    if event["reason"] == EARLY_STOPPING:
        return f"stopped early after epoch {epoch} of {epochs}: the {measure} stopped improving; kept epoch {kept}"
    if event["reason"] == CANCELLED:
        return f"cancelled after epoch {epoch} of {epochs}; resume it to go on from there"
    if event["reason"] == PRUNED:
        return f"pruned after epoch {epoch} of {epochs}: the search found it behind the other trials"
    return f"ran all {epochs} epochs; kept epoch {kept}, the best {measure}"


def headline_of(values: dict) -> tuple[str, float]:
    """The score that sums a run up, from an eval event or the metrics: accuracy, micro F1 (several labels per
    text), else entity F1."""
    if "accuracy" in values:
        return "accuracy", values["accuracy"]
    if "f1_micro" in values:
        return "micro F1", values["f1_micro"]
    return "entity F1", values["f1"]


if os.environ.get("TOKENIZERS_PARALLELISM") is None:
    # The tokenizer runs once, before training; its thread pool would only warn after a fork.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
