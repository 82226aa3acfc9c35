"""Which language a text is in (lingua, among the languages the app handles), so it reaches a model that reads it."""

from __future__ import annotations

import re
import threading
from typing import Any

from studio.errors import encodable

ENGLISH = "en"
CHINESE = "zh"
# The languages the app's models handle (the translation tab's pairs), and the two whose writing shares Chinese
# characters; fewer candidates make lingua faster and surer.
HANDLED = ("ENGLISH", "CHINESE", "GERMAN", "FRENCH", "SPANISH", "PORTUGUESE", "JAPANESE", "KOREAN")
# Chinese characters (CJK Unified Ideographs, Extension A, Compatibility Ideographs), as a regex class's contents.
CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_IDEOGRAPH = re.compile(f"[{CJK_CHARS}]")
# The beginning says the language; reading all of a 100,000-character text would cost seconds.
SAMPLE_CHARS = 2000

_detector: Any = None
_lock = threading.Lock()


def language_of(text: str) -> str | None:
    """The ISO 639-1 code of the text's main language ("zh", "en"…), or None when it cannot tell (no letters)."""
    if not text or not text.strip():
        return None
    found = _language_detector().detect_language_of(encodable(text[:SAMPLE_CHARS]))
    return found.iso_code_639_1.name.lower() if found is not None else None


def is_chinese(text: str) -> bool:
    """True when the text is mainly Chinese; a text without one Chinese character never waits for the detector."""
    if not CJK_IDEOGRAPH.search(text[:SAMPLE_CHARS]):
        return False
    return language_of(text) == CHINESE


def _language_detector() -> Any:
    """Built on first use (it loads each language's model, so not at import) and once, however many threads ask."""
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                from lingua import Language, LanguageDetectorBuilder

                languages = [getattr(Language, name) for name in HANDLED]
                _detector = LanguageDetectorBuilder.from_languages(*languages).build()
    return _detector
