"""What is particular to fine-tuning a text classifier: a table of texts and labels, a sequence-classification head.

On the offline pack's multilingual-e5-small (Chinese and 100 more languages) the encoder stays frozen: it is a 4-bit
C engine that embeds but cannot learn, so each text is embedded once and a linear head learns from the embeddings,
as the Text classification tab's Chinese sentiment head was made (bench/chinese.py). The run is saved as that head
(encoder_head.json), which the tab serves on the same encoder.
"""

from __future__ import annotations

from typing import Any

from finetune import multilabel
from finetune.data import LabelledTexts, prepare, split, summary
from finetune.train import Built, Prepared, TrainConfig
from studio.errors import UserError
from studio.files.tables import read_table
from studio.runs import ENCODER_HEAD_FILE

TAB_TASK = "text_classification"  # where the app serves its runs
LIBRARY = "transformers"
PIPELINE_TAG = "text-classification"
EPOCHS = 3
# A linear head on unit-length embeddings learns at a far larger step than a whole encoder (bench/chinese.py's
# logistic regression, on the same embeddings, is the reference).
HEAD_LEARNING_RATE = 1e-2


def default_learning_rate(model: Any) -> float:
    """Small encoders take larger steps; these are the usual good values for each size."""
    if getattr(model, "frozen_encoder", None):
        return HEAD_LEARNING_RATE
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
    labels = table[cfg.label_column].tolist() if cfg.label_column in table.columns else []
    multi = multilabel.is_multi_label(labels, cfg.label_column)
    read, split_off = (multilabel.prepare_multi, multilabel.split_multi) if multi else (prepare, split)
    train = read(table, cfg.text_column, cfg.label_column)
    if cfg.validation:
        validation = read_table(cfg.validation, max_rows=cfg.max_rows)
        val = read(validation, cfg.text_column, cfg.label_column, training=False)
    else:
        train, val = split_off(train, cfg.val_split, cfg.seed)
    unknown = sorted(set(_labels_of(val, multi)) - set(train.label_names))
    if unknown:
        raise DataError(
            "The validation file has labels the training file lacks ({labels}).", labels=", ".join(unknown[:5])
        )
    read_as = {"encoding": table.attrs.get("encoding")} if table.attrs.get("encoding") else {}
    described = {"train": {**_summary(train, multi), **read_as}, "validation": _summary(val, multi)}
    return Prepared(train, val, train.label_names, described, multi_label=multi)


def table_summary(table: Any, text_column: str, label_column: str) -> dict:
    """What the tab says of an uploaded table, read as training reads it (several labels per text included)."""
    labels = table[label_column].tolist() if label_column in table.columns else []
    multi = multilabel.is_multi_label(labels, label_column)
    read = multilabel.prepare_multi if multi else prepare
    return _summary(read(table, text_column, label_column), multi)


def _labels_of(data: LabelledTexts, multi: bool) -> list[str]:
    return list(multilabel.label_counts(data.labels)) if multi else data.labels


def _summary(data: LabelledTexts, multi: bool) -> dict:
    """The split's summary; with several labels per text, "labels" counts the texts that have each."""
    if not multi:
        return summary(data)
    counts = multilabel.label_counts(data.labels)
    return {**summary(data), "labels": {name: counts[name] for name in data.label_names}, "multi_label": True}


def build(cfg: TrainConfig, data: Prepared, device: Any) -> Built:
    """The pretrained encoder with a new classification head for the user's labels; the texts tokenized once."""
    from studio import pack

    if pack.is_pack_ref(cfg.model) and pack.PACK_MODELS[pack.pack_name(cfg.model)].multilingual:
        if data.multi_label:
            raise UserError(
                "Texts with several labels need a base model that is fine-tuned whole; choose another base model."
            )
        return _build_encoder_head(cfg, data)
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
        **({"problem_type": "multi_label_classification"} if data.multi_label else {}),
    )
    train_set = _tokenize(tokenizer, data.train, label2id, max_length, data.multi_label)
    val_set = _tokenize(tokenizer, data.validation, label2id, max_length, data.multi_label)
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
        extra={"validation": data.validation, "multi_label": data.multi_label, "labels_in_order": label_names},
    )


def _build_encoder_head(cfg: TrainConfig, data: Prepared) -> Built:
    """A linear head for the user's labels on the frozen encoder's embeddings of the texts, each computed once."""
    import torch

    from tasks import zero_shot

    encoder = zero_shot.load(cfg.model, "cpu")
    label2id = {name: i for i, name in enumerate(data.label_names)}

    def examples(texts: LabelledTexts) -> list[dict]:
        embeddings = zero_shot.embed(encoder, texts.texts) if texts.texts else torch.zeros(0, 1)
        return [{"embedding": e, "labels": label2id[label]} for e, label in zip(embeddings, texts.labels)]

    def collate(batch: list[dict]) -> dict:
        return {
            "embeddings": torch.stack([example["embedding"] for example in batch]),
            "labels": torch.tensor([example["labels"] for example in batch]),
        }

    train_set, val_set = examples(data.train), examples(data.validation)
    # The embeddings share a large common part and vary little around it, so the head learns on them standardised
    # (by the training split's mean and spread), which save_model folds back into weights over the raw embeddings.
    stacked = torch.stack([example["embedding"] for example in train_set])
    mean, spread = stacked.mean(0), stacked.std(0).clamp(min=1e-6)
    for example in train_set + val_set:
        example["embedding"] = (example["embedding"] - mean) / spread
    model = torch.nn.Linear(stacked.shape[1], len(data.label_names))
    model.frozen_encoder = cfg.model
    model.standardised_by = (mean, spread)
    return Built(
        model=model,
        processor=None,
        train_set=train_set,
        val_set=val_set,
        train_lengths=[1] * len(train_set),
        val_lengths=[1] * len(val_set),
        collate_train=collate,
        collate_eval=collate,
        extra={"validation": data.validation, "labels": data.label_names},
    )


def forward(model: Any, batch: Any) -> tuple[Any, Any]:
    """Logits and labels of one batch."""
    if "embeddings" in batch:  # a head on a frozen encoder
        return model(batch["embeddings"]), batch["labels"]
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    return model(**inputs).logits, batch["labels"]


def headline(built: Built, predictions: list, references: list) -> tuple[str, float]:
    """Accuracy; with several labels per text, micro F1 with every label's threshold at 0.5."""
    if built.extra.get("multi_label"):
        return "f1_micro", multilabel.micro_f1(
            multilabel.decide(predictions, [0.5] * len(built.extra["labels_in_order"])), references
        )
    return "accuracy", sum(p == r for p, r in zip(predictions, references)) / max(1, len(references))


def evaluation(data: Prepared, built: Built, predictions: list, references: list) -> tuple[dict, list]:
    """All the classification metrics, and some validation texts the model got wrong. With several labels per text,
    each label's threshold is tuned here on the validation split (and folded into the model when it is saved)."""
    from studio.metrics import classification_metrics, misclassified

    if data.multi_label:
        thresholds = multilabel.tune_thresholds(predictions, references)
        built.extra["thresholds"] = thresholds
        decided = multilabel.decide(predictions, thresholds)
        metrics = multilabel.multi_label_metrics(decided, references, data.label_names, thresholds)
        rows = validation_rows(data, built, predictions, references)
        wrong = [{"text": row["item"], "true": row["true"], "predicted": row["predicted"]} for row in rows]
        return metrics, [row for row in wrong if row["true"] != row["predicted"]][:10]
    metrics = classification_metrics(references, predictions, data.label_names)
    return metrics, misclassified(data.validation.texts, references, predictions, data.label_names)


def validation_rows(data: Prepared, built: Built, predictions: list, references: list) -> list[dict]:
    """Every validation text with its true and predicted label (several: joined by ";"), for comparing runs
    (finetune/compare.py)."""
    names = data.label_names
    if data.multi_label:
        decided = multilabel.decide(predictions, built.extra.get("thresholds") or [0.5] * len(names))
        return [
            {"item": text, "true": cell, "predicted": multilabel.joined([n for n, yes in zip(names, row) if yes])}
            for text, cell, row in zip(data.validation.texts, data.validation.labels, decided)
        ]
    return [
        {"item": text, "true": names[ref], "predicted": names[pred]}
        for text, ref, pred in zip(data.validation.texts, references, predictions)
    ]


def save_model(model: Any, built: Built, folder: Any) -> None:
    import json

    if encoder := getattr(model, "frozen_encoder", None):
        labels = built.extra["labels"]
        mean, spread = model.standardised_by
        weights = model.weight.detach().cpu() / spread  # w . (x - mean) / spread + b, as weights over x
        bias = model.bias.detach().cpu() - weights @ mean
        head = {"encoder": encoder, "labels": labels, "weights": weights.tolist(), "bias": bias.tolist()}
        (folder / ENCODER_HEAD_FILE).write_text(json.dumps(head), encoding="utf-8")
        # What marks a folder as a run (studio/runs.py), and the labels as a transformers config names them.
        config = {"model_type": "encoder_head", "encoder": encoder, "id2label": dict(enumerate(labels))}
        (folder / "config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
        return
    if thresholds := built.extra.get("thresholds"):
        multilabel.fold_thresholds(model, thresholds)  # served as is: a label is given above 0.5
        model.config.label_thresholds = dict(zip(built.extra["labels_in_order"], thresholds))
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
    if built.processor is None:  # a head on the frozen multilingual encoder: served by the app, which has both
        return f"""A linear head on the offline pack's multilingual-e5-small, whose encoder stayed frozen
({ENCODER_HEAD_FILE}: labels, weights and bias over its query embeddings). Run it from a Model Studio checkout:

```python
from tasks import text_classification

classifier = text_classification.load("{path}", "cpu")
text_classification.predict(classifier, ["Your text here"])
```"""
    return f"""```python
from transformers import pipeline

classify = pipeline("text-classification", model="{path}")
classify("Your text here")
```"""


def _tokenize(
    tokenizer: Any, data: LabelledTexts, label2id: dict[str, int], max_length: int, multi_label: bool = False
) -> list[dict]:
    """Token ids and the label: its index, or with several labels a 0/1 float per label."""
    encoded = tokenizer(data.texts, truncation=True, max_length=max_length)
    target = (lambda cell: multilabel.multi_hot(cell, label2id)) if multi_label else label2id.__getitem__
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": target(label)}
        for ids, mask, label in zip(encoded["input_ids"], encoded["attention_mask"], data.labels)
    ]
