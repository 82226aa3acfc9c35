"""What is particular to fine-tuning an image classifier: a zip of labelled pictures, a timm model with a new head.

The zip holds one folder per class (the ImageFolder layout, also under one top folder), or a CSV/JSONL table of
file,label next to the pictures. Pictures are read from the zip one at a time as training needs them: nothing is
extracted, so a large zip of photos costs no more memory than a batch.
"""

from __future__ import annotations

import io
import math
import os
import posixpath
import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from finetune.data import LABEL_COLUMN_NAMES, MIN_PER_LABEL, DataError, LabelledTexts, _natural_order, read_table, split
from finetune.train import Built, Prepared, TrainConfig

TAB_TASK = "image_classification"  # where the app serves its runs
LIBRARY = "timm"
PIPELINE_TAG = "image-classification"
EPOCHS = 3

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")
FILE_COLUMN_NAMES = ("file", "filename", "file_name", "image", "image_path", "path", "filepath", "file_path", "img")
SPLIT_FOLDERS = {"train", "training", "val", "valid", "validation", "test", "testing"}
MAX_IMAGE_PIXELS = 50_000_000  # as the app's [app] max_image_pixels
MAX_TOTAL_BYTES = 4 * 2**30  # all members together, uncompressed
MAX_MEMBER_BYTES = 512 * 2**20
MAX_TABLE_BYTES = 200 * 2**20
# Photos hardly compress; a big member that shrank 200-fold is a bomb, not a picture.
MAX_RATIO = 200
RATIO_CHECKED_FROM = 8 * 2**20
READABLE_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
# Milder than timm's ImageNet recipe (crops of 8-100% of the picture, colour jitter 0.4), which suits hundreds of
# epochs: in three, a crop of a tenth of a picture too often no longer shows its class. Measured on 1,000
# Fashion-MNIST pictures at 64 px, 3 epochs (held out: 500 of its test set): 0.702 accuracy against 0.688.
TRAIN_CROP_SCALE = (0.5, 1.0)
COLOR_JITTER = 0.0
# Evaluated (and served) on the whole picture, not the 87.5% centre crop of ImageNet's recipe: the user's pictures
# are framed on their subject, and its edges tell classes apart (a shirt's sleeves). Fashion-MNIST, 2,000 training
# and 1,000 held-out pictures at 96 px, 3 epochs: 0.884 accuracy against 0.858 with the centre crop.
EVAL_CROP_PCT = 1.0
# Fashion-MNIST's 28 px pictures, as above with the learning rate 1e-3: 0.814 accuracy at 64 px, 0.844 at 96 px.
SMALL_PICTURE_SCALE = 3
MIN_IMAGE_SIZE = 64
MISTAKE_PICTURES = 12
THUMBNAIL_SIDE = 160
FORMATS = "JPEG, PNG, WebP or BMP"
LAYOUT = "one folder of pictures per class (such as roses/1.jpg, tulips/2.jpg), or a labels.csv of file,label"

_DRIVE = re.compile(r"^[A-Za-z]:")


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


@dataclass(frozen=True)
class LabelledImages:
    """Pictures in a zip (member names) with their class names, checked: every one decodes, every class has two."""

    archive: str
    files: list[str]
    labels: list[str]
    label_names: list[str]
    skipped_unreadable: int = 0
    skipped_missing: int = 0  # listed in the table but not in the zip
    dropped_unlabelled: int = 0  # listed in the table without a label
    median_side: int = 0  # the middle one of the pictures' shorter sides, in pixels


def load_data(cfg: TrainConfig) -> Prepared:
    """Read, check and split the user's zip (or use their validation zip)."""
    train = read_images(cfg.data, cfg.max_rows)
    if cfg.validation:
        val = read_images(cfg.validation, cfg.max_rows, training=False)
        unknown = sorted(set(val.labels) - set(train.label_names))
        if unknown:
            raise DataError(
                f"The validation zip has classes the training zip lacks ({', '.join(unknown[:5])}); "
                "use the same class names in both."
            )
        val = replace(val, label_names=train.label_names)
    else:
        train, val = _split(train, cfg.val_split, cfg.seed)
    return Prepared(train, val, train.label_names, {"train": summary(train), "validation": summary(val)})


def read_images(path: str | Path, max_rows: int = 200_000, training: bool = True) -> LabelledImages:
    """The labelled pictures in a zip, each one decoded once to check it (the unreadable ones are skipped).

    A validation zip (training=False) may hold a single class, or a single picture of one.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"The file '{path.name}' does not exist any more; upload it again.")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise DataError(f"The file is a single picture; upload a zip of {LAYOUT}.")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError(f"The file is not a zip archive; upload a .zip of {LAYOUT}.") from None
    with archive:
        members = checked_members(archive)
        pictures = [m for m in members if m.filename.lower().endswith(IMAGE_SUFFIXES)]
        if not pictures:
            raise DataError(_no_pictures(members))
        if len(pictures) > max_rows:
            raise DataError(
                f"The zip holds {len(pictures):,} pictures; the limit is {max_rows:,}, so upload a smaller sample."
            )
        table = label_table(archive, members, max_rows)
        if table is not None:
            files, labels, missing, unlabelled = from_table(archive, table, {m.filename for m in pictures}, max_rows)
        else:
            files, labels = from_folders([m.filename for m in pictures])
            missing = unlabelled = 0
        sizes = [_readable_size(archive, name) for name in files]
    unreadable = Counter(label for label, size in zip(labels, sizes) if size is None)
    files = [name for name, size in zip(files, sizes) if size is not None]
    labels = [label for label, size in zip(labels, sizes) if size is not None]
    _check_classes(labels, unreadable, len(sizes), training)
    sides = sorted(min(size) for size in sizes if size is not None)
    names = _natural_order(labels)
    return LabelledImages(
        str(path), files, labels, names, sum(unreadable.values()), missing, unlabelled, sides[len(sides) // 2]
    )


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
            f"'{cfg.model}' could not be built as a timm image classifier ({type(e).__name__}); "
            "choose a model the Image classification tab offers."
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
    train_transform = create_transform(
        **data_config, is_training=True, scale=TRAIN_CROP_SCALE, color_jitter=COLOR_JITTER
    )
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
    from finetune.evaluate import classification_metrics

    names = data.label_names
    metrics = {**classification_metrics(references, predictions, names), "task": "image"}
    wrong = [
        {"file": file, "true": names[ref], "predicted": names[pred]}
        for file, ref, pred in zip(data.validation.files, references, predictions)
        if ref != pred
    ]
    return metrics, wrong[:MISTAKE_PICTURES]


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
            picture = _open(archive, mistake["file"], THUMBNAIL_SIDE)
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
        picture = _open(self._zip(), self.files[index], self.side)
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


def _open(archive: zipfile.ZipFile, name: str, side: int) -> Any:
    """The member as an RGB picture, upright; a JPEG is decoded at no less than twice `side`, which is much faster."""
    return _open_sized(archive, name, side)[0]


def _open_sized(archive: zipfile.ZipFile, name: str, side: int) -> tuple[Any, tuple[int, int]]:
    """The picture as _open gives it, and its width and height as stored (before the faster decoding)."""
    from PIL import Image, ImageOps

    picture = Image.open(io.BytesIO(archive.read(name)))
    width, height = picture.size
    if width * height > MAX_IMAGE_PIXELS:
        raise DataError(
            f"The picture '{name}' is {width}×{height} pixels; the limit is {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels, "
            "so resize it or remove it from the zip."
        )
    picture.draft("RGB", (2 * side, 2 * side))
    picture.load()
    return ImageOps.exif_transpose(picture).convert("RGB"), (width, height)


def _readable_size(archive: zipfile.ZipFile, name: str) -> tuple[int, int] | None:
    """The picture's size when the member decodes as a picture, else None; one too large is refused, not skipped."""
    import zlib

    from PIL import Image

    try:
        return _open_sized(archive, name, 32)[1]
    except Image.DecompressionBombError:
        raise DataError(
            f"The picture '{name}' is larger than {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels; "
            "resize it or remove it from the zip."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, Image.UnidentifiedImageError):
        return None


def checked_members(archive: zipfile.ZipFile, what: str = "picture") -> list[zipfile.ZipInfo]:
    """The zip's files that are the user's (no folders, hidden files or __MACOSX), after the safety checks.

    `what` the zip should hold, for the messages: "picture" or "recording".
    """
    infos = archive.infolist()
    total = 0
    for info in infos:
        name = info.filename
        parts = re.split(r"[/\\]", name)
        if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in parts:
            raise DataError(
                f"The zip holds a file named '{name}', which points outside the zip's folders; "
                "zip the folders again without it and upload the zip again."
            )
        total += info.file_size
        if info.file_size > RATIO_CHECKED_FROM and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise DataError(
                f"The zip's file '{name}' unpacks to {_gib(info.file_size)} from {_gib(info.compress_size)}, "
                f"which is what a zip bomb does, not a {what}; zip the {what}s themselves and upload again."
            )
        if info.file_size > MAX_MEMBER_BYTES:
            raise DataError(
                f"The zip's file '{name}' is {_gib(info.file_size)}; each {what} may be at most "
                f"{_gib(MAX_MEMBER_BYTES)}, so resize it or remove it."
            )
        if total > MAX_TOTAL_BYTES:
            raise DataError(
                f"The zip unpacks to more than {_gib(MAX_TOTAL_BYTES)}, the limit; upload a smaller sample."
            )
    members = [info for info in infos if not info.is_dir() and _visible(info.filename)]
    for info in members:
        if info.flag_bits & 0x1:
            raise DataError(f"The zip is password-protected; zip the {what}s again without a password.")
        if info.compress_type not in READABLE_COMPRESSION:
            raise DataError(
                f"The zip was packed with a compression method this app cannot read ('{info.filename}'); "
                "zip it again with the standard Deflate method, as most zip tools do by default."
            )
    return members


def _visible(name: str) -> bool:
    parts = [part for part in name.split("/") if part]
    return bool(parts) and not any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _no_pictures(members: list[zipfile.ZipInfo]) -> str:
    suffixes = Counter(PurePosixPath(m.filename).suffix.lower() or "(no extension)" for m in members)
    if not suffixes:
        return f"The zip is empty; upload a zip of {LAYOUT}."
    held = ", ".join(f"{n} {suffix}" for suffix, n in suffixes.most_common(3))
    return f"The zip holds no {FORMATS} pictures (it has {held} files); upload a zip of {LAYOUT}."


def from_folders(names: list[str]) -> tuple[list[str], list[str]]:
    """Each picture with its class: the first folder below the folder all the pictures share."""
    parents = [PurePosixPath(name).parent.parts for name in names]
    root = parents[0]
    for parent in parents[1:]:
        common = 0
        while common < min(len(root), len(parent)) and root[common] == parent[common]:
            common += 1
        root = root[:common]
    if all(parent == root for parent in parents) and root:
        root = root[:-1]  # everything in one folder: that folder is the (only) class
    loose = [name for name, parent in zip(names, parents) if len(parent) == len(root)]
    if loose:
        where = f" of '{'/'.join(root)}'" if root else ""
        some = f"{len(loose)} pictures (such as '{loose[0]}') sit"
        count = "All the pictures sit" if len(loose) == len(names) else some
        raise DataError(
            f"{count} at the top{where} rather than in class folders; put each class's pictures in a folder "
            "named after the class, or add a labels.csv of file,label."
        )
    labels = [parent[len(root)] for parent in parents]
    classes = set(labels)
    if classes <= SPLIT_FOLDERS and len(classes) > 1 and all(len(p) > len(root) + 1 for p in parents):
        listed = " and ".join(sorted(classes))
        raise DataError(
            f"The zip's folders are {listed} splits with the class folders inside them; upload the training "
            "folder's zip as the data and the other one as the validation file."
        )
    return names, labels


def label_table(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], max_rows: int
) -> tuple[zipfile.ZipInfo, Any] | None:
    """The one table in the zip that names a file column and a label column, read; None when there is none."""
    tables = [m for m in members if m.filename.lower().endswith(TABLE_SUFFIXES)]
    found, unusable = [], []
    for info in tables:
        df = _read_member_table(archive, info, max_rows)
        file_column = _named(list(df.columns), FILE_COLUMN_NAMES)
        label_column = _named([c for c in df.columns if c != file_column], LABEL_COLUMN_NAMES)
        if file_column is None or label_column is None:
            unusable.append((info, df))
        else:
            found.append((info, df[[file_column, label_column]].set_axis(["file", "label"], axis=1)))
    if len(found) > 1:
        listed = ", ".join(f"'{info.filename}'" for info, _ in found[:3])
        raise DataError(f"The zip holds several tables of file,label ({listed}); keep only one and upload it again.")
    if found:
        return found[0]
    if unusable and not _in_class_folders(members):
        info, df = unusable[0]
        columns = ", ".join(f"'{c}'" for c in list(df.columns)[:10]) or "none"
        raise DataError(
            f"The table '{info.filename}' needs a file column and a label column (it has {columns}); "
            "name them file and label, or put the pictures in one folder per class."
        )
    return None


def _in_class_folders(members: list[zipfile.ZipInfo]) -> bool:
    try:
        from_folders([m.filename for m in members if m.filename.lower().endswith(IMAGE_SUFFIXES)])
        return True
    except DataError:
        return False


def _read_member_table(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_rows: int) -> Any:
    """A table inside the zip, read the way an uploaded table is (it is written to a temporary file for that)."""
    if info.file_size > MAX_TABLE_BYTES:
        raise DataError(
            f"The table '{info.filename}' is over {MAX_TABLE_BYTES // 2**20} MB; list the pictures in a smaller file."
        )
    with tempfile.TemporaryDirectory(prefix="model-studio-table-") as folder:
        copy = Path(folder) / f"table{PurePosixPath(info.filename).suffix.lower()}"
        copy.write_bytes(archive.read(info))
        try:
            return read_table(copy, max_rows=max_rows, max_bytes=MAX_TABLE_BYTES)
        except DataError as e:
            raise DataError(f"In the zip's table '{info.filename}': {e}") from None


def from_table(
    archive: zipfile.ZipFile, table: tuple[zipfile.ZipInfo, Any], pictures: set[str], max_rows: int
) -> tuple[list[str], list[str], int, int]:
    """The pictures the table lists with their labels; how many it lists that are not in the zip, or unlabelled."""
    info, df = table
    if len(df) > max_rows:
        raise DataError(f"The table '{info.filename}' has {len(df):,} rows; the limit is {max_rows:,}.")
    folder = posixpath.dirname(info.filename)
    files, labels, missing, unlabelled, first_missing = [], [], 0, 0, ""
    for raw_file, raw_label in zip(df["file"].tolist(), df["label"].tolist()):
        listed = str(raw_file).strip().replace("\\", "/")
        label = str(raw_label).strip()
        if not label:
            unlabelled += 1
            continue
        member = _member_for(listed, folder, pictures)
        if member is None:
            missing += 1
            first_missing = first_missing or listed
            continue
        files.append(member)
        labels.append(label)
    if not files:
        raise DataError(
            f"None of the {len(df):,} files the table '{info.filename}' lists is a picture in the zip "
            f"(the first is '{first_missing}'); give each file's path relative to the table, such as images/1.jpg."
        )
    return files, labels, missing, unlabelled


def _member_for(listed: str, folder: str, pictures: set[str]) -> str | None:
    """The zip member a table's file names: relative to the table's folder, else to the zip's top."""
    if not listed:
        return None
    for base in (folder, ""):
        candidate = posixpath.normpath(posixpath.join(base, listed.lstrip("/")))
        if candidate in pictures:
            return candidate
    return None


def _check_classes(labels: list[str], unreadable: Counter, total: int, training: bool) -> None:
    counts = Counter(labels)
    if not counts:
        raise DataError(
            f"None of the {total:,} pictures in the zip could be read; "
            f"upload {FORMATS} files that open on your computer."
        )
    if not training:
        return
    every = counts | unreadable
    if len(every) == 1:
        only = next(iter(every))
        raise DataError(f"Every picture is in the class '{only}'; a classifier needs at least two classes.")
    rare = sorted(label for label in every if counts[label] < MIN_PER_LABEL)
    if not rare:
        return
    if len(rare) > 1:
        listed = ", ".join(f"'{label}'" for label in rare[:5]) + (f" and {len(rare) - 5} more" if len(rare) > 5 else "")
        raise DataError(
            f"The classes {listed} have fewer than {MIN_PER_LABEL} readable pictures each; each class needs at least "
            f"{MIN_PER_LABEL}, so add pictures to them or remove them."
        )
    label = rare[0]
    broken = f" ({unreadable[label]} more could not be read)" if unreadable[label] else ""
    pictures = "picture" if counts[label] == 1 else "pictures"
    raise DataError(
        f"The class '{label}' has only {counts[label]} readable {pictures}{broken}; each class needs at least "
        f"{MIN_PER_LABEL}, so add pictures to it or remove it."
    )


def _split(data: LabelledImages, val_fraction: float, seed: int) -> tuple[LabelledImages, LabelledImages]:
    """Stratified train and validation pictures; train keeps the counts of what was skipped."""
    train, val = split(LabelledTexts(data.files, data.labels, data.label_names), val_fraction, seed)
    return (
        replace(data, files=train.texts, labels=train.labels),
        LabelledImages(data.archive, val.texts, val.labels, data.label_names),
    )


def _named(columns: list[Any], names: tuple[str, ...]) -> Any:
    normal = {column: str(column).strip().lower() for column in columns}
    return next((column for name in names for column in columns if normal[column] == name), None)


def _is_transformer(model: Any) -> bool:
    """A vision transformer (ViT, DeiT, Swin, BEiT, EVA...), as opposed to a convnet."""
    return hasattr(model, "patch_embed") or any(type(m).__name__.endswith("Attention") for m in model.modules())


def _gib(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.1f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.0f} MiB"
