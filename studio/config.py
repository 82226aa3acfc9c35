"""models.toml: which model each task uses, the choices its tab offers, and the app's limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "models.toml"
TASK_NAMES = ("text_classification", "ner", "translation", "speech", "image_classification")
# Zero-shot classification (the Text classification tab's "Your labels"): natural-language-inference models online,
# the pack's MiniLM-L6 sentence encoder offline.
ZERO_SHOT_DEFAULT = {
    "default": "MoritzLaurer/deberta-v3-base-zeroshot-v2.0",
    "choices": {
        "DeBERTa-v3 base zero-shot v2.0": "MoritzLaurer/deberta-v3-base-zeroshot-v2.0",
        "BART large MNLI": "facebook/bart-large-mnli",
        "MiniLM-L6 similarity (offline pack)": "pack:minilm-l6",
    },
}
FINETUNE_DEFAULT = {
    "default": "distilbert/distilbert-base-uncased",
    "choices": {
        "DistilBERT base (uncased)": "distilbert/distilbert-base-uncased",
        "BERT base (uncased)": "google-bert/bert-base-uncased",
        "MiniLM-L6 (offline pack)": "pack:minilm-l6",
    },
}


# Base models for fine-tuning images and entities; offline the Fine-tune tab trains from the pack's.
FINETUNE_IMAGES_DEFAULT = {
    "default": "vit_small_patch16_224.augreg_in21k_ft_in1k",
    "choices": {
        "ViT small (ImageNet-21k → 1k)": "vit_small_patch16_224.augreg_in21k_ft_in1k",
        "ViT base (ImageNet-21k → 1k)": "vit_base_patch16_224.augreg2_in21k_ft_in1k",
        "DeiT small": "deit_small_patch16_224.fb_in1k",
        "EfficientNet-Lite0 (offline pack)": "pack:efficientnet-lite0",
    },
}
FINETUNE_ENTITIES_DEFAULT = {
    "default": "google-bert/bert-base-cased",
    "choices": {
        "BERT base (cased)": "google-bert/bert-base-cased",
        "DistilBERT base (cased)": "distilbert/distilbert-base-cased",
        "MiniLM-L6 (offline pack, uncased)": "pack:minilm-l6",
    },
}


@dataclass(frozen=True)
class TaskConfig:
    """One task's default model and the choices offered, as label -> model reference."""

    name: str
    default: str
    choices: dict[str, str]
    options: dict = field(default_factory=dict)

    def label_of(self, ref: str) -> str:
        return next((label for label, value in self.choices.items() if value == ref), ref)


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server, and how many requests it takes at once."""

    max_loaded_models: int = 5
    max_text_chars: int = 100_000
    max_audio_seconds: float = 3600.0
    max_image_pixels: int = 50_000_000
    max_upload_mb: int = 200
    max_dataset_rows: int = 200_000
    # Rows one batch run ("Run on a file") may hold, and batch runs the app runs at once (each a process).
    max_batch_rows: int = 100_000
    max_batch_jobs: int = 2
    # Requests waiting for a slot, over all tasks; beyond it a request is told the app is busy.
    queue_size: int = 64
    # Requests one task runs at once (tasks that batch requests together take a batch's worth).
    concurrency_per_task: int = 2
    # Uploads and outputs in Gradio's cache are deleted this long after they were written, checked this often.
    delete_files_after_s: int = 86_400
    delete_files_every_s: int = 3_600
    # Fine-tuned runs kept in runs_dir (faster CPU copies not counted), and all of them together, copies included:
    # beyond either a new fine-tune is refused until one is deleted.
    max_runs: int = 20
    max_runs_gib: float = 20.0
    # Fine-tuning and batch runs are refused when the disk they write to has less free than this.
    min_free_disk_gib: float = 2.0


@dataclass(frozen=True)
class Config:
    path: Path
    tasks: dict[str, TaskConfig]
    limits: Limits
    runs_dir: Path
    finetune: TaskConfig  # text classifiers' base models
    finetune_images: TaskConfig
    finetune_entities: TaskConfig

    def finetune_bases(self, task: str) -> TaskConfig:
        """The base models offered for fine-tuning one kind ("text", "image", "entities")."""
        return {"text": self.finetune, "image": self.finetune_images, "entities": self.finetune_entities}[task]


def config_path(explicit: str | os.PathLike | None = None) -> Path:
    """The config file: the one named, else $STUDIO_CONFIG, else models.toml beside app.py."""
    chosen = explicit or os.environ.get("STUDIO_CONFIG") or DEFAULT_CONFIG
    return Path(chosen).expanduser().resolve()


def load_config(explicit: str | os.PathLike | None = None) -> Config:
    """Read and check a models.toml; a mistake in it stops the app with a message naming the key."""
    path = config_path(explicit)
    if not path.is_file():
        raise SystemExit(f"Config file not found: {path}")
    with path.open("rb") as f:
        try:
            raw = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise SystemExit(f"{path} is not valid TOML: {e}") from None

    tasks = {name: _task_config(name, raw.get(name), path.parent) for name in TASK_NAMES}
    tasks["zero_shot"] = _task_config("zero_shot", raw.get("zero_shot", ZERO_SHOT_DEFAULT), path.parent)
    app = raw.get("app", {})
    limits = _limits(app, path)
    runs_dir = _local_path(app.get("runs_dir", "runs"), path.parent)
    finetune = _task_config("finetune", raw.get("finetune", FINETUNE_DEFAULT), path.parent)
    images = _task_config("finetune_images", raw.get("finetune_images", FINETUNE_IMAGES_DEFAULT), path.parent)
    entities = _task_config("finetune_entities", raw.get("finetune_entities", FINETUNE_ENTITIES_DEFAULT), path.parent)
    return Config(
        path=path,
        tasks=tasks,
        limits=limits,
        runs_dir=runs_dir,
        finetune=finetune,
        finetune_images=images,
        finetune_entities=entities,
    )


def _limits(app: dict, path: Path) -> Limits:
    """The [app] limits, each a positive number; a wrong value stops the app with a message naming its key."""
    values = {}
    for key, spec in Limits.__dataclass_fields__.items():
        if key not in app:
            continue
        value = app[key]
        kind = float if spec.type in ("float", float) else int
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
            what = "a number" if kind is float else "a whole number"
            raise SystemExit(f"{path}: [app] {key} must be {what}, not {value!r}")
        if value <= 0:
            raise SystemExit(f"{path}: [app] {key} must be above 0, not {value!r}")
        values[key] = kind(value)
    return Limits(**values)


def _task_config(name: str, section: dict | None, base: Path) -> TaskConfig:
    if not section or "default" not in section:
        raise SystemExit(f"models.toml needs a [{name}] section with a `default` model")
    raw_choices = section.get("choices", [])
    if isinstance(raw_choices, dict):
        choices = {str(label): _ref(str(ref), base) for label, ref in raw_choices.items()}
    else:
        choices = {str(ref): _ref(str(ref), base) for ref in raw_choices}
    default = _ref(str(section["default"]), base)
    if default not in choices.values():
        # A local folder is listed by its name: its path would show the server's folders to anyone with the link.
        label = Path(default).name if Path(default).is_absolute() else str(section["default"])
        label = label if label not in choices else str(section["default"])
        choices = {label: default, **choices}
    options = {k: v for k, v in section.items() if k not in {"default", "choices"}}
    if "offline" in options:
        options["offline"] = _offline(name, options["offline"], base)
    return TaskConfig(name=name, default=default, choices=choices, options=options)


def _offline(name: str, value: object, base: Path) -> str | dict[str, str]:
    """`offline = "model"` (stands in for any of the task's models) or `[task.offline]` (model -> stand-in)."""
    if isinstance(value, str):
        return _ref(value, base)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {_ref(str(k), base): _ref(v, base) for k, v in value.items()}
    raise SystemExit(f"models.toml: [{name}] offline must be a model or a table of model = stand-in, not {value!r}")


def _ref(value: str, base: Path) -> str:
    """Relative local paths are relative to the config file; Hub ids and pack names stay as they are."""
    if value.startswith(("./", "../", "~/", "/")):
        return str(_local_path(value, base))
    return value


def _local_path(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()
