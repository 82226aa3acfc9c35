"""Whether the Hugging Face Hub can be reached, and which models could not be had, each remembered for a while.

Offline, every request for a model that is not cached would otherwise pay for its own network attempt (huggingface_hub
retries one for over 20 seconds) and log its own warning; remembering the answer lets later requests fall back at once.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

UNREACHABLE_FOR_S = 300.0  # how long "cannot be reached" and "cannot be had" stand before the next attempt
FOR_A_WHILE = f"{UNREACHABLE_FOR_S / 60:g} minutes"
_ANSWERED_FOR_S = 60.0  # how long a Hub that answered is taken to still answer
_CHECK_TIMEOUT_S = 3.0
_TRUE = {"1", "true", "yes", "on"}


class Remembered:
    """Things that could not be had, each with why (a message, or the error that says it), kept for `seconds` and
    then forgotten so the next use tries again.

    Thread-safe: requests run concurrently.
    """

    def __init__(self, seconds: float = UNREACHABLE_FOR_S):
        self.seconds = seconds
        self._until: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def add(self, key: str, why: Any) -> bool:
        """Remember `key` and why, unless it is remembered already; True when it was not (news worth a log line)."""
        with self._lock:
            now = time.monotonic()
            if self._why(key, now) is not None:
                return False
            self._until[key] = (now + self.seconds, why)
            return True

    def why(self, key: str) -> Any:
        """Why `key` could not be had, if that was lately; None otherwise."""
        with self._lock:
            return self._why(key, time.monotonic())

    def _why(self, key: str, now: float) -> Any:
        until, why = self._until.get(key, (0.0, None))
        if now < until:
            return why
        self._until.pop(key, None)
        return None


_check_lock = threading.Lock()
_answered_until: dict[str, float] = {}
_unreachable = Remembered()


def hub_offline() -> bool:
    """True when offline mode is on (HF_HUB_OFFLINE) or the Hub of HF_ENDPOINT (huggingface.co unless set) did not
    answer lately; the first time it does not, the log says so once."""
    if offline_mode():
        return True
    endpoint = hub_endpoint()
    # One request checks while the others wait for its answer, so a burst of requests costs one attempt.
    with _check_lock:
        if _unreachable.why(endpoint) is not None:
            return True
        if time.monotonic() < _answered_until.get(endpoint, 0.0):
            return False
        problem = endpoint_problem(endpoint)
        if problem is None:
            _answered_until[endpoint] = time.monotonic() + _ANSWERED_FOR_S
            return False
        _unreachable.add(endpoint, problem)
    log.warning("The Hub cannot be reached (%s); using offline stand-ins for %s", problem, FOR_A_WHILE)
    return True


def offline_mode() -> bool:
    """True when HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) asks for no network at all."""
    from huggingface_hub import constants

    # The environment is read again because huggingface_hub reads it only when first imported.
    return constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hub_endpoint() -> str:
    """The Hub that downloads come from: HF_ENDPOINT's (a mirror) when set, else https://huggingface.co."""
    from huggingface_hub import constants

    return constants.ENDPOINT


def endpoint_problem(endpoint: str, timeout_s: float = _CHECK_TIMEOUT_S) -> str | None:
    """Why the Hub at `endpoint` cannot be reached, in a few words; None when it answers."""
    host = urlsplit(endpoint).netloc or endpoint
    # An HTTP request, not a bare connection, so that a proxy (HTTPS_PROXY) is used as downloads use it, and a host
    # that accepts connections but does not serve is found out too.
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/", method="HEAD"), timeout=timeout_s):
            return None
    except urllib.error.HTTPError as e:
        e.close()
        # A mirror's front page may well be a 404; only a server error means downloads would fail.
        return f"{host} answered HTTP {e.code}" if e.code >= 500 else None
    except OSError as e:
        reason = e.reason if isinstance(e, urllib.error.URLError) else e
        if isinstance(reason, ssl.SSLCertVerificationError):
            return None  # something answers there; huggingface_hub checks certificates its own way
        return f"{host}: {getattr(reason, 'strerror', None) or str(reason) or type(reason).__name__}"


def reachable(host: str, timeout_s: float = _CHECK_TIMEOUT_S) -> bool:
    """True when `host` accepts a connection on port 443 (for download servers that are not the Hub)."""
    # A failed load otherwise retries for half a minute before it gives up.
    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return True
    except OSError:
        return False
