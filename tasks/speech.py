"""Speech recognition with openai-whisper: any audio ffmpeg reads, in 99 languages, or translated to English."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import gradio as gr

from studio import pack
from studio.errors import ModelUnavailableError, UserError
from studio.runtime import Studio
from studio.ui import model_controls, refresh_status, user_errors

TASK = "speech"
TITLE = "Speech recognition"
DESCRIPTION = "Transcribe speech from a recording or your microphone, detect its language, or translate it to English."
ASSETS = Path(__file__).resolve().parent.parent / "assets"
SAMPLE_RATE = 16_000
# Below this peak amplitude (about -80 dBFS) a recording holds nothing Whisper could hear.
SILENCE_PEAK = 1e-4
WHISPER_HOST = "openaipublic.azureedge.net"


def load(model_ref: str, device: str) -> Any:
    """An openai-whisper model from a known name ("base", "large-v3"…), a checkpoint file, or a pack name."""
    import whisper

    from studio.hub import reachable

    if pack.is_pack_ref(model_ref):
        name = pack.pack_name(model_ref)
        model = whisper.load_model(str(pack.resolve(name)), device=device)
        model.set_alignment_heads(pack.alignment_heads(name))  # for word timestamps; a path load sets none
        return model
    if Path(model_ref).is_file():
        return whisper.load_model(model_ref, device=device)
    if model_ref not in whisper.available_models():
        raise UserError(f"'{model_ref}' is neither a Whisper model name nor a checkpoint file; pick one from the list.")
    download_root = os.environ.get("WHISPER_CACHE", os.path.join(Path.home(), ".cache", "whisper"))
    cached = Path(download_root) / os.path.basename(whisper._MODELS[model_ref])
    if not cached.is_file() and not reachable(WHISPER_HOST):
        raise ModelUnavailableError(
            f"Whisper '{model_ref}' is not cached here and its download server cannot be reached; "
            "connect once to download it, or choose an offline-pack model."
        )
    return whisper.load_model(model_ref, device=device, download_root=download_root)


def load_audio(path: str, max_seconds: float) -> Any:
    """The recording as 16 kHz mono float32, after checking it has audio and is not too long."""
    import whisper

    duration = audio_duration(path)
    if duration is not None and duration > max_seconds:
        raise UserError(
            f"The recording is {duration / 60:.1f} minutes long; the limit is {max_seconds / 60:.0f} minutes, "
            "so cut it into shorter parts."
        )
    try:
        audio = whisper.load_audio(path)
    except RuntimeError:
        raise UserError(
            "The file could not be read as audio; upload a sound or video file with an audio track "
            "(wav, mp3, m4a, ogg, flac, webm, mp4)."
        ) from None
    if audio.size == 0:
        raise UserError("The file has no audio in it; upload a recording with sound.")
    if len(audio) / SAMPLE_RATE > max_seconds:
        raise UserError(
            f"The recording is longer than the {max_seconds / 60:.0f}-minute limit; cut it into shorter parts."
        )
    if float(abs(audio).max()) < SILENCE_PEAK:
        raise UserError("The recording is silent; check the microphone or upload a recording with speech.")
    return audio


def audio_duration(path: str) -> float | None:
    """The duration ffprobe reads from the container, without decoding; None when it cannot tell."""
    try:
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", "--", path],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return float(json.loads(probe.stdout)["format"]["duration"])
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None


def detect_language(model: Any, audio: Any) -> tuple[str, float]:
    """The spoken language of the first 30 seconds and its probability."""
    import torch
    import whisper

    if not model.is_multilingual:
        return "en", 1.0
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), n_mels=model.dims.n_mels).to(model.device)
    with torch.inference_mode():
        _, probs = model.detect_language(mel)
    language = max(probs, key=probs.get)
    return language, float(probs[language])


def predict(model: Any, audio: Any, language: str | None = None, task: str = "transcribe") -> dict:
    """The transcript (or English translation) of 16 kHz audio, with its language and timed segments."""
    import torch
    import whisper

    if language and language not in whisper_languages():
        raise UserError(
            f"'{language}' is not a language Whisper knows; pick one from the list or leave it on automatic."
        )
    if language and not model.is_multilingual and language != "en":
        raise UserError("This Whisper model understands English only; choose a multilingual model for other languages.")
    if language:
        probability = None
    else:
        language, probability = detect_language(model, audio)
    with torch.inference_mode():
        result = whisper.transcribe(
            model,
            audio,
            language=language,
            task=task,
            fp16=model.device.type == "cuda",
            verbose=None,
        )
    segments = [
        {"start": round(s["start"], 2), "end": round(s["end"], 2), "text": s["text"].strip()}
        for s in result["segments"]
    ]
    return {
        "text": result["text"].strip(),
        "language": language,
        "language_probability": probability,
        "segments": segments,
    }


@functools.cache
def whisper_languages() -> dict[str, str]:
    """Whisper's language codes and names, read without importing whisper (whose import loads torch)."""
    package = importlib.util.find_spec("whisper")
    path = Path(package.submodule_search_locations[0]) / "tokenizer.py"
    spec = importlib.util.spec_from_file_location("_whisper_tokenizer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.LANGUAGES)


def language_choices() -> list[tuple[str, str]]:
    return [("Detect automatically", "")] + sorted((name.title(), code) for code, name in whisper_languages().items())


def describe_language(code: str, probability: float | None) -> str:
    name = whisper_languages().get(code, code).title()
    return f"{name} ({probability:.0%})" if probability is not None else f"{name} (chosen)"


def build_tab(studio: Studio) -> None:
    """The Speech recognition tab."""
    limits = studio.config.limits

    @user_errors("transcribing the audio")
    def transcribe(
        audio_path: str | None, model_ref: str | None = None, language: str = "", task: str = "transcribe"
    ) -> tuple[str, str]:
        if not audio_path:
            raise UserError("No audio was given; upload a file or record with the microphone first.")
        if task not in {"transcribe", "translate"}:
            raise UserError("The task must be 'transcribe' or 'translate'.")
        audio = load_audio(audio_path, limits.max_audio_seconds)
        loaded, note = studio.load(TASK, model_ref, load)
        if note:
            gr.Info(note)
        result = predict(loaded.model, audio, language=language or None, task=task)
        return result["text"], describe_language(result["language"], result["language_probability"])

    gr.Markdown(DESCRIPTION)
    with gr.Row(equal_height=False):
        with gr.Column():
            audio = gr.Audio(label="Audio", sources=["upload", "microphone"], type="filepath")
            with gr.Row():
                language = gr.Dropdown(language_choices(), value="", label="Language")
                task = gr.Radio(
                    [("Transcribe", "transcribe"), ("Translate to English", "translate")],
                    value="transcribe",
                    label="Task",
                )
            button = gr.Button("Transcribe", variant="primary")
            model, status = model_controls(studio, TASK, load)
        with gr.Column():
            text = gr.Textbox(label="Transcript", lines=8, buttons=["copy"], interactive=False)
            detected = gr.Textbox(label="Language", interactive=False)
    examples = sorted(str(p) for p in ASSETS.glob("*.wav"))
    if examples:
        gr.Examples(examples=[[e] for e in examples], inputs=[audio])

    run = button.click(transcribe, [audio, model, language, task], [text, detected], api_name="transcribe")
    refresh_status(run, studio, TASK, model, status)
