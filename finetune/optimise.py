"""A faster CPU copy of a fine-tuned text classifier or entity recogniser, measured on the run's own validation split.

The copy is the run exported to ONNX (attention in plain operations, so that ONNX Runtime's transformer optimizer
can fuse it), its Linear layers' weights quantised to int8 (onnxruntime.quantization.quantize_dynamic). bench/
optimise.py chose it by measurement on a 2-core CPU against float32 PyTorch, PyTorch's own dynamic int8 and
float32 ONNX; the README has its table. The copy is a folder beside the run, `<run>-int8`, that
tasks/text_classification.load (or tasks/ner.load) opens like any model, and the Fine-tune tab offers it as
"<run> (int8)".
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

from studio.errors import UserError
from studio.i18n import ENGLISH, say, translate
from studio.runs import COMPLETE_MARKER, ENCODER_HEAD_FILE

# variant -> what the copy's label and folder say of it
VARIANTS = {"int8": "int8", "onnx": "ONNX"}
DEFAULT_VARIANT = "int8"
SUPPORTED_TASKS = ("text", "entities")
VALIDATION_FILE = "validation.jsonl"  # the run's own validation split, which runs save beside the model
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
        raise UserError(
            "The variant '{variant}' is unknown; choose one of {variants}.",
            variant=variant,
            variants=", ".join(VARIANTS),
        )
    result = read_run(run)
    output = copy_path(run, variant)
    with _only_one(output, run.name):
        if (output / COMPLETE_MARKER).is_file():
            made = json.loads((output / COMPLETE_MARKER).read_text(encoding="utf-8"))
            return {**made["measurement"], "existing": True}
        task = result.get("task", "text")
        if result.get("metrics", {}).get("multi_label"):
            raise UserError(
                "A faster copy is made for runs that give one label per text; {run} gives several.", run=run.name
            )
        inputs, answers = validation_split(run, result)
        partial = output.parent / f".{output.name}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            # In the language of the request being served (English on the command line).
            report(say("exporting {run} to ONNX ({variant})", run=run.name, variant=variant))
            started = time.perf_counter()
            samples = [" ".join(words) for words in inputs[:4]] if task == "entities" else inputs[:4]
            export(run, partial, samples, quantise=variant == "int8", task=task)
            export_seconds = time.perf_counter() - started
            if task == "entities":
                report(say("measuring float32 and the copy on {count} validation sentences", count=len(inputs)))
            else:
                report(say("measuring float32 and the copy on {count} validation texts", count=len(inputs)))
            if task == "entities":
                measurement = measure_entities(run, partial, inputs, answers, result)
            else:
                measurement = measure(run, partial, inputs, answers)
            measurement.update(
                model=copy_label(run.name, variant),
                run=run.name,
                variant=variant,
                path=str(output),
                export_seconds=round(export_seconds, 1),
            )
            headline = "f1" if task == "entities" else "accuracy"
            metadata = {
                "task": task,
                "label": measurement["model"],
                "optimised_from": run.name,
                "measurement": measurement,
                "config": result["config"],
                "metrics": {headline: measurement[f"{headline}_after"], "labels": result["metrics"]["labels"]},
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
        raise UserError(
            "'{run}' is not a finished fine-tuning run; give the folder a run wrote (runs/<name>).", run=str(run)
        )
    try:
        result = json.loads((run / COMPLETE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(
            "The metrics.json of '{run}' cannot be read; fine-tune the model again.", run=run.name
        ) from None
    if "optimised_from" in result:
        raise UserError("'{run}' is already a faster CPU copy; make the copy from the run it came from.", run=run.name)
    task = result.get("task", "text")
    if task == "image":
        raise UserError(
            "Faster CPU copies are made of text classifiers and entity recognisers only, not yet of image classifiers."
        )
    if task not in SUPPORTED_TASKS:
        raise UserError(
            "Faster CPU copies are made of text classifiers and entity recognisers only, not yet of '{task}' runs.",
            task=task,
        )
    if (run / ENCODER_HEAD_FILE).is_file():
        raise UserError(
            "'{run}' is a head on the offline pack's 4-bit multilingual encoder, already a fast CPU model, so it "
            "has no faster copy.",
            run=run.name,
        )
    if not (run / "model.safetensors").is_file():
        raise UserError("'{run}' has no model.safetensors; fine-tune the model again.", run=run.name)
    return result


def validation_split(run: Path, result: dict) -> tuple[list, list]:
    """The run's validation inputs and answers — texts and labels, or sentences' words and tags — as the run saved
    them, else its data file split again as it was."""
    entities = result.get("task", "text") == "entities"
    saved = run / VALIDATION_FILE
    if saved.is_file():
        rows = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines() if line.strip()]
        if entities:
            return [row["words"] for row in rows], [row["tags"] for row in rows]
        return [row["text"] for row in rows], [row["label"] for row in rows]
    from finetune.kinds import kind_named
    from finetune.train import TrainConfig

    known = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{key: value for key, value in result["config"].items() if key in known})
    for path in (cfg.data, cfg.validation):
        if path and not Path(path).is_file():
            raise UserError(
                "The run's data file {path} is gone, so its validation split cannot be measured; put the file back "
                "there, or fine-tune again (new runs keep their validation split).",
                path=path,
            )
    validation = kind_named(cfg.task).load_data(cfg).validation
    if entities:
        return [list(words) for words in validation.words], [list(tags) for tags in validation.tags]
    return list(validation.texts), list(validation.labels)


def export(run: Path, folder: Path, sample_texts: list[str], quantise: bool = True, task: str = "text") -> None:
    """Write the run as folder/model.onnx (int8 weights when `quantise`) with its config and tokenizer."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

    from studio.hf import from_pretrained
    from studio.onnx_models import ONNX_FILE

    tokenizer = from_pretrained(AutoTokenizer, str(run))
    # Plain ("eager") attention exports as MatMul/Softmax, which the optimizer fuses into one Attention operator;
    # the SDPA path exports as a pattern it does not recognise, and the copy was no faster than float32.
    auto_class = AutoModelForTokenClassification if task == "entities" else AutoModelForSequenceClassification
    model = from_pretrained(auto_class, str(run), attn_implementation="eager").eval()
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
            dynamic_axes={
                **{name: {0: "batch", 1: "tokens"} for name in names},
                "logits": {0: "batch", 1: "tokens"} if task == "entities" else {0: "batch"},
            },
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
    """Samples per second and accuracy of the float32 run and of the copy, batched as the app batches requests."""
    from studio.device import configure_threads
    from tasks import text_classification

    if not texts:
        raise UserError("The run's validation split is empty, so there is nothing to measure the copy on.")
    configure_threads()
    models = {"before": text_classification.load(str(run), "cpu"), "after": text_classification.load(str(copy), "cpu")}
    speed, predicted = compare({name: top_labels(model) for name, model in models.items()}, texts)
    accuracy = {name: sum(p == t for p, t in zip(predicted[name], labels)) / len(labels) for name in models}
    return {
        "metric": "accuracy",
        "validation_rows": len(texts),
        "samples_per_second_before": round(speed["before"], 2),
        "samples_per_second_after": round(speed["after"], 2),
        "speedup": round(speed["after"] / speed["before"], 3),
        "accuracy_before": round(accuracy["before"], 4),
        "accuracy_after": round(accuracy["after"], 4),
        "agreement": round(agreement(predicted["before"], predicted["after"]), 4),
        "size_mb_before": round((run / "model.safetensors").stat().st_size / 1e6, 1),
        "size_mb_after": round((copy / "model.onnx").stat().st_size / 1e6, 1),
    }


def measure_entities(run: Path, copy: Path, words: list[list[str]], tags: list[list[str]], result: dict) -> dict:
    """Sentences per second and entity F1 of the float32 run and of the copy, scored as the run was: its windows
    of each sentence, every word tagged in the first window that labels it (finetune/entities.py)."""
    from types import SimpleNamespace

    from transformers import AutoConfig

    from finetune import entities
    from studio.capitals import CAPITALS
    from studio.device import configure_threads
    from studio.files.tagged import TaggedSentences
    from studio.hf import from_pretrained, token_limit
    from studio.metrics import entity_metrics
    from tasks import ner

    if not words:
        raise UserError("The run's validation split is empty, so there is nothing to measure the copy on.")
    configure_threads()
    config = from_pretrained(AutoConfig, str(run))
    names = [config.id2label[i] for i in range(len(config.id2label))]
    tokenizer = entities._word_tokenizer(str(run))
    max_length = min(result["config"]["max_length"], token_limit(tokenizer, config))
    split = TaggedSentences(words=words, tags=tags)
    label2id = {name: i for i, name in enumerate(names)}
    capitals = bool(getattr(config, CAPITALS, False))
    examples, mapping = entities.windows(tokenizer, split, label2id, max_length, capitals)
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]["input_ids"]))  # as the app groups them
    models = {"before": ner.load(str(run), "cpu"), "after": ner.load(str(copy), "cpu")}
    speed, outputs = compare(
        {name: _tagger(m.model, tokenizer) for name, m in models.items()}, [examples[i] for i in order]
    )
    scores, predicted = {}, {}
    for name in models:
        in_order = [None] * len(examples)
        for position, index in enumerate(order):
            in_order[index] = outputs[name][position]
        built = SimpleNamespace(extra={"tag_names": names, "val_tags": tags, "val_words": mapping})
        predicted[name] = entities.word_tags(built, in_order)
        scores[name] = entity_metrics(tags, predicted[name], entities.entity_types(split))
    per_sentence = len(words) / len(examples)  # the windows' rate, as sentences
    before, after = ([w for s in predicted[name] for w in s] for name in ("before", "after"))
    return {
        "metric": "entity F1",
        "validation_rows": len(words),
        "samples_per_second_before": round(speed["before"] * per_sentence, 2),
        "samples_per_second_after": round(speed["after"] * per_sentence, 2),
        "speedup": round(speed["after"] / speed["before"], 3),
        "f1_before": round(scores["before"]["f1"], 4),
        "f1_after": round(scores["after"]["f1"], 4),
        "accuracy_before": round(scores["before"]["token_accuracy"], 4),  # of the words' tags
        "accuracy_after": round(scores["after"]["token_accuracy"], 4),
        "agreement": round(agreement(before, after), 4),  # of the words' tags
        "size_mb_before": round((run / "model.safetensors").stat().st_size / 1e6, 1),
        "size_mb_after": round((copy / "model.onnx").stat().st_size / 1e6, 1),
    }


def _tagger(model: Any, tokenizer: Any) -> Callable[[list[dict]], list[list[int]]]:
    """The model over a batch of windows: each window's predicted tag id per token."""
    import torch

    keys = ("input_ids", "attention_mask", "token_type_ids")

    def tag(windows: list[dict]) -> list[list[int]]:
        batch = tokenizer.pad([{k: w[k] for k in keys if k in w} for w in windows], return_tensors="pt")
        with torch.inference_mode():
            return model(**{k: v for k, v in batch.items() if k in keys}).logits.argmax(-1).tolist()

    return tag


def compare(
    predictors: dict[str, Callable[[list], list]], items: list, rounds: int = 1
) -> tuple[dict[str, float], dict[str, list]]:
    """Each predictor's items per second over `items` in the app's batches, and its output per item.

    The predictors take turns batch by batch, so a machine busy with other work slows them alike.
    """
    from studio.batching import MAX_BATCH_SIZE

    batches = [items[i : i + MAX_BATCH_SIZE] for i in range(0, len(items), MAX_BATCH_SIZE)]
    for predict in predictors.values():  # the first call pays for allocations that later ones reuse
        predict(batches[0])
    seconds = dict.fromkeys(predictors, 0.0)
    outputs: dict[str, list] = {name: [] for name in predictors}
    for number, batch in enumerate(batches * rounds):
        order = list(predictors) if number % 2 == 0 else list(reversed(predictors))
        for name in order:
            started = time.perf_counter()
            predicted = predictors[name](batch)
            seconds[name] += time.perf_counter() - started
            if number < len(batches):
                outputs[name] += predicted
    return {name: rounds * len(items) / max(1e-9, seconds[name]) for name in predictors}, outputs


def top_labels(classifier: Any) -> Callable[[list[str]], list[str]]:
    """The app's text-classification predict, reduced to each text's top label."""
    from tasks import text_classification

    return lambda texts: [next(iter(row)) for row in text_classification.predict(classifier, texts)]


def agreement(labels: list, other: list) -> float:
    """The share of texts given the same label."""
    return sum(a == b for a, b in zip(labels, other)) / max(1, len(labels))


def measurement_table(m: dict, lang: str = ENGLISH) -> str:
    """The measurement as Markdown: the run and its copy, side by side, in `lang` (a model card's is English)."""
    entities = m.get("metric") == "entity F1"
    key = "f1" if entities else "accuracy"
    change = (m[f"{key}_after"] - m[f"{key}_before"]) * 100
    said = {"speedup": m["speedup"], "change": change, "agreement": m["agreement"], "rows": m["validation_rows"]}
    if entities:
        header = translate("| model | sentences/s | entity F1 | size |", lang)
        summary = translate(
            "**{speedup:.2f}× the throughput**, entity F1 {change:+.1f} points; the copy gives the same tag on "
            "{agreement:.1%} of the words of the {rows} validation sentences.",
            lang,
            **said,
        )
    else:
        header = translate("| model | texts/s | accuracy | size |", lang)
        summary = translate(
            "**{speedup:.2f}× the throughput**, accuracy {change:+.1f} points; the copy gives the same label as the "
            "original on {agreement:.1%} of the {rows} validation texts.",
            lang,
            **said,
        )
    return (
        f"{header}\n|---|---|---|---|\n"
        f"| {m['run']} (float32) | {m['samples_per_second_before']:.1f} | {m[f'{key}_before']:.1%} "
        f"| {m['size_mb_before']:.0f} MB |\n"
        f"| {m['model']} | {m['samples_per_second_after']:.1f} | {m[f'{key}_after']:.1%} "
        f"| {m['size_mb_after']:.0f} MB |\n\n"
        f"{summary}"
    )


def copy_card(m: dict) -> str:
    return f"""---
library_name: onnxruntime
pipeline_tag: {"token-classification" if m.get("metric") == "entity F1" else "text-classification"}
tags: [onnx, {m["variant"]}, model-studio]
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
                "The faster copy of '{run}' is already being made; wait for it to finish, then use it.", run=run_name
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
