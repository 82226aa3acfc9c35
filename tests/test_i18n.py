"""The translation table (studio/words.py): every text users read is in it, in English and Simplified Chinese.

Three checks: the table itself (each key has its Chinese, with the same fields); the page (walk every component of
the built app: each label, info line, placeholder, button, tab, accordion, choice and Markdown is a key of the
table, not loose English); and the code (every message template raised or said is a key, written as a literal
so that it can be looked up).
"""

from __future__ import annotations

import ast
import re
import string
from typing import Any

import pytest

from studio.i18n import CHINESE_LOCALES, language_of, translate, word
from studio.words import CHINESE
from tests.conftest import ROOT

HAN = re.compile(r"[\u4e00-\u9fff]")
LETTERS = re.compile(r"[A-Za-z]{2,}")
# Calls whose first argument is a text of the table.
MESSAGE_CALLS = {
    "ui",
    "say",
    "word",
    "warn",
    "inform",
    "UserError",
    "DataError",
    "ModelUnavailableError",
    "user_errors",
    "guard_upload",
}
SOURCES = [ROOT / "app.py", *(p for d in ("studio", "tasks", "batch", "finetune") for p in (ROOT / d).rglob("*.py"))]


def fields(template: str) -> set[str]:
    return {name for _, name, spec, _ in string.Formatter().parse(template) if name is not None}


def test_every_key_has_its_chinese_with_the_same_fields() -> None:
    problems = []
    for english, chinese in CHINESE.items():
        if not chinese.strip():
            problems.append(f"{english!r}: no Chinese")
        elif LETTERS.search(english) and not HAN.search(chinese) and chinese == english:
            problems.append(f"{english!r}: the Chinese is the English")
        if fields(english) != fields(chinese):
            problems.append(f"{english!r}: fields {sorted(fields(english))} but {sorted(fields(chinese))} in Chinese")
    assert not problems, "\n".join(problems)


def test_no_key_is_written_twice() -> None:
    """A dict literal keeps the last of two equal keys silently: the table must say each text once."""
    table = ast.parse((ROOT / "studio" / "words.py").read_text(encoding="utf-8"))
    keys = [ast.literal_eval(key) for node in ast.walk(table) if isinstance(node, ast.Dict) for key in node.keys if key]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    assert not twice, twice


def test_the_browser_language_picks() -> None:
    assert language_of("zh-CN,zh;q=0.9,en;q=0.8") == "zh-CN"
    assert language_of("zh-Hans") == "zh-CN"
    assert language_of("zh") == "zh-CN"
    assert language_of("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert language_of("zh-TW,zh;q=0.9") == "en"  # Traditional script: the table has none
    assert language_of("") == "en"  # gradio_client and MCP send none
    assert "zh-CN" in CHINESE_LOCALES


def test_a_message_moves_its_fields_into_chinese() -> None:
    english = "The {what} is empty; type or paste some text first."
    assert translate(english, "en", what=word("text")) == "The text is empty; type or paste some text first."
    chinese = translate(english, "zh-CN", what=word("text"))
    assert chinese.startswith(CHINESE["text"]) and HAN.search(chinese)


def _visible_texts(component: Any) -> list[tuple[str, Any]]:
    """(what, text) for each text of `component` a user reads in the page before anything runs."""
    texts = [(prop, getattr(component, prop, None)) for prop in ("label", "info", "placeholder")]
    kind = type(component).__name__
    if kind in {"Markdown", "Button", "DownloadButton", "UploadButton", "ClearButton"}:
        texts.append(("value", component.value))
    if kind in {"Dropdown", "Radio", "CheckboxGroup"}:
        texts += [("choice", shown) for shown, _ in component.choices or []]
    if kind == "Dataframe" and component.visible:
        headers = (component.value or {}).get("headers", []) if isinstance(component.value, dict) else []
        texts += [("header", header) for header in headers]
    if kind == "Dataset":
        texts += [("example caption", caption) for caption in getattr(component, "sample_labels", None) or []]
    return [(what, text) for what, text in texts if text is not None and text != ""]


def _is_translated(text: Any) -> bool:
    from gradio.i18n import I18nData

    if isinstance(text, I18nData):
        return text.key in CHINESE
    text = str(text)
    if text.startswith("__i18n__"):
        return re.search(r'"key": "(.*)"}$', text) is not None
    return not LETTERS.search(text)  # numbers, symbols, a single letter


@pytest.fixture(scope="module")
def default_app() -> Any:
    """The app as the shipped models.toml builds it (nothing loads until a request)."""
    import app
    from studio.config import load_config

    demo, _ = app.build_app(load_config(ROOT / "models.toml"))
    return demo


def test_every_text_in_the_page_is_in_the_table(default_app: Any) -> None:
    loose = []
    for component in default_app.blocks.values():
        for what, text in _visible_texts(component):
            if not _is_translated(text):
                loose.append(f"{type(component).__name__} {what}: {text!r}")
    assert not loose, "Texts of the page missing from studio/words.py:\n" + "\n".join(sorted(set(loose)))


def _message_literals() -> tuple[list[str], list[str]]:
    """(templates passed as literals, places where a message is built in a way the table cannot look up)."""
    found, loose = [], []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0]
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if name in MESSAGE_CALLS:
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.append(first.value)
                elif isinstance(first, ast.JoinedStr):
                    loose.append(f"{where}: an f-string given to {name}(); pass a template and its fields")
            elif (
                name in {"Warning", "Info", "Error"}
                and isinstance(node.func, ast.Attribute)
                and isinstance(first, (ast.Constant, ast.JoinedStr))
            ):
                loose.append(f"{where}: gr.{name}() with literal text; use warn() / inform() / say()")
    return found, loose


def test_every_message_in_the_code_is_in_the_table() -> None:
    found, loose = _message_literals()
    missing = sorted({template for template in found if template not in CHINESE})
    assert not loose, "\n".join(loose)
    assert not missing, "Messages missing from studio/words.py:\n" + "\n".join(missing)


def test_before_any_run_no_output_shows_empty(default_app: Any) -> None:
    """The first look shows what matters: a results table, a file to download, a plot or a gallery appears with its
    results, not as an empty box ("1 2 3" headers, "drop a file here") before anything has run."""
    inputs = {component._id for fn in default_app.fns.values() for component in fn.inputs}
    outputs = {component._id for fn in default_app.fns.values() for component in fn.outputs}
    empty_boxes = {"Dataframe", "File", "Files", "Image", "Gallery", "Plot", "DownloadButton"}
    shown = [
        f"{type(component).__name__} {component.label!r}"
        for component in default_app.blocks.values()
        if type(component).__name__ in empty_boxes
        and component._id in outputs
        and component._id not in inputs
        and component.visible
    ]
    assert not shown, "Outputs shown empty before any run:\n" + "\n".join(shown)
