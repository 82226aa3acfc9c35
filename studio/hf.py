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


def from_pretrained(auto_class: Any, model_ref: str, **kwargs: Any) -> Any:
    """`auto_class.from_pretrained` that never runs remote code and fails fast, clearly, when offline."""
    source = local_or_hub(model_ref)
    is_local = Path(source).exists()
    offline = not is_local and hub_offline()
    try:
        return auto_class.from_pretrained(
            source, local_files_only=is_local or offline, trust_remote_code=False, **kwargs
        )
    except OSError as e:
        log.warning("could not load %s: %s", model_ref, e)
        if is_local:
            raise UserError(
                f"The folder for '{model_ref}' does not hold a complete transformers model; "
                "check that it has config.json and the weights."
            ) from None
        if offline:
            raise ModelUnavailableError(
                f"'{model_ref}' is not cached here and the Hugging Face Hub cannot be reached; "
                "connect once to download it, or set the model to a local folder in models.toml."
            ) from None
        raise ModelUnavailableError(
            f"'{model_ref}' could not be downloaded from the Hugging Face Hub; "
            "check the name and your connection, or set the model to a local folder in models.toml."
        ) from None
