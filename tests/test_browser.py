"""The app in a real browser: headless Chromium, driven by Playwright, doing what a user does in each tab.

Screenshots of every test's last state land in test-artifacts/browser/ (gitignored).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.conftest import ROOT, free_port

ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A CPU machine loads a model in seconds and trains in minutes: wait for what the user would wait for.
TIMEOUT_MS = 90_000
TRAINING_TIMEOUT_MS = 600_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TABS = [
    "Text classification",
    "Named entities",
    "Translation",
    "Speech recognition",
    "Image classification",
    "Fine-tune",
]

expect.set_options(timeout=TIMEOUT_MS)


def chromium_path() -> str:
    """Debian's chromium (make test installs it); Playwright's own browser download is not used."""
    path = os.environ.get("STUDIO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(f"Chromium not found at {path}: install Debian's chromium (make test does) or set STUDIO_CHROMIUM")
    return path


@pytest.fixture(scope="module")
def app_url(config_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app as `python app.py` serves it (its theme and CSS included), on the tiny test models."""
    import app
    from studio.config import load_config

    config = load_config(browser_config(config_file, tmp_path_factory.mktemp("browser")))
    demo, _ = app.build_app(config)
    args = app.parse_args(["--host", "127.0.0.1", "--port", str(free_port())])
    args.auth = None  # a STUDIO_AUTH in the developer's environment must not put a login page in front
    demo.launch(**app.launch_options(args, config), prevent_thread_lock=True, quiet=True)
    yield demo.local_url
    demo.close()


def browser_config(config_file: Path, folder: Path) -> Path:
    """The shared test config (which trains from the tiny classifier), copied so that runs go to `folder`."""
    path = folder / "models.toml"
    path.write_text(config_file.read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def open_app(browser: Browser, url: str, request: pytest.FixtureRequest, **context_options) -> Iterator[Page]:
    """A fresh browser tab on the app, in US English unless a `locale` is given; its last state, passed or failed, is
    saved as a screenshot."""
    from studio.i18n import language_of, translate

    options = {"viewport": DESKTOP, "locale": "en-US", **context_options}
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(url)
        title = translate("Model Studio", language_of(options["locale"]))
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
        context.close()


@pytest.fixture
def page(browser: Browser, app_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    with open_app(browser, app_url, request) as page:
        yield page


def open_tab(page: Page, name: str) -> Locator:
    """Select a tab as a user would (behind "More tabs" on a narrow screen); returns its panel."""
    tab = page.get_by_role("tab", name=name, exact=True)
    more = page.get_by_role("button", name="More tabs").first  # the Fine-tune tab's own sub-tabs come later
    expect(tab.or_(more).first).to_be_visible()
    if tab.is_visible():
        tab.click()
    else:
        more.click()
        page.locator(".overflow-menu").get_by_role("button", name=name, exact=True).click()
    expect(page.get_by_role("tab", name=name, exact=True)).to_have_attribute("aria-selected", "true")
    return page.get_by_role("tabpanel")


def upload(panel: Locator, path: Path) -> None:
    panel.locator("input[type=file]").first.set_input_files(str(path))


def type_number(box: Locator, value: str) -> None:
    """Type a number into a box and leave it, as a user does, and see it kept. A box in an accordion that has just
    opened can lose what was typed while the page is still drawing it on a loaded machine (CI saw the Epochs slider
    keep its 3): like a user, type it again."""
    for attempt in range(3):
        box.fill(value)
        box.press("Tab")
        try:
            expect(box).to_have_value(value, timeout=5_000)
            return
        except AssertionError:
            if attempt == 2:
                raise


def toast(page: Page) -> Locator:
    return page.get_by_test_id("toast-body")


def block(panel: Locator, label: str) -> Locator:
    """The component whose label reads `label`."""
    labels = panel.page.get_by_test_id(re.compile(r"^block-(label|info)$"))  # `has=` looks inside each block
    return panel.locator(".block").filter(has=labels.filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))


def output_text(panel: Locator, label: str) -> Locator:
    # A textbox with a copy button is not labelled for assistive technology (Gradio 6), so not by get_by_label.
    return block(panel, label).locator("textarea")


# ---------------------------------------------------------------------------------------------- the page


def test_header_says_what_the_app_is_and_lists_every_tab(page: Page):
    expect(page).to_have_title("Model Studio")
    expect(page.get_by_role("heading", level=1)).to_have_text("Model Studio")
    expect(page.locator("#studio-header")).to_contain_text("pretrained models on your own text, audio and images")
    expect(page.get_by_role("tab")).to_have_text(TABS)


@pytest.mark.parametrize(
    "tab, button",
    [
        ("Text classification", "Classify"),
        ("Named entities", "Find entities"),
        ("Translation", "Translate"),
        ("Speech recognition", "Transcribe"),
        ("Image classification", "Classify image"),
        ("Fine-tune", "Train"),
    ],
)
def test_every_tab_has_a_description_examples_a_model_picker_and_a_status_line(page: Page, tab: str, button: str):
    panel = open_tab(page, tab)
    expect(panel.get_by_test_id("markdown").first).to_have_text(re.compile(r"^\s*\S[^\n]{20,200}\s*$"))
    expect(panel.get_by_role("button", name=button, exact=True)).to_be_visible()
    expect(panel.get_by_role("combobox", name=re.compile(r"^(Model|Base model)$"))).to_be_visible()
    expect(panel.locator(".block.status-line")).to_have_text(re.compile(r"\S"))
    expect(panel.locator("button.gallery-item").first).to_be_visible()  # an example to click


# ---------------------------------------------------------------------------------------------- the tasks


def test_text_classification_shows_a_bar_for_every_label(page: Page):
    panel = open_tab(page, "Text classification")
    panel.get_by_label("Text", exact=True).fill("What a wonderful film, I loved every minute.")
    panel.get_by_role("button", name="Classify", exact=True).click()
    expect(panel.get_by_role("meter", name="POSITIVE")).to_be_visible()
    expect(panel.get_by_role("meter", name="NEGATIVE")).to_be_visible()
    expect(panel.get_by_test_id("label-output-value")).to_have_text(re.compile(r"^(POSITIVE|NEGATIVE)$"))
    expect(panel.locator(".block.status-line")).to_contain_text("Loaded")


def test_text_classification_example_fills_the_box(page: Page):
    panel = open_tab(page, "Text classification")
    panel.get_by_text("This movie was a delight", exact=False).click()
    expect(panel.get_by_label("Text", exact=True)).to_have_value(re.compile("^This movie was a delight"))
    panel.get_by_role("button", name="Classify", exact=True).click()
    expect(panel.get_by_role("meter")).to_have_count(2)


def test_named_entities_are_highlighted_as_the_api_finds_them(page: Page, app_url: str):
    from gradio_client import Client

    text = "Angela Merkel met Emmanuel Macron in Berlin to talk about Google."
    _, entities = Client(app_url, verbose=False).predict(text, api_name="/recognize_entities")
    assert entities, "the tiny model finds some entities in this sentence"
    panel = open_tab(page, "Named entities")
    panel.get_by_label("Text", exact=True).fill(text)
    panel.get_by_role("button", name="Find entities").click()
    shown = panel.get_by_test_id("highlighted-text")
    expect(shown.locator(".token.highlighted")).to_have_text([e["word"] for e in entities])
    expect(shown.get_by_test_id("highlighted-text:category-legend").get_by_role("button")).to_have_text(
        list(dict.fromkeys(e["entity_group"] for e in entities))
    )
    assert "".join(shown.locator(".token .text").all_text_contents()) == text


def test_translation_shows_the_translated_text(page: Page, app_url: str):
    from gradio_client import Client

    text = "The weather is lovely today."
    expected = Client(app_url, verbose=False).predict(text, api_name="/translate")
    panel = open_tab(page, "Translation")
    panel.get_by_label("Text", exact=True).fill(text)
    panel.get_by_role("button", name="Translate", exact=True).click()
    expect(output_text(panel, "Translation")).to_have_value(expected)
    assert expected.strip() and expected != text


def test_speech_recognition_shows_the_transcript_and_language(page: Page, assets: Path):
    panel = open_tab(page, "Speech recognition")
    upload(panel, assets / "speech_jfk.wav")
    expect(panel.get_by_test_id("waveform-Audio").first).to_be_visible()  # the upload has arrived
    panel.get_by_role("button", name="Transcribe", exact=True).click()
    # The tiny test Whisper is wired to say exactly this.
    expect(output_text(panel, "Transcript")).to_have_value("Hello world")
    expect(output_text(panel, "Language")).to_have_value(re.compile(r"%"))


def test_speech_recognition_offers_the_subtitles_as_a_download(page: Page, assets: Path):
    panel = open_tab(page, "Speech recognition")
    downloads = {f"Download .{kind}": f"transcript.{kind}" for kind in ("srt", "vtt", "txt")}
    for name in downloads:  # nothing to download yet
        expect(panel.get_by_role("button", name=name, exact=True)).to_be_hidden()
    upload(panel, assets / "speech_jfk.wav")
    expect(panel.get_by_test_id("waveform-Audio").first).to_be_visible()  # the upload has arrived
    panel.get_by_role("button", name="Transcribe", exact=True).click()
    expect(output_text(panel, "Transcript")).to_have_value("Hello world")
    for name, file_name in downloads.items():
        with page.expect_download() as download:
            panel.get_by_role("button", name=name, exact=True).click()
        assert download.value.suggested_filename == file_name
    assert "Hello world" in Path(download.value.path()).read_text()


def test_image_classification_shows_five_labelled_bars(page: Page, assets: Path):
    panel = open_tab(page, "Image classification")
    upload(panel, assets / "traffic_light.png")
    expect(panel.get_by_role("img").first).to_be_visible()
    panel.get_by_role("button", name="Classify image").click()
    expect(panel.get_by_role("meter")).to_have_count(5)
    expect(panel.get_by_test_id("label-output-value")).not_to_be_empty()


def test_finetune_trains_reports_and_the_new_model_classifies(page: Page, assets: Path):
    panel = open_tab(page, "Fine-tune")
    upload(panel, assets / "support_tickets.csv")
    expect(panel.get_by_text(re.compile(r"usable rows, 3 labels"))).to_be_visible()
    expect(panel.get_by_label("Text column")).to_have_value("text")
    expect(panel.get_by_label("Label column")).to_have_value("label")
    # Record every line the status shows: a fast training may pass through "Step n/N" between two looks. By its id:
    # the finished run's notes (a faster copy's) are status lines too.
    status = panel.locator("#finetune-status")
    status.evaluate(
        """node => {
            window.statusLines = [];
            new MutationObserver(() => window.statusLines.push(node.innerText))
                .observe(node, {subtree: true, childList: true, characterData: true});
        }"""
    )
    panel.get_by_role("button", name="Train", exact=True).click()
    expect(status).to_contain_text("is ready in the Text classification tab", timeout=TRAINING_TIMEOUT_MS)
    lines = page.evaluate("window.statusLines")
    assert any(re.search(r"Step \d+/\d+ · epoch", line) for line in lines), lines
    expect(panel.get_by_text(re.compile(r"^Accuracy \d+(\.\d)?%")).first).to_be_visible()
    expect(panel.get_by_role("cell", name="macro", exact=True)).to_be_visible()
    confusion = block(panel, "Confusion matrix").locator("img")
    expect(confusion).to_be_visible()
    assert confusion.evaluate("img => img.naturalWidth") > 100, "the confusion matrix picture loaded"
    expect(block(panel, "Loss")).to_be_visible()
    zip_file = block(panel, "Download the model (zip)")
    expect(zip_file.get_by_role("cell", name=re.compile(r"^support-tickets-.*\.zip$"))).to_be_visible()
    expect(zip_file.get_by_test_id("download-link")).to_have_attribute("href", re.compile(r"\.zip$"))
    model_name = panel.get_by_label("New model's name", exact=False).input_value()
    assert model_name.startswith("support-tickets-")

    classify_with_the_run(page, model_name, "I was charged twice this month")


def classify_with_the_run(page: Page, run: str, text: str) -> None:
    """In Text classification, the picker opens on `run` and classifying `text` shows a bar for each ticket team."""
    panel = open_tab(page, "Text classification")
    expect(panel.get_by_role("combobox", name="Model")).to_have_value(run)
    panel.get_by_label("Text", exact=True).fill(text)
    panel.get_by_role("button", name="Classify", exact=True).click()
    for label in ("billing", "shipping", "technical"):
        expect(panel.get_by_role("meter", name=label)).to_be_visible()


def test_fix_the_labels_retrain_compare_and_make_the_new_run_the_default(page: Page, app_url: str, tmp_path: Path):
    """The whole loop a user runs on a noisy file: train, check the labels, change two of the suggestions, retrain
    with the corrections, compare the two runs, make the new one the default, and classify with it."""
    from tests.test_runs_compare import noisy_tickets

    panel = open_tab(page, "Fine-tune")
    upload(panel, noisy_tickets(tmp_path))
    expect(panel.get_by_text(re.compile(r"usable rows, 3 labels"))).to_be_visible()
    # The pack's MiniLM, whose embeddings the check reads (the tiny test model's are random).
    panel.get_by_role("combobox", name="Base model").click()
    page.get_by_role("option", name="MiniLM-L6 (offline pack)").click()
    status = panel.locator("#finetune-status")
    panel.get_by_role("button", name="Train", exact=True).click()
    expect(status).to_contain_text("is ready in the Text classification tab", timeout=TRAINING_TIMEOUT_MS)
    first = panel.get_by_label("New model's name", exact=False).input_value()
    assert first.startswith("noisy-tickets-2")

    panel.get_by_role("button", name="Check labels (before training)").click()
    panel.get_by_role("button", name="Check labels", exact=True).click()
    expect(panel.get_by_text(re.compile(r"of 45 labelled rows look mislabelled"))).to_be_visible()
    suspects = panel.locator(".block").filter(has=page.locator("th[title='Use label']")).last
    # Two suggestions changed: the first row is kept with the label it has, the second is dropped.
    given = suspects.locator("[data-row='0'][data-col='2']").inner_text().strip()
    use_label = suspects.locator("[data-row='0'][data-col='6']")
    use_label.dblclick()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(given)
    page.keyboard.press("Enter")
    expect(use_label).to_have_text(re.compile(rf"^\s*{given}\b"))
    suspects.locator("[data-row='1'][data-col='7'] input[type=checkbox]").check()
    panel.get_by_role("button", name="Retrain with corrections").click()
    expect(status).to_contain_text("noisy-tickets-corrected-", timeout=TRAINING_TIMEOUT_MS)
    expect(status).to_contain_text("is ready in the Text classification tab", timeout=TRAINING_TIMEOUT_MS)
    second = panel.get_by_label("New model's name", exact=False).input_value()
    assert second.startswith("noisy-tickets-corrected-")

    panel.get_by_role("button", name="Your runs").click()
    runs = panel.locator(".block").filter(has=page.locator("th[title='Data']")).last  # Runs, newest first
    corrected = re.compile(r"corrected from noisy_tickets\.csv \(\w{8}\): \d+ labels changed, 1 rows dropped")
    expect(runs.get_by_role("gridcell").filter(has_text=corrected)).to_be_visible()
    expect(runs.get_by_role("gridcell").filter(has_text=second)).to_be_visible()
    compared = panel.get_by_role("combobox", name="Runs to compare")
    for name in (first, second):
        compared.click()
        page.get_by_role("option", name=name, exact=True).click()
    panel.get_by_role("button", name="Compare", exact=True).click()
    expect(panel.get_by_text("validation rows were seen by every run")).to_be_visible()
    scores = panel.locator(".block").filter(has=page.locator("th[title='Metric']")).last
    for name in (first, second):
        expect(scores.locator(f"th[title='{name}']").first).to_be_visible()
    expect(scores.get_by_role("gridcell").filter(has_text=re.compile(r"^\s*accuracy\b")).first).to_be_visible()
    expect(block(panel, "Confusion matrices").locator("img")).to_have_count(2)

    picked = panel.get_by_role("combobox", name="Fine-tuned model")
    picked.click()
    page.get_by_role("option", name=second, exact=True).click()
    panel.get_by_role("button", name="Make default", exact=True).click()
    try:
        expect(panel.get_by_text(f"{second} now answers by default in the Text classification tab")).to_be_visible()
        classify_with_the_run(page, second, "My parcel never arrived and the tracking has not moved")

        # The labels of the data the new run was trained on (its copy: the upload is long gone from the server)
        # are checked in the form above, which it fills with that data and the run's settings.
        panel = open_tab(page, "Fine-tune")
        panel.get_by_role("button", name="Check its labels").click()
        expect(panel.get_by_text(f"holds the data and settings of {second}")).to_be_visible()
        # The page shows a file's name and its extension apart.
        expect(block(panel, "Labelled data").get_by_text("noisy_tickets-corrected", exact=True)).to_be_visible()
        expect(panel.get_by_text(re.compile(r"of 44 labelled rows look mislabelled"))).to_be_visible()

        # Deleting the run brings back the configured default.
        panel.get_by_role("button", name="Delete", exact=True).click()
        expect(panel.get_by_text(re.compile(rf"^Deleted {re.escape(second)}\."))).to_be_visible()
        expect(open_tab(page, "Text classification").get_by_role("combobox", name="Model")).to_have_value(
            "Tiny sentiment"
        )
    finally:  # the other tests share this app and its runs folder: they expect the configured default
        from gradio_client import Client

        with contextlib.suppress(Exception):
            Client(app_url, verbose=False).predict(second, api_name="/delete_run")


def test_label_next_for_pictures_ranks_a_zip_and_adds_a_labelled_picture_to_the_training_zip(
    page: Page, app_url: str, assets: Path
):
    """Train an image classifier, let it rank a zip of pictures, label the one it is least sure of and see the
    training zip grow by that picture."""
    panel = open_tab(page, "Fine-tune")
    page.get_by_role("tab", name="Image classifier", exact=True).click()
    block(panel, "Labelled images (zip)").locator("input[type=file]").set_input_files(
        str(assets / "fashion_sample.zip")
    )
    status = panel.locator("#finetune-status")
    panel.get_by_role("button", name="Train", exact=True).click()
    expect(status).to_contain_text("is ready in the Image classification tab", timeout=TRAINING_TIMEOUT_MS)
    run = panel.get_by_label("New model's name", exact=False).input_value()
    try:
        panel.get_by_role("button", name="Label next (active learning)").click()
        to_label = block(panel, "Pictures to label (zip)").locator("input[type=file]")
        to_label.set_input_files(str(assets / "fashion_sample.zip"))
        panel.get_by_role("button", name="Find the rows to label").click()
        expect(block(panel, "Least sure first").locator("img")).to_have_count(20)
        rows = panel.locator(".block").filter(has=page.locator("th[title='Your label']")).last
        guess = rows.locator("[data-row='0'][data-col='2']").inner_text().strip()
        your_label = rows.locator("[data-row='0'][data-col='4']")
        your_label.dblclick()
        page.keyboard.type(guess)
        page.keyboard.press("Enter")
        expect(your_label).to_have_text(re.compile(rf"^\s*{re.escape(guess)}(\s|$)"))
        panel.get_by_role("button", name="Add the labelled pictures to the training zip").click()
        expect(panel.get_by_text("Added 1 labelled rows to the training file above")).to_be_visible()
        expect(block(panel, "Labelled images (zip)").get_by_text("fashion_sample-plus-1", exact=True)).to_be_visible()
        expect(panel.get_by_text(re.compile(r"\b49 images in \d+ classes"))).to_be_visible()  # as training reads it
    finally:  # the other tests share this app and its runs folder
        from gradio_client import Client

        with contextlib.suppress(Exception):
            Client(app_url, verbose=False).predict(run, api_name="/delete_run")


def test_a_multi_label_classifier_trains_and_lights_two_labels_for_a_text_that_has_two(
    page: Page, app_url: str, tmp_path: Path
):
    """Tickets labelled with their team, and also "question" where they ask one: the page reads the ";" cells as
    label sets, trains with sigmoid outputs, and Text classification gives every label over its threshold."""
    from tests.test_finetune_multilabel import tickets_with_questions

    panel = open_tab(page, "Fine-tune")
    upload(panel, tickets_with_questions(tmp_path))
    expect(panel.get_by_text(re.compile(r"usable rows, 4 labels, several per text: .*question \d+"))).to_be_visible()
    panel.get_by_role("combobox", name="Base model").click()
    page.get_by_role("option", name="MiniLM-L6 (offline pack)").click()
    panel.get_by_role("button", name="Training settings").first.click()
    # A slider's box is named "number input for" its label; a number's box, by its label.
    for name, value in (("number input for Epochs", "8"), ("Learning rate", "0.0005"), ("number input for Batch", "8")):
        type_number(panel.get_by_role("spinbutton", name=re.compile(rf"^{name}")).first, value)
    panel.get_by_role("button", name="Train", exact=True).click()
    status = panel.locator("#finetune-status")
    expect(status).to_contain_text("is ready in the Text classification tab", timeout=TRAINING_TIMEOUT_MS)
    expect(panel.get_by_text(re.compile(r"Micro F1 \d")).first).to_be_visible()
    run = panel.get_by_label("New model's name", exact=False).input_value()
    try:
        tab = open_tab(page, "Text classification")
        expect(tab.get_by_role("combobox", name="Model")).to_have_value(run)
        tab.get_by_label("Text", exact=True).fill("My parcel never arrived. What should I do?")
        tab.get_by_role("button", name="Classify", exact=True).click()
        given = tab.locator("#labels-given")
        expect(given).to_contain_text("Labels given (scored 0.5 or more)")
        expect(given.locator("strong")).to_have_text(["shipping", "question"])
    finally:  # the other tests share this app and its runs folder
        from gradio_client import Client

        with contextlib.suppress(Exception):
            Client(app_url, verbose=False).predict(run, api_name="/delete_run")


# ---------------------------------------------------------------------------------------------- mistakes


@pytest.mark.parametrize(
    "tab, button, message",
    [
        ("Text classification", "Classify", "The text is empty; type or paste some text first."),
        ("Named entities", "Find entities", "The text is empty; type or paste some text first."),
        ("Translation", "Translate", "The text is empty; type or paste some text first."),
        ("Speech recognition", "Transcribe", "No audio was given"),
        ("Image classification", "Classify image", "No image was given; upload a picture first."),
        ("Fine-tune", "Train", "No data file was given"),
    ],
)
def test_a_mistake_shows_an_error_toast(page: Page, tab: str, button: str, message: str):
    panel = open_tab(page, tab)
    panel.get_by_role("button", name=button, exact=True).click()
    expect(toast(page)).to_be_visible()
    expect(toast(page)).to_contain_text("Error")
    expect(toast(page)).to_contain_text(message)
    expect(toast(page)).not_to_contain_text("Traceback")


def test_a_file_that_is_not_an_image_shows_an_error_toast(page: Page, tmp_path: Path):
    fake = tmp_path / "holiday.png"
    fake.write_text("this is not a picture")
    panel = open_tab(page, "Image classification")
    upload(panel, fake)
    panel.get_by_role("button", name="Classify image").click()
    expect(toast(page)).to_contain_text("not an image")


# ---------------------------------------------------------------------------------------------- screens


def test_a_phone_can_use_every_tab(browser: Browser, app_url: str, request: pytest.FixtureRequest):
    with open_app(browser, app_url, request, viewport=PHONE, is_mobile=True, has_touch=True) as page:
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the page scrolls sideways on a phone: {width}"
        for name in TABS:
            open_tab(page, name)
        panel = open_tab(page, "Named entities")
        panel.get_by_label("Text", exact=True).fill("Angela Merkel visited Paris.")
        panel.get_by_role("button", name="Find entities").tap()
        shown = panel.get_by_test_id("highlighted-text")
        expect(shown.locator(".token").first).to_be_visible()
        assert "".join(shown.locator(".token .text").all_text_contents()) == "Angela Merkel visited Paris."
        box = panel.get_by_role("button", name="Find entities").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def contrast(page: Page, selector: str) -> float:
    """WCAG contrast ratio of the element's text colour against the first opaque background behind it."""
    return page.locator(selector).first.evaluate(
        """node => {
            const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
            const luminance = ([r, g, b]) => {
                const c = [r, g, b].map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
                return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
            };
            let back = node, bg = [255, 255, 255];
            while (back) {
                const c = rgb(getComputedStyle(back).backgroundColor);
                if (c.length >= 3 && (c.length === 3 || c[3] > 0.5)) { bg = c; break; }
                back = back.parentElement;
            }
            const [a, b] = [luminance(rgb(getComputedStyle(node).color)), luminance(bg)];
            return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }"""
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_is_readable_in_light_and_dark_mode(
    browser: Browser, app_url: str, request: pytest.FixtureRequest, scheme: str
):
    with open_app(browser, f"{app_url}?__theme={scheme}", request, color_scheme=scheme) as page:
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        is_dark = sum(map(float, re.findall(r"[\d.]+", background)[:3])) < 3 * 128
        assert is_dark == (scheme == "dark"), background
        panel = open_tab(page, "Text classification")
        panel.get_by_label("Text", exact=True).fill("Lovely.")
        panel.get_by_role("button", name="Classify", exact=True).click()
        expect(panel.get_by_role("meter")).to_have_count(2)
        for selector in ("#studio-header h1", "#studio-header p", ".status-line p", "[role=tabpanel] .prose p"):
            assert contrast(page, selector) >= 4.5, f"{selector} is hard to read in {scheme} mode"
        for selector in ("[data-testid=label-output-value]", "dl.label dt"):
            assert contrast(page, selector) >= 4.5, f"{selector} is hard to read in {scheme} mode"
