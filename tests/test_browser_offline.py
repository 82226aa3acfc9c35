"""A newcomer's first minutes, offline: in every tab, the first example and the run button give a real answer.

The app is the shipped models.toml on a machine that reaches no hub, so each tab runs on its offline-pack model.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ROOT, free_port
from tests.test_browser import (  # noqa: F401
    TABS,
    TRAINING_TIMEOUT_MS,
    block,
    browser,
    open_app,
    open_tab,
    output_text,
    toast,
    upload,
)


@pytest.fixture(scope="module")
def offline_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make run`'s app (the shipped models.toml), its runs kept in a temporary folder, with no hub reachable."""
    import app
    from studio.config import load_config

    folder = tmp_path_factory.mktemp("offline-browser")
    shipped = (ROOT / "models.toml").read_text(encoding="utf-8")
    config_path = folder / "models.toml"
    config_path.write_text(re.sub(r'(?m)^runs_dir = "runs"', f'runs_dir = "{folder / "runs"}"', shipped))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("WHISPER_CACHE", str(folder / "whisper-cache"))
        config = load_config(config_path)
        demo, _ = app.build_app(config)
        args = app.parse_args(["--host", "127.0.0.1", "--port", str(free_port())])
        args.auth = None
        demo.launch(**app.launch_options(args, config), prevent_thread_lock=True, quiet=True)
        yield demo.local_url
        demo.close()


@pytest.fixture
def page(browser: Browser, offline_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:  # noqa: F811
    with open_app(browser, offline_url, request) as page:
        yield page


def text_classification(panel, page) -> None:
    expect(panel.get_by_role("meter", name="positive")).to_be_visible()
    expect(panel.get_by_test_id("label-output-value")).to_have_text("positive")


def named_entities(panel, page) -> None:
    shown = panel.get_by_test_id("highlighted-text")
    expect(shown.locator(".token.highlighted").first).to_be_visible()
    assert "PERSON" in shown.get_by_test_id("highlighted-text:category-legend").inner_text()


def translation(panel, page) -> None:
    expect(output_text(panel, "Translation")).to_have_value(re.compile(r"\b(hoje|tempo|parque)\b"))


def speech_recognition(panel, page) -> None:
    expect(output_text(panel, "Transcript")).to_have_value(re.compile(r"ask not what your country can do for you"))


def image_classification(panel, page) -> None:
    expect(panel.get_by_role("meter")).to_have_count(5)
    expect(panel.get_by_test_id("label-output-value")).not_to_be_empty()


def finetune(panel, page) -> None:
    # A finished text run shows a second status line, the faster copy's note, under the first.
    expect(panel.locator(".block.status-line").first).to_contain_text(
        "is ready in the Text classification tab", timeout=TRAINING_TIMEOUT_MS
    )
    expect(panel.get_by_text(re.compile(r"^Accuracy \d+(\.\d)?%")).first).to_be_visible()


@pytest.mark.parametrize(
    "tab, button, sees",
    [
        ("Text classification", "Classify", text_classification),
        ("Named entities", "Find entities", named_entities),
        ("Translation", "Translate", translation),
        ("Speech recognition", "Transcribe", speech_recognition),
        ("Image classification", "Classify image", image_classification),
        ("Fine-tune", "Train", finetune),
    ],
    ids=lambda value: value.__name__ if callable(value) else None,
)
def test_the_first_example_gives_a_real_answer_offline(page: Page, tab: str, button: str, sees) -> None:
    panel = open_tab(page, tab)
    panel.locator("button.gallery-item").first.click()
    # An example fills its input a moment later (a file is fetched first), as a user sees before pressing the button.
    if tab == "Speech recognition":
        expect(panel.get_by_test_id("waveform-Audio").first).to_be_visible()
    elif tab == "Image classification":
        expect(block(panel, "Image").locator("img").first).to_be_visible()
    elif tab == "Fine-tune":
        expect(panel.get_by_text(re.compile(r"usable rows, \d+ labels"))).to_be_visible()
    else:
        expect(panel.get_by_label("Text", exact=True)).not_to_have_value("")
    panel.get_by_role("button", name=button, exact=True).click()
    sees(panel, page)
    errors = [text for text in toast(page).all_inner_texts() if "error" in text.lower()]
    assert not errors, errors


def test_every_tab_fits_a_laptop_screen_before_anything_runs(page: Page) -> None:
    """At 1280x800 each tab's input, run button and result area are on screen without scrolling."""
    results = {
        "Text classification": "Labels",
        "Named entities": "Entities",
        "Translation": "Translation",
        "Speech recognition": "Transcript",
        "Image classification": "Top 5 classes",
        "Fine-tune": "Loss",
    }
    inputs = {
        "Text classification": "Text",
        "Named entities": "Text",
        "Translation": "Text",
        "Speech recognition": "Audio",
        "Image classification": "Image",
        "Fine-tune": "Labelled data",
    }
    buttons = {
        "Text classification": "Classify",
        "Named entities": "Find entities",
        "Translation": "Translate",
        "Speech recognition": "Transcribe",
        "Image classification": "Classify image",
        "Fine-tune": "Train",
    }
    height = page.viewport_size["height"]
    for tab, result in results.items():
        panel = open_tab(page, tab)
        for what, locator in (
            ("input", block(panel, inputs[tab]).first),
            ("run button", panel.get_by_role("button", name=buttons[tab], exact=True)),
            ("result", block(panel, result).first),
        ):
            box = locator.bounding_box()
            assert box is not None, f"{tab}: no {what}"
            assert box["y"] + min(box["height"], 40) <= height, f"{tab}: the {what} starts below the screen ({box})"


def test_the_translation_examples_clicked_again_and_again_never_take_the_server_down(page: Page, offline_url: str):
    """A user who clicks the first example and Translate again and again always gets its Portuguese, and the app
    still serves afterwards (it once died of a segmentation fault on the third click)."""
    panel = open_tab(page, "Translation")
    text, translated = panel.get_by_label("Text", exact=True), output_text(panel, "Translation")
    first, second = panel.locator("button.gallery-item").nth(0), panel.locator("button.gallery-item").nth(1)
    for _ in range(6):
        first.click()
        expect(text).to_have_value(re.compile(r"^The weather is lovely today"))
        panel.get_by_role("button", name="Translate", exact=True).click()
        expect(translated).to_have_value(re.compile(r"\b(hoje|tempo)\b.*\bparque\b"))
        # The second example's answer in between, so that each answer above is a new one, not the one before.
        second.click()
        expect(text).to_have_value(re.compile(r"^Machine translation"))
        panel.get_by_role("button", name="Translate", exact=True).click()
        expect(translated).to_have_value(re.compile(r"\btradução\b"))
    errors = [message for message in toast(page).all_inner_texts() if "error" in message.lower()]
    assert not errors, errors
    with urllib.request.urlopen(offline_url, timeout=30) as response:
        assert response.status == 200


# ------------------------------------------------------------------------------------- the page in Chinese

HAN = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
# What a user reads as words in a tab: its name, labels, info lines, buttons (not the examples, which are data),
# accordions and Markdown.
UI_TEXT = (
    "[role=tab], [data-testid=block-label], [data-testid=block-info], button:not(.gallery-item):visible, "
    ".label-wrap span, .prose:visible"
)
README_SCREENSHOTS = "STUDIO_README_SCREENSHOTS"
# Names a Chinese page shows as they are.
NAMES: set[str] = set()


def words_in(panel) -> list[str]:
    texts = [text.strip() for text in panel.locator(UI_TEXT).all_inner_texts()]
    return [text for text in texts if ENGLISH_WORD.search(text) or HAN.search(text)]


def readme_screenshot(page: Page, name: str) -> None:
    """The README's screenshots, taken here so that they show the app as it is: written to docs/ when
    $STUDIO_README_SCREENSHOTS is set (else with the test's other artifacts)."""
    import os

    folder = ROOT / "docs" if os.environ.get(README_SCREENSHOTS) else ROOT / "test-artifacts" / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / name)


@pytest.fixture
def chinese_page(browser: Browser, offline_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:  # noqa: F811
    with open_app(browser, offline_url, request, locale="zh-CN") as page:
        yield page


def test_a_chinese_browser_gets_every_tab_in_chinese(chinese_page: Page) -> None:
    from studio.i18n import translate

    page = chinese_page
    english_left = []
    for tab in TABS:
        panel = open_tab(page, translate(tab, "zh-CN"))
        for text in words_in(panel):
            if not HAN.search(text) and text not in NAMES:
                english_left.append(f"{tab}: {text!r}")
    assert not english_left, "English left in the Chinese page:\n" + "\n".join(english_left)


def test_an_error_comes_back_in_chinese_and_a_chinese_review_is_read(chinese_page: Page) -> None:
    from studio.i18n import translate, word

    page = chinese_page
    panel = open_tab(page, translate("Text classification", "zh-CN"))
    classify = panel.get_by_role("button", name=translate("Classify", "zh-CN"), exact=True)
    classify.click()
    empty = translate("The {what} is empty; type or paste some text first.", "zh-CN", what=word("text"))
    expect(toast(page).first).to_contain_text(empty)
    panel.get_by_label(translate("Text", "zh-CN"), exact=True).fill("这部电影太精彩了，演员的表演非常出色。")
    classify.click()
    expect(panel.get_by_test_id("label-output-value")).to_have_text("positive")
    readme_screenshot(page, "screenshot-zh.png")


def test_an_english_browser_gets_no_chinese(page: Page) -> None:
    chinese = []
    for tab in TABS:
        panel = open_tab(page, tab)
        chinese += [f"{tab}: {text!r}" for text in words_in(panel) if HAN.search(text)]
    assert not chinese, "Chinese in the English page:\n" + "\n".join(chinese)
    panel = open_tab(page, "Image classification")
    upload(panel, ROOT / "assets" / "traffic_light.png")
    expect(block(panel, "Image").locator("img").first).to_be_visible()
    panel.get_by_role("button", name="Classify image", exact=True).click()
    expect(panel.get_by_test_id("label-output-value")).to_contain_text("traffic light")
    readme_screenshot(page, "screenshot.png")
