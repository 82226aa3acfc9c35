"""A faster CPU copy of a fine-tuned text classifier, measured on the run's own validation split before it is kept.

The copy is the run exported to ONNX (attention in plain operations, so that ONNX Runtime's transformer optimizer
can fuse it), its Linear layers' weights quantised to int8 (onnxruntime.quantization.quantize_dynamic). bench/
optimise.py chose it by measurement on a 2-core CPU against float32 PyTorch, PyTorch's own dynamic int8 and
float32 ONNX; the README has its table. The copy is a folder beside the run, `<run>-int8`, that
tasks/text_classification.load opens like any model, and the Fine-tune tab offers it as "<run> (int8)".
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

from finetune.report import COMPLETE_MARKER
from studio.errors import UserError

# variant -> what the copy's label and folder say of it
VARIANTS = {"int8": "int8", "onnx": "ONNX"}
DEFAULT_VARIANT = "int8"
SUPPORTED_TASKS = ("text",)
VALIDATION_FILE = "validation.jsonl"  # the run's own validation split, which text runs save beside the model
ONNX_OPSET = 17


def copy_path(run: Path, variant: str = DEFAULT_VARIANT) -> Path:
    return run.parent / f"{run.name}-{variant.lower()}"


def copy_label(run_name: str, variant: str = DEFAULT_VARIANT) -> str:
    return f"{run_name} ({VARIANTS[variant]})"


def optimise(run: str | Path, variant: str = DEFAULT_VARIANT, report: Callable[[str], None] = print) -> dict:
    """Make, measure and save the faster copy of `run`; returns the measurement. A copy made before is returned
    as it was measured then, with "existing": true."""
    run = Path(run)
    if variant not in VARIANTS:
        raise UserError(f"The variant '{variant}' is unknown; choose one of {', '.join(VARIANTS)}.")
    result = read_run(run)
    output = copy_path(run, variant)
    with _only_one(output, run.name):
        if (output / COMPLETE_MARKER).is_file():
            made = json.loads((output / COMPLETE_MARKER).read_text(encoding="utf-8"))
            return {**made["measurement"], "existing": True}
        texts, labels = validation_split(run, result)
        partial = output.parent / f".{output.name}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            report(f"exporting {run.name} to ONNX ({variant})")
            started = time.perf_counter()
            export(run, partial, texts[:4], quantise=variant == "int8")
            export_seconds = time.perf_counter() - started
            report(f"measuring float32 and the copy on {len(texts)} validation texts")
            measurement = measure(run, partial, texts, labels)
            measurement.update(
                model=copy_label(run.name, variant),
                run=run.name,
                variant=variant,
                path=str(output),
                export_seconds=round(export_seconds, 1),
            )
            metadata = {
                "task": result.get("task", "text"),
                "label": measurement["model"],
                "optimised_from": run.name,
                "measurement": measurement,
                "config": result["config"],
                "metrics": {"accuracy": measurement["accuracy_after"], "labels": result["metrics"]["labels"]},
            }
            (partial / "README.md").write_text(copy_card(measurement), encoding="utf-8")
            (partial / COMPLETE_MARKER).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
            if output.exists():  # a copy that never completed
                shutil.rmtree(output)
            os.replace(partial, output)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return measurement


def read_run(run: Path) -> dict:
    """The run's metrics.json, after checking that the folder is a finished run of a kind that can be copied."""
    if not (run / COMPLETE_MARKER).is_file() or not (run / "config.json").is_file():
        raise UserError(f"'{run}' is not a finished fine-tuning run; give the folder a run wrote (runs/<name>).")
    try:
        result = json.loads((run / COMPLETE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"The metrics.json of '{run.name}' cannot be read; fine-tune the model again.") from None
    if "optimised_from" in result:
        raise UserError(f"'{run.name}' is already a faster CPU copy; make the copy from the run it came from.")
    task = result.get("task", "text")
    if task not in SUPPORTED_TASKS:
        what = {"image": "image classifiers", "entities": "entity recognisers"}.get(task, f"'{task}' runs")
        raise UserError(f"Faster CPU copies are made of text classifiers only, not yet of {what}.")
    if not (run / "model.safetensors").is_file():
        raise UserError(f"'{run.name}' has no model.safetensors; fine-tune the model again.")
    return result


def validation_split(run: Path, result: dict) -> tuple[list[str], list[str]]:
    """The run's validation texts and labels: the ones it saved, else its data file split again as it was."""
    saved = run / VALIDATION_FILE
    if saved.is_file():
        rows = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [row["text"] for row in rows], [row["label"] for row in rows]
    from finetune.text import load_data
    from finetune.train import TrainConfig

    known = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{key: value for key, value in result["config"].items() if key in known})
    for path in (cfg.data, cfg.validation):
        if path and not Path(path).is_file():
            raise UserError(
                f"The run's data file {path} is gone, so its validation split cannot be measured; put the file "
                "back there, or fine-tune again (new runs keep their validation split)."
            )
    data = load_data(cfg)
    return list(data.validation.texts), list(data.validation.labels)


def export(run: Path, folder: Path, sample_texts: list[str], quantise: bool = True) -> None:
    """Write the run as folder/model.onnx (int8 weights when `quantise`) with its config and tokenizer."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from studio.hf import from_pretrained
    from studio.onnx_models import ONNX_FILE

    tokenizer = from_pretrained(AutoTokenizer, str(run))
    # Plain ("eager") attention exports as MatMul/Softmax, which the optimizer fuses into one Attention operator;
    # the SDPA path exports as a pattern it does not recognise, and the copy was no faster than float32.
    model = from_pretrained(AutoModelForSequenceClassification, str(run), attn_implementation="eager").eval()
    sample = tokenizer(sample_texts or ["a"], truncation=True, max_length=32, padding=True, return_tensors="pt")
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]
    raw, fused = folder / "raw.onnx", folder / "fused.onnx"

    class Logits(torch.nn.Module):
        """The model called with positional inputs (what the exporter passes), returning only the logits."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(names, inputs))).logits

    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it took as constants, which here are not
        torch.onnx.export(
            Logits(),
            tuple(sample[name] for name in names),
            str(raw),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={**{name: {0: "batch", 1: "tokens"} for name in names}, "logits": {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    config = model.config
    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", 0)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", 0)
    with contextlib.redirect_stdout(None):
        fused_model = optimizer.optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=hidden)
    fused_model.save_model_to_file(str(fused))
    raw.unlink()
    if quantise:
        # The fused operators have no type that shape inference knows; their outputs are float. The quantiser
        # logs a suggestion, meant for static quantisation, on the root logger at every call.
        logging.disable(logging.WARNING)
        try:
            quantize_dynamic(
                str(fused),
                str(folder / ONNX_FILE),
                weight_type=QuantType.QInt8,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        finally:
            logging.disable(logging.NOTSET)
        fused.unlink()
    else:
        fused.rename(folder / ONNX_FILE)
    model.config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def measure(run: Path, copy: Path, texts: list[str], labels: list[str]) -> dict:
    """Samples per second and accuracy of the float32 run and of the copy, batched as the app batches requests.

    The two take turns batch by batch, so a machine busy with other work slows both alike.
    """
    from studio.batching import MAX_BATCH_SIZE
    from studio.device import configure_threads
    from tasks import text_classification

    if not texts:
        raise UserError("The run's validation split is empty, so there is nothing to measure the copy on.")
    configure_threads()
    models = {"before": text_classification.load(str(run), "cpu"), "after": text_classification.load(str(copy), "cpu")}
    batches = [texts[i : i + MAX_BATCH_SIZE] for i in range(0, len(texts), MAX_BATCH_SIZE)]
    for model in models.values():  # the first call pays for allocations that later ones reuse
        text_classification.predict(model, batches[0])
    seconds = dict.fromkeys(models, 0.0)
    predicted: dict[str, list[str]] = {name: [] for name in models}
    for number, batch in enumerate(batches):
        order = list(models) if number % 2 == 0 else list(reversed(models))
        for name in order:
            started = time.perf_counter()
            scores = text_classification.predict(models[name], batch)
            seconds[name] += time.perf_counter() - started
            predicted[name] += [next(iter(row)) for row in scores]
    accuracy = {name: sum(p == t for p, t in zip(predicted[name], labels)) / len(labels) for name in models}
    speed = {name: len(texts) / max(1e-9, seconds[name]) for name in models}
    agreement = sum(a == b for a, b in zip(predicted["before"], predicted["after"])) / len(texts)
    return {
        "validation_rows": len(texts),
        "samples_per_second_before": round(speed["before"], 2),
        "samples_per_second_after": round(speed["after"], 2),
        "speedup": round(speed["after"] / speed["before"], 3),
        "accuracy_before": round(accuracy["before"], 4),
        "accuracy_after": round(accuracy["after"], 4),
        "agreement": round(agreement, 4),
        "size_mb_before": round((run / "model.safetensors").stat().st_size / 1e6, 1),
        "size_mb_after": round((copy / "model.onnx").stat().st_size / 1e6, 1),
    }


def measurement_table(m: dict) -> str:
    """The measurement as Markdown: the run and its copy, side by side."""
    change = (m["accuracy_after"] - m["accuracy_before"]) * 100
    return (
        f"| model | samples/s | accuracy | size |\n|---|---|---|---|\n"
        f"| {m['run']} (float32) | {m['samples_per_second_before']:.1f} | {m['accuracy_before']:.1%} "
        f"| {m['size_mb_before']:.0f} MB |\n"
        f"| {m['model']} | {m['samples_per_second_after']:.1f} | {m['accuracy_after']:.1%} "
        f"| {m['size_mb_after']:.0f} MB |\n\n"
        f"**{m['speedup']:.2f}× the throughput**, accuracy {change:+.1f} points; the copy gives the same label as "
        f"the original on {m['agreement']:.1%} of the {m['validation_rows']} validation texts."
    )


def copy_card(m: dict) -> str:
    return f"""---
library_name: onnxruntime
pipeline_tag: text-classification
tags: [text-classification, onnx, int8, model-studio]
---

# {m["model"]}

A faster CPU copy of the fine-tuned run `{m["run"]}`: exported to ONNX and run by ONNX Runtime
{"with its Linear layers' weights in int8 (dynamic quantisation)" if m["variant"] == "int8" else "in float32"}.
Measured on the run's own validation split, batched as the app batches requests:

{measurement_table(m)}

## Use

```python
import onnxruntime
from transformers import AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("path/to/{Path(m["path"]).name}")
session = onnxruntime.InferenceSession("path/to/{Path(m["path"]).name}/model.onnx")
inputs = tokenizer(["Your text here"], return_tensors="np")
logits = session.run(["logits"], {{i.name: inputs[i.name] for i in session.get_inputs()}})[0]
```
"""


@contextlib.contextmanager
def _only_one(output: Path, run_name: str) -> Iterator[None]:
    """Hold the copy's lock file while it is made: a second request, from this process or another, is refused."""
    import fcntl

    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output.parent / f".{output.name}.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"The faster copy of '{run_name}' is already being made; wait for it to finish, then use it."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
