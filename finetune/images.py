"""What is particular to fine-tuning an image classifier: a zip of labelled pictures, a timm model with a new head.

The zip holds one folder per class (the ImageFolder layout, also under one top folder), or a CSV/JSONL table of
file,label next to the pictures. Pictures are read from the zip one at a time as training needs them: nothing is
extracted, so a large zip of photos costs no more memory than a batch.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from finetune.data import LabelledTexts, split
from finetune.train import Built, Prepared, TrainConfig
from studio.errors import DataError, UserError
from studio.files.pictures import LabelledImages, open_picture, read_images

TAB_TASK = "image_classification"  # where the app serves its runs
LIBRARY = "timm"
PIPELINE_TAG = "image-classification"
EPOCHS = 3

# Milder than timm's ImageNet recipe (crops of 8-100% of the picture, colour jitter 0.4), which suits hundreds of
# epochs: in three, a crop of a tenth of a picture too often no longer shows its class. Measured on 1,000
# Fashion-MNIST pictures at 64 px, 3 epochs (held out: 500 of its test set): 0.702 accuracy against 0.688.
# That is augmentation strength 0.5, the default (crops of 50-100%, no colour jitter); a search tries others.

# Evaluated (and served) on the whole picture, not the 87.5% centre crop of ImageNet's recipe: the user's pictures
# are framed on their subject, and its edges tell classes apart (a shirt's sleeves). Fashion-MNIST, 2,000 training
# and 1,000 held-out pictures at 96 px, 3 epochs: 0.884 accuracy against 0.858 with the centre crop.
EVAL_CROP_PCT = 1.0
# Fashion-MNIST's 28 px pictures, as above with the learning rate 1e-3: 0.814 accuracy at 64 px, 0.844 at 96 px.
SMALL_PICTURE_SCALE = 3
MIN_IMAGE_SIZE = 64
MISTAKE_PICTURES = 12
THUMBNAIL_SIDE = 160


def augmentation(strength: float) -> dict:
    """timm's training-transform settings for an augmentation strength from 0 (none) to 1: random crops of
    (1 - strength) to all of the picture, flips, and above 0.5 a colour jitter rising to timm's usual 0.4."""
    if not 0 <= strength <= 1:
        raise UserError("The augmentation strength must be between 0 and 1.")
    if strength == 0:
        return {"scale": (1.0, 1.0), "ratio": (1.0, 1.0), "hflip": 0.0, "color_jitter": 0.0}
    return {"scale": (1 - strength, 1.0), "color_jitter": max(0.0, strength - 0.5) * 0.8}


def default_learning_rate(model: Any) -> float:
    """Vision transformers take smaller steps than convnets.

    Convnets: EfficientNet-Lite0 on 1,000 Fashion-MNIST pictures (64 px, 3 epochs) reached 0.752 accuracy at 3e-4,
    0.814 at 1e-3 and 0.780 at 3e-3. Transformers: 5e-5, the usual value for fine-tuning ViT/DeiT with AdamW at
    batch size 16 (no ViT weights are at hand offline to measure it here).
    """
    return 5e-5 if _is_transformer(model) else 1e-3


def default_image_size(median_side: int, model_side: int) -> int:
    """The size to train at when none is asked for: the model's own (0), or less for small pictures.

    Pictures far smaller than the model's input (icons, scans, Fashion-MNIST's 28 px) gain nothing from being
    blown up to 224 px but cost (224/size)² more compute: they are trained at SMALL_PICTURE_SCALE times their own
    size, in steps of 32 px, and never under MIN_IMAGE_SIZE.
    """
    wanted = max(MIN_IMAGE_SIZE, math.ceil(SMALL_PICTURE_SCALE * median_side / 32) * 32)
    return wanted if median_side and wanted < model_side else 0


def load_data(cfg: TrainConfig) -> Prepared:
    """Read, check and split the user's zip (or use their validation zip)."""
    train = read_images(cfg.data, cfg.max_rows)
    if cfg.validation:
        val = read_images(cfg.validation, cfg.max_rows, training=False)
        unknown = sorted(set(val.labels) - set(train.label_names))
        if unknown:
            raise DataError(
                "The validation zip has classes the training zip lacks ({classes}); use the same class names in both.",
                classes=", ".join(unknown[:5]),
            )
        val = replace(val, label_names=train.label_names)
    else:
        train, val = _split(train, cfg.val_split, cfg.seed)
    return Prepared(train, val, train.label_names, {"train": summary(train), "validation": summary(val)})


def summary(data: LabelledImages) -> dict[str, Any]:
    """Picture count, pictures per class and what was skipped, for display."""
    counts = Counter(data.labels)
    return {
        "rows": len(data.files),
        "labels": {name: counts[name] for name in data.label_names},
        "skipped_unreadable": data.skipped_unreadable,
        "skipped_missing": data.skipped_missing,
        "dropped_unlabelled": data.dropped_unlabelled,
    }


def build(cfg: TrainConfig, data: Prepared, device: Any) -> Built:
    """The pretrained timm model with a new head for the user's classes; timm's own transforms for it."""
    import json

    import timm
    import torch
    from timm.data import create_transform, resolve_data_config

    from studio.errors import UserError
    from studio.timm_models import timm_folder

    folder = timm_folder(cfg.model)
    pretrained_cfg = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("pretrained_cfg", {})
    options: dict[str, Any] = {"num_classes": len(data.label_names)}
    size = cfg.image_size or default_image_size(data.train.median_side, pretrained_cfg.get("input_size", [3, 224])[-1])
    if size and pretrained_cfg.get("fixed_input_size"):
        # A transformer's position embeddings are sized to its input; timm resamples them on load.
        options["img_size"] = size
    try:
        model = timm.create_model(f"local-dir:{folder}", pretrained=True, **options)
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise UserError(
            "'{model}' could not be built as a timm image classifier ({error}); choose a model the Image "
            "classification tab offers.",
            model=cfg.model,
            error=type(e).__name__,
        ) from None
    head = model.get_classifier()
    # A zero head starts every class at the same score: timm's random init gives logits of ~±5 that the first
    # epoch spends undoing (loss 5 instead of ln(classes)) while its huge gradients, clipped, barely move the rest.
    for parameter in head.parameters() if isinstance(head, torch.nn.Module) else []:
        torch.nn.init.zeros_(parameter)
    data_config = resolve_data_config(model=model)
    if size:
        data_config["input_size"] = (3, size, size)
    if EVAL_CROP_PCT:
        data_config["crop_pct"] = EVAL_CROP_PCT
    channels_last = not _is_transformer(model)
    if channels_last:  # depthwise and grouped convolutions run several times faster in this layout
        model = model.to(memory_format=torch.channels_last)
    train_transform = create_transform(**data_config, is_training=True, **augmentation(cfg.augmentation))
    eval_transform = create_transform(**data_config)
    side = data_config["input_size"][-1]
    index = {name: i for i, name in enumerate(data.label_names)}
    train_set = ZippedImages(data.train, [index[label] for label in data.train.labels], train_transform, side)
    val_set = ZippedImages(data.validation, [index[label] for label in data.validation.labels], eval_transform, side)
    collate = _ChannelsLastCollate() if channels_last else _Collate()
    return Built(
        model=model,
        processor=eval_transform,
        train_set=train_set,
        val_set=val_set,
        train_lengths=[1] * len(train_set),
        val_lengths=[1] * len(val_set),
        collate_train=collate,
        collate_eval=collate,
        label_smoothing=cfg.label_smoothing,
        extra={"data_config": data_config},
    )


def forward(model: Any, batch: Any) -> tuple[Any, Any]:
    """Logits and labels of one batch."""
    return model(batch["pixel_values"]), batch["labels"]


def headline(built: Built, predictions: list[int], references: list[int]) -> tuple[str, float]:
    return "accuracy", sum(p == r for p, r in zip(predictions, references)) / max(1, len(references))


def evaluation(data: Prepared, built: Built, predictions: list[int], references: list[int]) -> tuple[dict, list]:
    """All the classification metrics, and the validation pictures the model got wrong (their names in the zip)."""
    from studio.metrics import classification_metrics

    names = data.label_names
    metrics = {**classification_metrics(references, predictions, names), "task": "image"}
    wrong = [
        {"file": file, "true": names[ref], "predicted": names[pred]}
        for file, ref, pred in zip(data.validation.files, references, predictions)
        if ref != pred
    ]
    return metrics, wrong[:MISTAKE_PICTURES]


def validation_rows(data: Prepared, built: Built, predictions: list[int], references: list[int]) -> list[dict]:
    """Every validation picture (its name in the zip) with its true and predicted class, for comparing runs."""
    names = data.label_names
    return [
        {"item": file, "true": names[ref], "predicted": names[pred]}
        for file, ref, pred in zip(data.validation.files, references, predictions)
    ]


def save_model(model: Any, built: Built, folder: Any) -> None:
    """A timm folder (config.json with the class names, model.safetensors) that timm's local-dir: loads."""
    import timm
    import torch

    model = model.to(memory_format=torch.contiguous_format)  # safetensors stores only contiguous tensors
    timm.models.save_for_hf(
        model,
        str(folder),
        model_config={"label_names": list(built.train_set.label_names)},
        data_config=built.extra["data_config"],
        safe_serialization=True,
    )


def save_extras(folder: Path, built: Built, result: dict) -> None:
    """Small pictures of the mistakes, named in each mistake's "image", for the tab's gallery and the card.

    Also records the image size trained at, which cfg.image_size 0 left to default_image_size or the model.
    """
    from PIL import Image

    result["config"]["image_size"] = built.extra["data_config"]["input_size"][-1]
    mistakes = result.get("mistakes") or []
    if not mistakes:
        return
    (folder / "mistakes").mkdir()
    with zipfile.ZipFile(built.val_set.archive) as archive:
        for number, mistake in enumerate(mistakes[:MISTAKE_PICTURES], 1):
            picture = open_picture(archive, mistake["file"], THUMBNAIL_SIDE)
            picture.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
            relative = f"mistakes/{number:02d}.png"
            picture.save(folder / relative, format="PNG")
            mistake["image"] = relative


def usage(path: str, built: Built) -> str:
    """How to use a saved run outside the app, for its model card."""
    return f"""```python
import timm
import torch
from PIL import Image

model = timm.create_model("local-dir:{path}", pretrained=True).eval()
transform = timm.data.create_transform(**timm.data.resolve_data_config(model=model))
classes = model.pretrained_cfg["label_names"]
with torch.inference_mode():
    scores = model(transform(Image.open("picture.jpg").convert("RGB")).unsqueeze(0)).softmax(-1)[0]
print(classes[int(scores.argmax())], float(scores.max()))
```"""


class ZippedImages:
    """The pictures of one split, read from the zip as they are asked for: (transformed picture, class index)."""

    def __init__(self, data: LabelledImages, targets: list[int], transform: Any, side: int):
        self.archive = data.archive
        self.files = data.files
        self.label_names = data.label_names
        self.targets = targets
        self.transform = transform
        self.side = side
        self._handle: zipfile.ZipFile | None = None
        self._pid = 0

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        picture = open_picture(self._zip(), self.files[index], self.side)
        return self.transform(picture), self.targets[index]

    def _zip(self) -> zipfile.ZipFile:
        # One handle per process: a forked loader worker must not share the parent's file position.
        if self._handle is None or self._pid != os.getpid():
            self._handle, self._pid = zipfile.ZipFile(self.archive), os.getpid()
        return self._handle

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_handle": None, "_pid": 0}


class _Collate:
    """A batch: the pictures stacked, the class indices as a tensor (a class, so loader workers can pickle it)."""

    def __call__(self, examples: list[tuple[Any, int]]) -> dict:
        import torch

        return {
            "pixel_values": self._layout(torch.stack([picture for picture, _ in examples])),
            "labels": torch.tensor([target for _, target in examples]),
        }

    def _layout(self, pixels: Any) -> Any:
        return pixels


class _ChannelsLastCollate(_Collate):
    def _layout(self, pixels: Any) -> Any:
        import torch

        return pixels.contiguous(memory_format=torch.channels_last)


def _split(data: LabelledImages, val_fraction: float, seed: int) -> tuple[LabelledImages, LabelledImages]:
    """Stratified train and validation pictures; train keeps the counts of what was skipped."""
    train, val = split(LabelledTexts(data.files, data.labels, data.label_names), val_fraction, seed)
    return (
        replace(data, files=train.texts, labels=train.labels),
        LabelledImages(data.archive, val.texts, val.labels, data.label_names),
    )


def _is_transformer(model: Any) -> bool:
    """A vision transformer (ViT, DeiT, Swin, BEiT, EVA...), as opposed to a convnet."""
    return hasattr(model, "patch_embed") or any(type(m).__name__.endswith("Attention") for m in model.modules())
