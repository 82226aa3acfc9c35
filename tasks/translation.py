"""Translation with Marian (opus-mt) models: sentences translated in length-sorted batches, layout kept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import gradio as gr

from studio.errors import encodable
from studio.gpu import predict_on_gpu
from studio.hf import from_pretrained
from studio.runtime import Studio
from studio.ui import clip_text, model_controls, refresh_status, user_errors

TASK = "translation"
TITLE = "Translation"
DESCRIPTION = "Translate text between languages, sentence by sentence, keeping its line breaks."
EXAMPLES = [
    "The weather is lovely today. Shall we go for a walk in the park?",
    "Machine translation has improved a lot in the last ten years.",
]
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])")
# Languages written without spaces between sentences.
NO_SPACE_LANGUAGES = {"zh", "ja"}
BATCH_SIZE = 16


@dataclass
class Translator:
    model: Any
    tokenizer: Any
    device: str
    target_language: str


def load(model_ref: str, device: str) -> Translator:
    """A seq2seq translation model and its tokenizer (transformers 5 has no translation pipeline)."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from studio.device import inference_dtype

    tokenizer = from_pretrained(AutoTokenizer, model_ref)
    model = from_pretrained(AutoModelForSeq2SeqLM, model_ref, dtype=inference_dtype(device))
    model.to(device).eval()
    return Translator(model, tokenizer, device, _target_language(model_ref))


def predict(translator: Translator, text: str, num_beams: int = 4) -> str:
    """The translation of `text`, sentence by sentence, with its paragraphs and line breaks kept."""
    lines = text.split("\n")
    sentences_per_line = [split_sentences(line) for line in lines]
    sentences = [s for line in sentences_per_line for s in line]
    translated = iter(translate_sentences(translator, sentences, num_beams=num_beams))
    joiner = "" if translator.target_language in NO_SPACE_LANGUAGES else " "
    return "\n".join(joiner.join(next(translated) for _ in line) for line in sentences_per_line)


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def translate_sentences(
    translator: Translator, sentences: list[str], num_beams: int = 4, max_new_tokens: int | None = None
) -> list[str]:
    """Translations in input order; batches hold sentences of similar length so little padding is computed."""
    import torch

    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    results: list[str] = [""] * len(sentences)
    for start in range(0, len(order), BATCH_SIZE):
        chunk = order[start : start + BATCH_SIZE]
        batch = translator.tokenizer(
            [encodable(sentences[i]) for i in chunk], truncation=True, max_length=512, padding=True, return_tensors="pt"
        ).to(translator.device)
        with torch.inference_mode():
            generated = translator.model.generate(
                **batch,
                num_beams=num_beams,
                max_new_tokens=max_new_tokens or _max_new_tokens(batch["input_ids"].shape[1], translator.model.config),
            )
        for i, decoded in zip(chunk, translator.tokenizer.batch_decode(generated, skip_special_tokens=True)):
            results[i] = decoded.strip()
    return results


def _max_new_tokens(source_tokens: int, config: Any) -> int:
    # Room for languages that need more tokens, but a bound so a degenerate model cannot loop for long,
    # and never past the decoder's position embeddings.
    return min(2 * source_tokens + 16, getattr(config, "max_position_embeddings", 512) - 1)


def _target_language(model_ref: str) -> str:
    match = re.search(r"opus-mt-[a-z]+-([a-z]+)", model_ref.lower())
    return match.group(1) if match else ""


def build_tab(studio: Studio) -> None:
    """The Translation tab."""
    limits = studio.config.limits
    predict_on_device = predict_on_gpu(studio, TASK, load, predict, duration=120)

    @user_errors("translating")
    def translate(text: str, model_ref: str | None = None) -> str:
        """Translate a text; long texts sentence by sentence, with line breaks kept.

        Args:
            text: the text to translate, in the model's source language.
            model_ref: the language pair's model as the dropdown lists it; empty: English to German.
        """
        text = clip_text(text, limits.max_text_chars)
        loaded, note = studio.load(TASK, model_ref, load)
        if note:
            gr.Info(note)
        return predict_on_device(loaded.ref, text)

    gr.Markdown(DESCRIPTION)
    with gr.Row(equal_height=False):
        with gr.Column():
            text = gr.Textbox(label="Text", lines=6, placeholder="Type or paste text to translate…")
            button = gr.Button("Translate", variant="primary")
            model, status = model_controls(studio, TASK, load)
        with gr.Column():
            translation = gr.Textbox(label="Translation", lines=6, buttons=["copy"], interactive=False)
    gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[text])

    run = button.click(translate, [text, model], translation, api_name="translate")
    refresh_status(run, studio, TASK, model, status)
