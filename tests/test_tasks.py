"""Each task's load/predict on tiny models in the real formats: the documented output shapes."""

from __future__ import annotations

import dataclasses
import wave
from pathlib import Path

import pytest

from studio.errors import UserError
from tasks import image_classification, ner, speech, text_classification, translation


@pytest.fixture(scope="module")
def classifier(tiny_models):
    return text_classification.load(str(tiny_models["text_classification"]), "cpu")


def test_classify_text_returns_every_label_sorted(classifier):
    results = text_classification.predict(classifier, ["a great movie", "a terrible movie that went on and on"])
    assert len(results) == 2
    for scores in results:
        assert set(scores) == {"NEGATIVE", "POSITIVE"}
        values = list(scores.values())
        assert values == sorted(values, reverse=True)
        assert sum(values) == pytest.approx(1.0, abs=1e-4)


def test_classify_text_batch_matches_single(classifier):
    texts = ["short", "a much longer sentence about a great movie in Berlin"]
    batched = text_classification.predict(classifier, texts)
    single = [text_classification.predict(classifier, [t])[0] for t in texts]
    for b, s in zip(batched, single):
        assert b == pytest.approx(s, abs=1e-4)


def test_long_text_is_truncated_not_rejected(classifier):
    text = "great movie " * 5000
    assert text_classification.is_truncated(classifier, text)
    assert not text_classification.is_truncated(classifier, "great movie")
    assert set(text_classification.predict(classifier, [text])[0]) == {"NEGATIVE", "POSITIVE"}


@pytest.fixture(scope="module")
def recognizer(tiny_models):
    return ner.load(str(tiny_models["ner"]), "cpu")


def test_entities_have_offsets_into_the_original_text(recognizer):
    text = "Angela Merkel met  Emmanuel Macron in Berlin, said Google."
    entities = ner.predict(recognizer, [text])[0]
    for entity in entities:
        assert set(entity) == {"entity_group", "word", "start", "end", "score"}
        assert text[entity["start"] : entity["end"]] == entity["word"]
        assert not entity["entity_group"].startswith(("B-", "I-"))
        assert 0.0 <= entity["score"] <= 1.0


def test_entities_on_text_longer_than_one_window(recognizer):
    text = " ".join(["Angela Merkel visited Berlin and Google."] * 200)
    entities = ner.predict(recognizer, [text])[0]
    starts = [e["start"] for e in entities]
    assert starts == sorted(starts), "windows must not repeat or reorder entities"
    assert all(text[e["start"] : e["end"]] == e["word"] for e in entities)
    assert max(e["end"] for e in entities) > len(text) // 2, "the end of a long text is read too"


def test_grouping_follows_simple_aggregation():
    text = "Angela Merkel in Berlin"
    tokens = [
        {"label": "B-PER", "score": 0.9, "start": 0, "end": 6},
        {"label": "I-PER", "score": 0.7, "start": 7, "end": 10},
        {"label": "I-PER", "score": 0.8, "start": 10, "end": 13},
        {"label": "O", "score": 0.99, "start": 14, "end": 16},
        {"label": "B-LOC", "score": 0.6, "start": 17, "end": 23},
    ]
    assert ner._group_entities(text, tokens) == [
        {"entity_group": "PER", "word": "Angela Merkel", "start": 0, "end": 13, "score": pytest.approx(0.8)},
        {"entity_group": "LOC", "word": "Berlin", "start": 17, "end": 23, "score": pytest.approx(0.6)},
    ]


def test_highlight_covers_the_whole_text():
    text = "Angela Merkel in Berlin"
    entities = [{"entity_group": "PER", "start": 0, "end": 13}, {"entity_group": "LOC", "start": 17, "end": 23}]
    pieces = ner.highlight(text, entities)
    assert "".join(p for p, _ in pieces) == text
    assert pieces == [("Angela Merkel", "PER"), (" in ", None), ("Berlin", "LOC")]


@pytest.fixture(scope="module")
def translator(tiny_models):
    return translation.load(str(tiny_models["translation"]), "cpu")


def test_translation_keeps_lines_and_returns_text(translator):
    text = "Hello world. How are you?\n\nThe house is big."
    out = translation.predict(translator, text, num_beams=1)
    assert isinstance(out, str)
    assert out.count("\n") == text.count("\n")


def test_sentence_splitting():
    assert translation.split_sentences("One. Two!  Three? Four") == ["One.", "Two!", "Three?", "Four"]
    assert translation.split_sentences("你好。今天很好！") == ["你好。", "今天很好！"]
    assert translation.split_sentences("   ") == []
    # A closing quote stays with its sentence.
    assert translation.split_sentences("他说：“今天天气很好。”我们去公园吧！你呢？") == [
        "他说：“今天天气很好。”",
        "我们去公园吧！",
        "你呢？",
    ]


@pytest.mark.parametrize("target, joiner", [("zh", ""), ("ja", ""), ("en", " ")])
def test_sentences_join_as_the_target_language_writes_them(translator, target, joiner):
    """Chinese and Japanese put no space between sentences; the other targets one."""
    into = dataclasses.replace(translator, target_language=target)
    text = "我们去公园吧！你呢？\n今天很好。"
    sentences = ["我们去公园吧！", "你呢？", "今天很好。"]
    each = [translation.translate_sentences(into, [s], num_beams=1)[0] for s in sentences]
    assert translation.translate_texts(into, [text], num_beams=1) == [joiner.join(each[:2]) + "\n" + each[2]]


def test_translate_sentences_keeps_input_order(translator):
    sentences = ["A very long sentence about the house and the garden.", "Hi.", "Medium sentence here."]
    # A fixed length budget: random weights never stop early, and the default budget follows the batch.
    batched = translation.translate_sentences(translator, sentences, num_beams=1, max_new_tokens=6)
    one_by_one = [translation.translate_sentences(translator, [s], num_beams=1, max_new_tokens=6)[0] for s in sentences]
    assert batched == one_by_one


@pytest.fixture(scope="module")
def whisper_model(tiny_models):
    return speech.load(str(tiny_models["speech"]), "cpu")


def test_transcribe_returns_text_language_and_segments(whisper_model, assets):
    audio = speech.load_audio(str(assets / "speech_jfk.wav"), max_seconds=60)
    result = speech.predict(whisper_model, audio)
    assert set(result) == {"text", "language", "language_probability", "segments"}
    assert isinstance(result["text"], str)
    assert result["language"] in speech.whisper_languages()
    assert 0.0 < result["language_probability"] <= 1.0


def test_non_audio_file_is_refused(tmp_path):
    fake = tmp_path / "notes.mp3"
    fake.write_text("these are not sounds")
    with pytest.raises(UserError, match="could not be read as audio"):
        speech.load_audio(str(fake), max_seconds=60)


def test_silent_and_overlong_audio_are_refused(tmp_path, assets):
    silent = tmp_path / "silence.wav"
    write_wav(silent, [0] * 16000)
    with pytest.raises(UserError, match="silent"):
        speech.load_audio(str(silent), max_seconds=60)
    with pytest.raises(UserError, match="limit is 0 minutes"):
        speech.load_audio(str(assets / "speech_jfk.wav"), max_seconds=1)


def test_unknown_language_is_refused(whisper_model, assets):
    audio = speech.load_audio(str(assets / "speech_jfk.wav"), max_seconds=60)
    with pytest.raises(UserError, match="not a language Whisper knows"):
        speech.predict(whisper_model, audio, language="klingon")


@pytest.fixture(scope="module")
def image_classifier(tiny_models):
    return image_classification.load(str(tiny_models["image_classification"]), "cpu")


def test_classify_image_returns_top5_imagenet_names(image_classifier, assets):
    image = image_classification.open_image(str(assets / "traffic_light.png"), max_pixels=10**7)
    scores = image_classification.predict(image_classifier, [image])[0]
    assert len(scores) == 5
    assert all(name in image_classifier.labels for name in scores)
    assert "tench, Tinca tinca" in image_classifier.labels  # ImageNet class 0, by its readable name
    values = list(scores.values())
    assert values == sorted(values, reverse=True)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not an image"),
        (b"plain text, not pixels", "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image|damaged"),
    ],
)
def test_bad_image_files_are_refused(tmp_path, content, message):
    path = tmp_path / "picture.png"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        image_classification.open_image(str(path), max_pixels=10**7)


def test_truncated_image_is_refused(tmp_path, assets):
    data = (assets / "tennis_ball.png").read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="damaged or incomplete"):
        image_classification.open_image(str(path), max_pixels=10**7)


def test_too_many_pixels_is_refused(tmp_path):
    from PIL import Image

    path = tmp_path / "wide.png"
    Image.new("RGB", (4000, 3000)).save(path)
    with pytest.raises(UserError, match="4000×3000 pixels"):
        image_classification.open_image(str(path), max_pixels=10**6)


def write_wav(path: Path, samples: list[int], rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(int(s).to_bytes(2, "little", signed=True) for s in samples))
