"""The shipped config with no network: pack models stand in, real speech and a real cat photo come out right."""

from __future__ import annotations

import re
import subprocess

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.conftest import ROOT, free_port

SENTENCES = (
    "Good morning, everyone. Please send the report to the office before the end of the week. "
    "Our train leaves the station early in the morning."
)
CAT_CLASSES = {"tabby, tabby cat", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat, Siamese"}


@pytest.fixture(scope="module")
def offline_app(tmp_path_factory, monkeypatch_module):
    """The app exactly as `make run` starts it (models.toml), on a machine that cannot reach any hub."""
    import app
    from studio.config import load_config

    monkeypatch_module.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch_module.setenv("WHISPER_CACHE", str(tmp_path_factory.mktemp("whisper-cache")))
    demo, studio = app.build_app(load_config(ROOT / "models.toml"))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield Client(f"http://127.0.0.1:{port}/", verbose=False), studio
    demo.close()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def test_transcribe_falls_back_to_the_pack_and_gets_the_words_right(offline_app, tmp_path):
    import jiwer

    client, studio = offline_app
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), SENTENCES], check=True)
    text, language, *_ = client.predict(handle_file(str(wav)), api_name="/transcribe")
    error_rate = jiwer.wer(" ".join(words(SENTENCES)), " ".join(words(text)))
    print(f"offline /transcribe WER {error_rate:.3f}: {text!r}")
    assert error_rate <= 0.2
    assert language.startswith("English")
    loaded, note = studio.loaded("speech", "base")
    assert loaded.ref == "pack:whisper-base"
    assert note == "offline: using Whisper base from the offline pack"


def test_classify_image_falls_back_to_the_pack_and_sees_a_cat(offline_app, tmp_path):
    from PIL import Image
    from skimage import data

    client, studio = offline_app
    photo = tmp_path / "chelsea.jpg"
    Image.fromarray(data.chelsea()).save(photo)
    result = client.predict(handle_file(str(photo)), api_name="/classify_image")
    print(f"offline /classify_image: {result['label']} ({result['confidences'][0]['confidence']:.2f})")
    assert result["label"] in CAT_CLASSES
    assert studio.loaded("image_classification", studio.task("image_classification").default)[1].startswith("offline:")


def test_text_classification_falls_back_to_zero_shot_sentiment(offline_app):
    client, studio = offline_app
    result = client.predict("This movie was a delight from the first scene to the last.", api_name="/classify_text")
    assert result["label"] == "positive"
    assert {c["label"] for c in result["confidences"]} == {"positive", "negative"}
    assert client.predict("The battery died and support never answered.", api_name="/classify_text")["label"] == (
        "negative"
    )
    loaded, note = studio.loaded("text_classification", studio.task("text_classification").default)
    assert loaded.ref == "pack:minilm-l6"
    assert note == "offline: zero-shot with MiniLM-L6 from the offline pack; fine-tune for better results"


def test_named_entities_fall_back_to_spacy(offline_app):
    client, studio = offline_app
    _, entities = client.predict("Angela Merkel met Emmanuel Macron in Berlin.", api_name="/recognize_entities")
    assert [(e["word"], e["entity_group"], e["start"], e["end"], e["score"]) for e in entities] == [
        ("Angela Merkel", "PERSON", 0, 13, None),
        ("Emmanuel Macron", "PERSON", 18, 33, None),
        ("Berlin", "GPE", 37, 43, None),
    ]
    assert studio.loaded("ner", studio.task("ner").default)[1].startswith("offline: using spaCy")


def test_translation_offline_says_which_pairs_work(offline_app):
    client, _ = offline_app
    with pytest.raises(AppError, match="English → Portuguese and Portuguese → English work offline"):
        client.predict("Hello there, Angela.", api_name="/translate")
    portuguese = client.predict("The weather is lovely today.", "English → Portuguese", api_name="/translate")
    assert "hoje" in portuguese.lower()


def test_english_only_pack_model_refuses_other_languages(offline_app, tmp_path):
    client, _ = offline_app
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "Hello"], check=True)
    with pytest.raises(AppError, match="understands English only"):
        client.predict(handle_file(str(wav)), "pack:whisper-tiny.en", "de", api_name="/transcribe")
