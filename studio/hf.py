"""Loading transformers models from a Hub id, a local folder or an offline-pack name, one way for every task."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from studio import pack
from studio.errors import ModelUnavailableError, UserError
from studio.hub import hub_offline

log = logging.getLogger(__name__)


def local_or_hub(model_ref: str) -> str:
    """A path string for local folders and pack names, the Hub id otherwise."""
    if pack.is_pack_ref(model_ref):
        return str(pack.resolve(pack.pack_name(model_ref)))
    return model_ref


# Weights that Python's pickle would have to open: loading one can run any code it carries.
PICKLE_WEIGHTS = ("pytorch_model.bin", "model.ckpt", "model.pt", "model.pth")


def from_pretrained(auto_class: Any, model_ref: str, **kwargs: Any) -> Any:
    """`auto_class.from_pretrained` that never runs remote code and fails fast, clearly, when offline.

    A local folder (a configured path, a fine-tuned run, the offline pack) must hold safetensors weights:
    only a Hub model may fall back to `pytorch_model.bin`, which transformers then opens with
    `torch.load(weights_only=True)` (no code runs). Forcing safetensors on Hub ids too would make any
    default that ships only a `.bin` depend on the Hub bot's converted copy (a refs/pr branch, fetched
    online), so it would fail offline even when the model is cached.
    """
    source = local_or_hub(model_ref)
    is_local = Path(source).exists()
    offline = not is_local and hub_offline()
    loads_weights = hasattr(auto_class, "_model_mapping")  # AutoModel*, not AutoTokenizer or AutoConfig
    if is_local and loads_weights:
        check_safetensors(Path(source), model_ref)
        kwargs = {"use_safetensors": True, **kwargs}
    try:
        return auto_class.from_pretrained(
            source, local_files_only=is_local or offline, trust_remote_code=False, **kwargs
        )
    except OSError as e:
        if is_local:
            log.warning("could not load %s: %s", model_ref, e)
            raise UserError(
                "The folder for '{model}' does not hold a complete transformers model; "
                "check that it has config.json and the weights.",
                model=model_ref,
            ) from None
        if offline:
            # Why is in the log already, once (hub_offline); transformers' "couldn't connect" text would only repeat it.
            raise ModelUnavailableError(
                "'{model}' is not cached here and the Hugging Face Hub cannot be reached; "
                "connect once to download it, or set the model to a local folder in models.toml.",
                model=model_ref,
            ) from None
        log.warning("could not download %s: %s", model_ref, first_line(e))
        raise ModelUnavailableError(
            "'{model}' could not be downloaded from the Hugging Face Hub; "
            "check the name and your connection, or set the model to a local folder in models.toml.",
            model=model_ref,
        ) from None
    except Exception as e:
        if "trust_remote_code" in str(e):
            raise UserError(
                "The model '{model}' needs its own Python code to load, which Model Studio never runs; "
                "choose a model that transformers supports as it is.",
                model=model_ref,
            ) from None
        if not is_local:
            raise
        # A broken config.json or damaged weights.
        log.warning("could not load %s", model_ref, exc_info=True)
        raise UserError(
            "The model in '{model}' could not be loaded ({error}); check that the folder holds "
            "a transformers model saved with save_pretrained, or choose another model.",
            model=model_ref,
            error=type(e).__name__,
        ) from None


def token_limit(tokenizer: Any, config: Any) -> int:
    """The most tokens the model reads at once: its positions (RoBERTa-style models reserve two) and the
    tokenizer's own limit; longer input would crash the forward pass."""
    positions = getattr(config, "max_position_embeddings", None)
    limits = [positions]
    if positions and getattr(config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
        limits.append(positions - 2)  # two positions are reserved for the padding offset
    if 0 < tokenizer.model_max_length < 1_000_000:  # some tokenizers say 1e30 for "no limit"
        limits.append(tokenizer.model_max_length)
    found = [limit for limit in limits if limit and limit > 0]
    return int(min(found)) if found else 512


def at_hand(model_ref: str) -> bool:
    """True when the model can be loaded now: a pack model that is installed, a local folder, or a Hub model while
    the Hub answers or that is cached (a bare timm name lives in the Hub's timm/ organisation)."""
    if pack.is_pack_ref(model_ref):
        return pack.is_installed(pack.pack_name(model_ref))
    if Path(model_ref).exists() or not hub_offline():
        return True
    from huggingface_hub import try_to_load_from_cache

    repo_id = model_ref if "/" in model_ref else f"timm/{model_ref}"
    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def first_line(error: Exception) -> str:
    """The first line of an error's message (transformers' run to a paragraph), or its kind when it has none."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def check_safetensors(folder: Path, model_ref: str) -> None:
    """Refuse a local model folder whose weights are only in pickle files, before anything opens them."""
    if not folder.is_dir() or any(folder.glob("*.safetensors")):
        return
    pickles = [name for name in PICKLE_WEIGHTS if (folder / name).is_file()] or [
        p.name for p in sorted(folder.glob("*.bin"))
    ]
    if pickles:
        raise UserError(
            "The folder for '{model}' holds its weights only as {file}, a pickle file that can run code "
            "when opened, so it is not loaded; save the model as safetensors "
            "(model.save_pretrained(folder, safe_serialization=True)) and try again.",
            model=model_ref,
            file=pickles[0],
        )
