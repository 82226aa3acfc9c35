"""The real app over HTTP through gradio_client: the five API names, their outputs, and bad input."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from tests.conftest import NOT_CACHED_HUB_MODEL, ROOT, free_port, wait_for_page

API_NAMES = [
    "/classify_text",
    "/classify_text_zero_shot",
    "/batch_classify_text",
    "/recognize_entities",
    "/batch_recognize_entities",
    "/translate",
    "/batch_translate",
    "/transcribe",
    "/live_captions",
    "/live_captions_end",
    "/batch_transcribe",
    "/classify_image",
    "/batch_classify_image",
    "/finetune",
    "/finetune_images",
    "/finetune_entities",
    "/search_settings",
    "/resume_run",
    "/check_labels",
    "/correct_labels",
    "/finetune_corrected",
    "/label_next",
    "/label_next_pictures",
    "/optimise_run",
    "/compare_runs",
    "/make_default",
    "/delete_run",
]
# Inputs after the first that a caller must give: zero-shot has no labels of its own.
REQUIRED = {"/classify_text_zero_shot": {"labels"}}
# Endpoints that end what the session sent before: nothing of the user's comes with them.
ENDING = {"/live_captions_end"}


def test_view_api_lists_the_five_task_endpoints_and_finetune(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert list(endpoints) == API_NAMES
    for name, endpoint in endpoints.items():
        first, *rest = endpoint["parameters"]
        assert name in ENDING or not first["parameter_has_default"], f"{name}: the user's input comes first"
        required = {p["parameter_name"] for p in rest if not p["parameter_has_default"]}
        assert required == REQUIRED.get(name, set()), f"{name}: every other input has a default"


def test_classify_text(client):
    result = client.predict("What a great movie!", api_name="/classify_text")
    assert result["label"] in {"POSITIVE", "NEGATIVE"}
    confidences = [c["confidence"] for c in result["confidences"]]
    assert {c["label"] for c in result["confidences"]} == {"POSITIVE", "NEGATIVE"}
    assert confidences == sorted(confidences, reverse=True)


def test_recognize_entities(client):
    text = "Angela Merkel met Emmanuel Macron in Berlin."
    highlighted, entities = client.predict(text, api_name="/recognize_entities")
    assert "".join(piece["token"] for piece in highlighted) == text
    for entity in entities:
        assert text[entity["start"] : entity["end"]] == entity["word"]
        assert set(entity) == {"entity_group", "word", "start", "end", "score"}


def test_translate(client):
    assert isinstance(client.predict("Hello world.", api_name="/translate"), str)


def test_transcribe(client, assets):
    text, language, *_ = client.predict(handle_file(str(assets / "speech_jfk.wav")), api_name="/transcribe")
    assert isinstance(text, str)
    assert "%" in language


def test_classify_image(client, assets):
    result = client.predict(handle_file(str(assets / "crossword.png")), api_name="/classify_image")
    assert len(result["confidences"]) == 5
    assert result["label"] == result["confidences"][0]["label"]


@pytest.mark.parametrize(
    "args, api_name, message",
    [
        (("",), "/classify_text", "The text is empty; type or paste some text first."),
        (("   \n\t ",), "/recognize_entities", "The text is empty; type or paste some text first."),
        (("\x00\x00",), "/translate", "The text is empty; type or paste some text first."),
        (("hello", "no-such-model"), "/classify_text", "Unknown model 'no-such-model'"),
        (("hello", "../../etc/passwd"), "/recognize_entities", "Unknown model '../../etc/passwd'"),
    ],
)
def test_bad_text_input_gets_a_clear_error_and_the_server_keeps_serving(client, args, api_name, message):
    with pytest.raises(AppError) as error:
        client.predict(*args, api_name=api_name)
    assert message in str(error.value)
    assert "Traceback" not in str(error.value)
    assert client.predict("a great movie", api_name="/classify_text")["label"]


def test_a_model_that_is_not_cached_falls_back_to_zero_shot_sentiment(live_app, client):
    _, studio = live_app
    result = client.predict("What a wonderful, delightful film.", NOT_CACHED_HUB_MODEL, api_name="/classify_text")
    assert result["label"] == "positive"
    assert {c["label"] for c in result["confidences"]} == {"positive", "negative"}
    assert studio.loaded("text_classification", NOT_CACHED_HUB_MODEL)[1].startswith("offline: zero-shot with MiniLM")


def test_one_megabyte_of_text_is_truncated_not_a_crash(client):
    text = "great movie, truly great. " * 40_000
    assert len(text.encode()) > 1_000_000
    for api_name in ["/classify_text", "/recognize_entities"]:
        assert client.predict(text, api_name=api_name) is not None


@pytest.mark.parametrize(
    "name, content, api_name, message",
    [
        ("notes.wav", b"just some text, not sound", "/transcribe", "could not be read as audio"),
        ("empty.mp3", b"", "/transcribe", "could not be read as audio"),
        ("photo.png", b"no pixels in here", "/classify_image", "not an image this app can read"),
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64, "/classify_image", "not an image|damaged"),
    ],
)
def test_bad_files_get_a_clear_error(client, tmp_path, name, content, api_name, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(path)), api_name=api_name)
    assert client.predict("a great movie", api_name="/classify_text")["label"]


def test_concurrent_first_requests_load_the_model_once(live_app, client, tiny_models):
    _, studio = live_app
    ref = f"{tiny_models['text_classification']}-copy"
    assert studio.models.peek("text_classification", ref) is None
    loads_before = studio.models.loads
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(client.predict, "great", ref, api_name="/classify_text") for _ in range(2)]
        results = [f.result(timeout=120) for f in futures]
    assert all(r["label"] for r in results)
    assert studio.models.loads == loads_before + 1


def test_enter_and_the_button_run_one_batched_event(config_file):
    import app
    from studio.batching import MAX_BATCH_SIZE
    from studio.config import load_config

    demo, _ = app.build_app(load_config(config_file))
    fns = list(demo.fns.values())
    (entities,) = [fn for fn in fns if fn.api_name == "recognize_entities"]
    assert sorted(kind for _, kind in entities.targets) == ["click", "submit"]
    assert entities.concurrency_limit == MAX_BATCH_SIZE
    # Text classification's page event (button, Enter in the text or the labels) picks the model or zero-shot;
    # its two API endpoints share the page's batched limit, so all three feed one micro-batcher per model.
    (page,) = [fn for fn in fns if getattr(fn.fn, "__name__", "") == "classify_in_tab"]
    assert sorted(kind for _, kind in page.targets) == ["click", "submit", "submit"]
    assert page.concurrency_limit == MAX_BATCH_SIZE
    api = [fn for fn in fns if fn.api_name in {"classify_text", "classify_text_zero_shot"}]
    assert len(api) == 2 and {fn.concurrency_id for fn in api} == {page.concurrency_id}


def test_app_starts_without_loading_a_model(config_file):
    """`python app.py` serves the page in seconds, and loads nothing until a request needs it."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "app.py", "--config", str(config_file), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = wait_for_page(f"http://127.0.0.1:{port}/", timeout_s=120)
        cold_start = time.perf_counter() - started
        print(f"cold start to first HTTP 200: {cold_start:.1f} s")
        assert "Model Studio" in page
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "built in" in output
    assert " loaded " not in output, "no model may load at start-up"


def test_config_is_chosen_by_flag_then_environment(tmp_path, monkeypatch, config_file):
    from studio.config import DEFAULT_CONFIG, config_path

    monkeypatch.delenv("STUDIO_CONFIG", raising=False)
    assert config_path() == DEFAULT_CONFIG
    monkeypatch.setenv("STUDIO_CONFIG", str(config_file))
    assert config_path() == config_file
    assert config_path(tmp_path / "other.toml") == tmp_path / "other.toml"


def test_shipped_config_offers_the_documented_models():
    from studio.config import load_config

    config = load_config(ROOT / "models.toml")
    assert config.tasks["text_classification"].default == "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
    assert config.tasks["ner"].default == "dslim/bert-base-NER"
    pairs = set(config.tasks["translation"].choices.values())
    for pair in ["en-de", "de-en", "en-fr", "fr-en", "en-es", "es-en", "en-zh", "zh-en"]:
        assert f"Helsinki-NLP/opus-mt-{pair}" in pairs
    assert config.tasks["speech"].default == "base"
    assert {"tiny", "base", "small", "medium", "turbo", "large-v3", "base.en"} <= set(
        config.tasks["speech"].choices.values()
    )
    assert config.tasks["image_classification"].default == "vit_base_patch16_224.augreg2_in21k_ft_in1k"


def test_a_broken_config_stops_with_a_message(tmp_path):
    from studio.config import load_config

    path = tmp_path / "models.toml"
    path.write_text("[text_classification]\nchoices = []\n")
    with pytest.raises(SystemExit, match=r"needs a \[text_classification\] section with a `default` model"):
        load_config(path)
    path.write_text("not = [valid")
    with pytest.raises(SystemExit, match="is not valid TOML"):
        load_config(path)
    assert not Path(tmp_path / "missing.toml").exists()
    with pytest.raises(SystemExit, match="Config file not found"):
        load_config(tmp_path / "missing.toml")


def test_every_handlers_annotations_resolve_so_gradio_sees_its_request(config_file):
    """Gradio passes gr.Request (and event data) to a handler by its type hints; a hint it cannot resolve, such as a
    `gr` imported only inside build_tab, makes it expect one more input and pass nothing (the Speech tab's Cancel)."""
    import typing

    import app
    from studio.config import load_config

    demo, _ = app.build_app(load_config(config_file))
    unresolved = []
    for block_fn in demo.fns.values():
        if block_fn.fn is None:
            continue
        try:
            typing.get_type_hints(block_fn.fn)
        except NameError as e:
            unresolved.append(f"{block_fn.fn.__qualname__}: {e}")
    assert not unresolved
