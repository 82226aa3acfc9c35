"""Whether the Hugging Face Hub can be reached, asked once a minute instead of on every load."""

from __future__ import annotations

import os
import socket
import threading
import time

_HUB_HOST = "huggingface.co"
_CHECK_EVERY_S = 60.0
_lock = threading.Lock()
_last_check: tuple[float, bool] | None = None


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE is set or huggingface.co does not answer on port 443."""
    global _last_check
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return True
    with _lock:
        now = time.monotonic()
        if _last_check is None or now - _last_check[0] > _CHECK_EVERY_S:
            _last_check = (now, not reachable(_HUB_HOST))
        return _last_check[1]


def reachable(host: str, timeout_s: float = 3.0) -> bool:
    # A failed load otherwise retries for half a minute before it gives up.
    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return True
    except OSError:
        return False
