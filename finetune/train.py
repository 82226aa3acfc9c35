"""Fine-tune a pretrained encoder into a text classifier: a training loop you can read top to bottom.

Runs the same on one CPU, one GPU, or many processes under `accelerate launch` (data-parallel).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from finetune.data import LabelledTexts, prepare, read_table, split, summary

Report = Callable[[dict], None]


@dataclass
class TrainConfig:
    data: str
    output: str
    model: str = "pack:minilm-l6"
    text_column: str = "text"
    label_column: str = "label"
    validation: str | None = None
    val_split: float = 0.2
    epochs: int = 3
    learning_rate: float | None = None  # None: chosen from the model's size
    batch_size: int = 16
    max_length: int = 128
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    patience: int = 2  # epochs without a better validation loss before stopping
    seed: int = 0
    cpu: bool = False
    max_rows: int = 200_000


class Cancelled(Exception):
    """The run was asked to stop."""


def default_learning_rate(hidden_size: int) -> float:
    """Small encoders take larger steps; these are the usual good values for each size."""
    if hidden_size <= 384:
        return 1e-4
    if hidden_size <= 768:
        return 4e-5
    return 2e-5


def load_data(cfg: TrainConfig) -> tuple[LabelledTexts, LabelledTexts]:
    """Read, check and split the user's file (or use their validation file)."""
    train = prepare(read_table(cfg.data, max_rows=cfg.max_rows), cfg.text_column, cfg.label_column)
    if cfg.validation:
        val = prepare(read_table(cfg.validation, max_rows=cfg.max_rows), cfg.text_column, cfg.label_column)
        return train, val
    return split(train, cfg.val_split, cfg.seed)


def length_grouped_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Batches of similar-length texts, in random order: little padding, still shuffled.

    Texts are shuffled, cut into pools of 50 batches, each pool sorted by length and cut into batches.
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


def train(cfg: TrainConfig, report: Report = print, should_stop: Callable[[], bool] = lambda: False) -> dict:
    """Train, evaluate, and save the best model with its metrics and model card into cfg.output."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from transformers import (
        AutoConfig,
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        get_linear_schedule_with_warmup,
    )

    from finetune.evaluate import classification_metrics, misclassified
    from finetune.report import save_run
    from studio.hf import from_pretrained

    started = time.perf_counter()
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
        raise FileExistsError(f"{output} already exists and is not empty; choose another output folder.")

    # Data: read, check, split, tokenize once.
    train_data, val_data = load_data(cfg)
    label_names = train_data.label_names
    unknown = sorted(set(val_data.labels) - set(label_names))
    if unknown:
        from finetune.data import DataError

        raise DataError(f"The validation file has labels the training file lacks ({', '.join(unknown[:5])}).")
    label2id = {name: i for i, name in enumerate(label_names)}
    tokenizer = from_pretrained(AutoTokenizer, cfg.model)
    max_length = usable_max_length(cfg.max_length, tokenizer, from_pretrained(AutoConfig, cfg.model))
    train_set = _tokenize(tokenizer, train_data, label2id, max_length)
    val_set = _tokenize(tokenizer, val_data, label2id, max_length)
    collate = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if accelerator.device.type == "cuda" else None)

    # Model: the pretrained encoder with a new classification head for the user's labels.
    model = from_pretrained(
        AutoModelForSequenceClassification,
        cfg.model,
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id=label2id,
        ignore_mismatched_sizes=True,
    )
    lr = cfg.learning_rate or default_learning_rate(model.config.hidden_size)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
    params = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": cfg.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    # The fused kernel updates all parameters in one pass: several times faster per step than the default loop.
    optimizer = torch.optim.AdamW(params, lr=lr, fused=accelerator.device.type in {"cpu", "cuda"})
    lengths = [len(example["input_ids"]) for example in train_set]
    batches_per_epoch = len(length_grouped_batches(lengths, cfg.batch_size, 0))
    steps_per_epoch = math.ceil(batches_per_epoch / accelerator.num_processes)  # each process takes its share
    total_steps = steps_per_epoch * cfg.epochs
    # Counted in whole-dataset batches: the prepared scheduler steps once per process at every optimizer step.
    schedule_steps = batches_per_epoch * cfg.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_fraction * schedule_steps), schedule_steps)
    # Validation texts go in length order, so batches pad little; the final predictions are put back in the
    # texts' order (for the misclassified examples) below.
    val_order = sorted(range(len(val_set)), key=lambda i: len(val_set[i]["input_ids"]))
    val_batches = [val_order[i : i + cfg.batch_size * 2] for i in range(0, len(val_order), cfg.batch_size * 2)]
    val_loader = DataLoader(val_set, batch_sampler=val_batches, collate_fn=collate)
    model, optimizer, scheduler, val_loader = accelerator.prepare(model, optimizer, scheduler, val_loader)

    emit(
        {
            "event": "start",
            "model": cfg.model,
            "labels": label_names,
            "train": summary(train_data),
            "validation": summary(val_data),
            "learning_rate": lr,
            "epochs": cfg.epochs,
            "total_steps": total_steps,
        }
    )

    # Training: each epoch a new length-grouped order; evaluate after each; keep the best weights.
    step, best_loss, best_state, bad_epochs = 0, math.inf, None, 0
    training_started = time.perf_counter()  # the time left is estimated from training alone, not loading
    for epoch in range(1, cfg.epochs + 1):
        train_loader = accelerator.prepare(
            DataLoader(
                train_set,
                batch_sampler=length_grouped_batches(lengths, cfg.batch_size, cfg.seed + epoch),
                collate_fn=collate,
            )
        )
        model.train()
        for batch in train_loader:
            if should_stop():
                raise Cancelled()
            loss = model(**batch).loss
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            elapsed = time.perf_counter() - started
            emit(
                {
                    "event": "step",
                    "step": step,
                    "epoch": round(step / steps_per_epoch, 3),
                    "loss": round(loss.item(), 5),
                    "learning_rate": scheduler.get_last_lr()[0],
                    "elapsed": round(elapsed, 1),
                    "eta": round((time.perf_counter() - training_started) / step * (total_steps - step), 1),
                    "total_steps": total_steps,
                }
            )

        val_loss, predictions, references = _evaluate(model, val_loader, accelerator)
        accuracy = sum(p == r for p, r in zip(predictions, references)) / max(1, len(references))
        improved = val_loss < best_loss
        emit({"event": "eval", "step": step, "epoch": epoch, "val_loss": round(val_loss, 5), "accuracy": accuracy})
        if improved:
            best_loss, bad_epochs = val_loss, 0
            best_state = {k: v.detach().cpu().clone() for k, v in accelerator.unwrap_model(model).state_dict().items()}
        else:
            bad_epochs += 1
            if bad_epochs >= cfg.patience:
                emit({"event": "early_stop", "epoch": epoch, "best_val_loss": round(best_loss, 5)})
                break

    # Evaluation of the best weights, then an atomic save: the folder appears complete or not at all.
    unwrapped = accelerator.unwrap_model(model)
    unwrapped.load_state_dict(best_state)
    val_loss, predictions, references = _evaluate(model, val_loader, accelerator)
    predictions, references = _in_text_order(predictions, val_order), _in_text_order(references, val_order)
    result = {}
    if main:
        metrics = classification_metrics(references, predictions, label_names)
        metrics["val_loss"] = round(val_loss, 5)
        examples = misclassified(val_data.texts, references, predictions, label_names)
        result = {
            "metrics": metrics,
            "misclassified": examples,
            "train_seconds": round(time.perf_counter() - started, 1),
            "samples_per_second": round(
                step * cfg.batch_size * accelerator.num_processes / max(1e-9, time.perf_counter() - started), 2
            ),
            "steps": step,
            "config": {**asdict(cfg), "learning_rate": lr},
            "data": {"train": summary(train_data), "validation": summary(val_data)},
        }
        done = {"event": "done", "output": str(output), "metrics": metrics, "train_seconds": result["train_seconds"]}
        save_run(output, unwrapped, tokenizer, result, [*events, done])
        emit(done)
    accelerator.wait_for_everyone()
    return result


def usable_max_length(wanted: int, tokenizer: Any, config: Any) -> int:
    """`wanted`, but never more tokens than the model has positions for: a longer batch would crash mid-epoch."""
    limits = [wanted, getattr(config, "max_position_embeddings", None)]
    if getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
        limits.append(config.max_position_embeddings - 2)  # two positions are reserved for the padding offset
    if 0 < tokenizer.model_max_length < 1_000_000:  # some tokenizers say 1e30 for "no limit"
        limits.append(tokenizer.model_max_length)
    return int(min(limit for limit in limits if limit))


def _in_text_order(values: list[int], order: list[int]) -> list[int]:
    """Values that came in `order` (value k belongs to text order[k]), put back in the texts' own order."""
    result = [0] * len(order)
    for position, index in enumerate(order):
        result[index] = values[position]
    return result


def _mixed_precision(cpu: bool) -> str:
    import torch

    if cpu or not torch.cuda.is_available():
        return "no"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def _tokenize(tokenizer: Any, data: LabelledTexts, label2id: dict[str, int], max_length: int) -> list[dict]:
    encoded = tokenizer(data.texts, truncation=True, max_length=max_length)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": label2id[label]}
        for ids, mask, label in zip(encoded["input_ids"], encoded["attention_mask"], data.labels)
    ]


def _evaluate(model: Any, loader: Any, accelerator: Any) -> tuple[float, list[int], list[int]]:
    import torch

    model.eval()
    total_loss, count, predictions, references = 0.0, 0, [], []
    with torch.inference_mode():
        for batch in loader:
            outputs = model(**batch)
            logits, labels = accelerator.gather_for_metrics((outputs.logits, batch["labels"]))
            loss = torch.nn.functional.cross_entropy(logits.float(), labels, reduction="sum")
            total_loss += loss.item()
            count += len(labels)
            predictions += logits.argmax(-1).tolist()
            references += labels.tolist()
    model.train()
    return total_loss / max(1, count), predictions, references


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
                f"training {event['model']} on {event['train']['rows']} rows, {len(event['labels'])} labels, "
                f"{event['total_steps']} steps, learning rate {event['learning_rate']:g}",
                flush=True,
            )
        elif kind == "step" and (event["step"] % every == 0 or event["step"] == event["total_steps"]):
            print(
                f"step {event['step']}/{event['total_steps']}  loss {event['loss']:.4f}  "
                f"elapsed {event['elapsed']:.0f}s  eta {event['eta']:.0f}s",
                flush=True,
            )
        elif kind == "eval":
            print(
                f"epoch {event['epoch']}: validation loss {event['val_loss']:.4f}, accuracy {event['accuracy']:.3f}",
                flush=True,
            )
        elif kind == "early_stop":
            print(f"stopping early after epoch {event['epoch']}: validation loss stopped improving", flush=True)
        elif kind == "done":
            m = event["metrics"]
            print(
                f"saved to {event['output']}: accuracy {m['accuracy']:.3f}, macro F1 {m['macro']['f1']:.3f}", flush=True
            )

    return report


if os.environ.get("TOKENIZERS_PARALLELISM") is None:
    # The tokenizer runs once, before training; its thread pool would only warn after a fork.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
