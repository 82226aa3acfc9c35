"""Where a timm model's files are: the one place that turns a model reference into a timm "local-dir:" folder."""

from __future__ import annotations

from pathlib import Path

from studio import pack
from studio.errors import ModelUnavailableError, UserError
from studio.hub import hub_offline


def timm_folder(model_ref: str) -> Path:
    """The folder holding the model's config.json and safetensors weights, downloading it if needed.

    model_ref is a pack name (pack:efficientnet-lite0), a local folder, or a Hub name; a bare name such as
    vit_small_patch16_224.augreg_in21k_ft_in1k is looked up in the timm/ organisation, as timm itself does.
    """
    if pack.is_pack_ref(model_ref):
        return pack.resolve(pack.pack_name(model_ref))
    if Path(model_ref).is_dir():
        if not (Path(model_ref) / "model.safetensors").is_file():
            raise UserError(
                "The folder for '{model}' has no model.safetensors; local image models are loaded only from "
                "safetensors (pickle files can run code when opened), so save it with timm's save_for_hf first.",
                model=model_ref,
            )
        return Path(model_ref)
    from huggingface_hub import snapshot_download

    repo = model_ref if "/" in model_ref else f"timm/{model_ref}"
    offline = hub_offline()
    try:
        return Path(
            snapshot_download(repo, allow_patterns=["config.json", "model.safetensors"], local_files_only=offline)
        )
    except Exception as e:  # huggingface_hub raises a dozen kinds for "not there"
        if offline:
            raise ModelUnavailableError(
                "'{model}' is not cached here and the Hugging Face Hub cannot be reached; "
                "connect once to download it, or choose the offline-pack model.",
                model=model_ref,
            ) from None
        raise ModelUnavailableError(
            "'{model}' could not be downloaded from the Hugging Face Hub ({error}); check the name.",
            model=model_ref,
            error=type(e).__name__,
        ) from None
