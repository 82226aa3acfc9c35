"""The tiny models load through the same loaders a real checkpoint goes through."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import pytest

from tests.tiny_models import NER_LABELS, build_all

# The session-scoped `tiny_models` fixture in conftest.py calls build_all once for every test file.


def write_sine_wav(path: Path, seconds: float = 1.0, rate: int = 16000, hertz: float = 440.0) -> Path:
    """Write a mono 16-bit sine tone to path."""
    frames = b"".join(
        struct.pack("<h", int(0.5 * 32767 * math.sin(2 * math.pi * hertz * i / rate)))
        for i in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


def test_text_classifier_loads_in_a_pipeline(tiny_models: dict[str, Path]) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    folder = tiny_models["text_classification"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    assert model.config.id2label == {0: "NEGATIVE", 1: "POSITIVE"}
    tokens = tokenizer.tokenize("This MOVIE was great")
    assert "[UNK]" not in tokens and tokens[0] == "this"

    classifier = pipeline("text-classification", model=str(folder))
    # top_k=None given to pipeline() itself nests a single input's scores one list deeper.
    scores = classifier("What a terrible movie.", top_k=None)
    assert {score["label"] for score in scores} == {"NEGATIVE", "POSITIVE"}
    assert sum(score["score"] for score in scores) == pytest.approx(1.0)


def test_token_classifier_is_cased_with_conll_labels(tiny_models: dict[str, Path]) -> None:
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    folder = tiny_models["ner"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForTokenClassification.from_pretrained(folder)
    assert [model.config.id2label[i] for i in range(len(NER_LABELS))] == NER_LABELS
    assert "Berlin" in tokenizer.tokenize("Angela Merkel visited Berlin.")

    inputs = tokenizer(["Angela Merkel works for Google."], return_tensors="pt")
    logits = model(**inputs).logits
    assert logits.shape == (1, inputs["input_ids"].shape[1], len(NER_LABELS))


def test_translator_generates_and_decodes(tiny_models: dict[str, Path]) -> None:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    folder = tiny_models["translation"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSeq2SeqLM.from_pretrained(folder)
    assert type(tokenizer).__name__ == "MarianTokenizer"
    inputs = tokenizer(["Hello world."], return_tensors="pt")
    assert tokenizer.unk_token_id not in inputs["input_ids"][0].tolist()

    generated = model.generate(**inputs, max_new_tokens=8)
    assert generated.shape[1] <= 9
    texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
    assert len(texts) == 1 and isinstance(texts[0], str)
    assert model.generate(**inputs).shape[1] <= model.generation_config.max_length


def test_whisper_checkpoint_transcribes_a_wav(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    import whisper

    model = whisper.load_model(str(tiny_models["speech"]), device="cpu")
    assert model.is_multilingual
    result = whisper.transcribe(model, str(write_sine_wav(tmp_path / "tone.wav")), fp16=False)
    assert result["text"] == " Hello world"
    assert result["language"] == "en"
    assert [(s["start"], s["end"]) for s in result["segments"]] == [(0.0, 1.0)]


def test_image_classifier_round_trips_through_local_dir(tiny_models: dict[str, Path]) -> None:
    import timm
    import torch
    from safetensors.torch import load_file

    folder = tiny_models["image_classification"]
    model = timm.create_model("local-dir:" + str(folder), pretrained=True).eval()
    saved = timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, num_classes=1000, depth=1, embed_dim=32, num_heads=2
    ).eval()
    saved.load_state_dict(load_file(folder / "model.safetensors"))
    assert timm.data.resolve_data_config({}, model=model)["input_size"] == (3, 224, 224)

    image = torch.rand(2, 3, 224, 224)
    with torch.inference_mode():
        assert torch.equal(model(image), saved(image))
    assert model(image).shape == (2, 1000)


def test_building_again_writes_identical_files(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    again = build_all(tmp_path)
    for task, path in tiny_models.items():
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        assert files, task
        for file in files:
            twin = again[task] / file.relative_to(path) if path.is_dir() else again[task]
            assert file.read_bytes() == twin.read_bytes(), f"{task}: {file.name} differs"
