"""What is particular to fine-tuning a text classifier: a table of texts and labels, a sequence-classification head."""

from __future__ import annotations

from typing import Any

from finetune.data import LabelledTexts, prepare, split, summary
from finetune.train import Built, Prepared, TrainConfig
from studio.files.tables import read_table

TAB_TASK = "text_classification"  # where the app serves its runs
LIBRARY = "transformers"
PIPELINE_TAG = "text-classification"
EPOCHS = 3


def default_learning_rate(model: Any) -> float:
    """Small encoders take larger steps; these are the usual good values for each size."""
    hidden_size = model.config.hidden_size
    if hidden_size <= 384:
        return 1e-4
    if hidden_size <= 768:
        return 4e-5
    return 2e-5


def load_data(cfg: TrainConfig) -> Prepared:
    """Read, check and split the user's table (or use their validation file)."""
    from studio.errors import DataError

    table = read_table(cfg.data, max_rows=cfg.max_rows)
    train = prepare(table, cfg.text_column, cfg.label_column)
    if cfg.validation:
        validation = read_table(cfg.validation, max_rows=cfg.max_rows)
        val = prepare(validation, cfg.text_column, cfg.label_column, training=False)
    else:
        train, val = split(train, cfg.val_split, cfg.seed)
    unknown = sorted(set(val.labels) - set(train.label_names))
    if unknown:
        raise DataError(f"The validation file has labels the training file lacks ({', '.join(unknown[:5])}).")
    read_as = {"encoding": table.attrs.get("encoding")} if table.attrs.get("encoding") else {}
    return Prepared(train, val, train.label_names, {"train": {**summary(train), **read_as}, "validation": summary(val)})


def build(cfg: TrainConfig, data: Prepared, device: Any) -> Built:
    """The pretrained encoder with a new classification head for the user's labels; the texts tokenized once."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding

    from studio.hf import from_pretrained, token_limit

    label_names = data.label_names
    label2id = {name: i for i, name in enumerate(label_names)}
    tokenizer = from_pretrained(AutoTokenizer, cfg.model)
    max_length = min(cfg.max_length, token_limit(tokenizer, from_pretrained(AutoConfig, cfg.model)))
    model = from_pretrained(
        AutoModelForSequenceClassification,
        cfg.model,
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id=label2id,
        ignore_mismatched_sizes=True,
    )
    train_set = _tokenize(tokenizer, data.train, label2id, max_length)
    val_set = _tokenize(tokenizer, data.validation, label2id, max_length)
    collate = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if device.type == "cuda" else None)
    return Built(
        model=model,
        processor=tokenizer,
        train_set=train_set,
        val_set=val_set,
        train_lengths=[len(example["input_ids"]) for example in train_set],
        val_lengths=[len(example["input_ids"]) for example in val_set],
        collate_train=collate,
        collate_eval=collate,
        extra={"validation": data.validation},
    )


def forward(model: Any, batch: Any) -> tuple[Any, Any]:
    """Logits and labels of one batch."""
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    return model(**inputs).logits, batch["labels"]


def headline(built: Built, predictions: list[int], references: list[int]) -> tuple[str, float]:
    return "accuracy", sum(p == r for p, r in zip(predictions, references)) / max(1, len(references))


def evaluation(data: Prepared, built: Built, predictions: list[int], references: list[int]) -> tuple[dict, list]:
    """All the classification metrics, and some validation texts the model got wrong."""
    from studio.metrics import classification_metrics, misclassified

    metrics = classification_metrics(references, predictions, data.label_names)
    return metrics, misclassified(data.validation.texts, references, predictions, data.label_names)


def save_model(model: Any, built: Built, folder: Any) -> None:
    model.save_pretrained(folder, safe_serialization=True)
    built.processor.save_pretrained(folder)


def save_extras(folder: Any, built: Built, result: dict) -> None:
    """The validation split as it was, so that a faster copy (finetune/optimise.py) is measured on the same texts
    after the uploaded file is gone."""
    import json

    validation = built.extra["validation"]
    with open(folder / "validation.jsonl", "w", encoding="utf-8") as f:
        for text, label in zip(validation.texts, validation.labels):
            f.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")


def usage(path: str, built: Built) -> str:
    """How to use a saved run outside the app, for its model card."""
    return f"""```python
from transformers import pipeline

classify = pipeline("text-classification", model="{path}")
classify("Your text here")
```"""


def _tokenize(tokenizer: Any, data: LabelledTexts, label2id: dict[str, int], max_length: int) -> list[dict]:
    encoded = tokenizer(data.texts, truncation=True, max_length=max_length)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": label2id[label]}
        for ids, mask, label in zip(encoded["input_ids"], encoded["attention_mask"], data.labels)
    ]
