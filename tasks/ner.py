"""Named entities: people, organisations, places and more, found in the user's text with their offsets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from studio.batching import MAX_BATCH_SIZE, MicroBatcher, length_grouped
from studio.errors import encodable
from studio.gpu import predict_on_gpu, zero_gpu
from studio.hf import from_pretrained
from studio.runtime import Studio
from studio.ui import clip_text, model_controls, refresh_status, user_errors

TASK = "ner"
TITLE = "Named entities"
DESCRIPTION = "Find the people, organisations, places and other names in a text, each with its position and a score."
EXAMPLES = [
    "Angela Merkel met Emmanuel Macron in Berlin to talk about the future of the European Union.",
    "Apple is opening a new office in London next year, Tim Cook told reporters on Tuesday.",
]
# Long texts are read in overlapping windows so every token sees context on both sides.
WINDOW_STRIDE = 64


@dataclass
class EntityRecognizer:
    model: Any
    tokenizer: Any
    device: str
    max_length: int
    batcher: MicroBatcher | None = None


def load(model_ref: str, device: str) -> EntityRecognizer:
    """A token-classification model and its (fast, offset-giving) tokenizer."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from studio.device import inference_dtype
    from studio.errors import UserError

    tokenizer = from_pretrained(AutoTokenizer, model_ref)
    if not tokenizer.is_fast:
        raise UserError(f"'{model_ref}' has no fast tokenizer, which entity offsets need; choose another model.")
    model = from_pretrained(AutoModelForTokenClassification, model_ref, dtype=inference_dtype(device))
    model.to(device).eval()
    max_length = min(tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512), 512)
    recognizer = EntityRecognizer(model, tokenizer, device, int(max_length))
    recognizer.batcher = MicroBatcher(lambda texts: predict(recognizer, texts), max_batch_size=MAX_BATCH_SIZE)
    return recognizer


def predict(recognizer: EntityRecognizer, texts: list[str]) -> list[list[dict]]:
    """For each text, its entities as {entity_group, word, start, end, score}, words merged as in
    transformers' `aggregation_strategy="simple"`, offsets indexing the original text."""
    if not texts:
        return []
    batch, windows = preprocess(recognizer, texts)
    scores = forward(recognizer, batch)
    return postprocess(recognizer, texts, windows, scores)


def preprocess(recognizer: EntityRecognizer, texts: list[str]) -> tuple[Any, list[dict]]:
    encoded = recognizer.tokenizer(
        [encodable(text) for text in texts],  # one for one, so offsets still index `texts`
        truncation=True,
        max_length=recognizer.max_length,
        stride=WINDOW_STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=True,
        return_tensors="pt",
    )
    windows = []
    previous = -1
    for i, text_index in enumerate(encoded["overflow_to_sample_mapping"].tolist()):
        first_window = text_index != previous
        windows.append(
            {
                "text_index": text_index,
                "offsets": encoded["offset_mapping"][i].tolist(),
                "word_ids": encoded.word_ids(i),
                "skip": 0 if first_window else WINDOW_STRIDE,
            }
        )
        previous = text_index
    model_inputs = {k: v for k, v in encoded.items() if k in {"input_ids", "attention_mask", "token_type_ids"}}
    return model_inputs, windows


def forward(recognizer: EntityRecognizer, batch: dict, windows_per_step: int = 16) -> Any:
    import torch

    # Windows go through in small groups so a long text cannot exhaust memory, and windows of similar length
    # go together, each group cut to its longest, so that a short text is not computed at a long one's length.
    count, width = batch["input_ids"].shape
    scores = None
    with torch.inference_mode():
        for group, inputs in length_grouped(batch, recognizer.tokenizer.padding_side, max_size=windows_per_step):
            inputs = {k: v.to(recognizer.device) for k, v in inputs.items()}
            probabilities = recognizer.model(**inputs).logits.float().softmax(dim=-1).cpu()
            if scores is None:
                scores = torch.zeros(count, width, probabilities.shape[-1])
            scores[group, : probabilities.shape[1]] = probabilities
    return scores


def postprocess(recognizer: EntityRecognizer, texts: list[str], windows: list[dict], scores: Any) -> list[list[dict]]:
    id2label = recognizer.model.config.id2label
    tokens_per_text: list[list[dict]] = [[] for _ in texts]
    for window, window_scores in zip(windows, scores):
        content = [i for i, word in enumerate(window["word_ids"]) if word is not None]
        for position in content[window["skip"] :]:
            start, end = window["offsets"][position]
            probs = window_scores[position]
            best = int(probs.argmax())
            tokens_per_text[window["text_index"]].append(
                {"label": id2label[best], "score": float(probs[best]), "start": start, "end": end}
            )
    return [_group_entities(text, tokens) for text, tokens in zip(texts, tokens_per_text)]


def _group_entities(text: str, tokens: list[dict]) -> list[dict]:
    """Merge adjacent tokens of one entity type; a B- tag always starts a new entity."""
    groups: list[list[dict]] = []
    for token in tokens:
        prefix, kind = _split_tag(token["label"])
        if groups and kind == groups[-1][-1]["kind"] and prefix != "B":
            groups[-1].append({**token, "kind": kind})
        else:
            groups.append([{**token, "kind": kind}])
    entities = []
    for group in groups:
        kind = group[0]["kind"]
        if kind == "O":
            continue
        start, end = group[0]["start"], group[-1]["end"]
        entities.append(
            {
                "entity_group": kind,
                "word": text[start:end],
                "start": start,
                "end": end,
                "score": round(sum(t["score"] for t in group) / len(group), 6),
            }
        )
    return entities


def _split_tag(label: str) -> tuple[str, str]:
    if label.startswith(("B-", "I-")):
        return label[0], label[2:]
    return "I", label


def highlight(text: str, entities: list[dict]) -> list[tuple[str, str | None]]:
    """Text pieces with their entity type, for gr.HighlightedText."""
    pieces: list[tuple[str, str | None]] = []
    cursor = 0
    for entity in entities:
        if entity["start"] > cursor:
            pieces.append((text[cursor : entity["start"]], None))
        pieces.append((text[entity["start"] : entity["end"]], entity["entity_group"]))
        cursor = entity["end"]
    if cursor < len(text):
        pieces.append((text[cursor:], None))
    return pieces


def build_tab(studio: Studio) -> None:
    """The Named entities tab."""
    limits = studio.config.limits
    predict_on_device = predict_on_gpu(studio, TASK, load, predict)

    @user_errors("finding entities")
    def recognize_entities(text: str, model_ref: str | None = None) -> tuple[list, list[dict]]:
        """Find the people, organisations, places and other names in a text.

        Args:
            text: the text to search.
            model_ref: a model the dropdown lists (its label or reference); empty: the default.
        Returns:
            the text in pieces, each with its entity type or none; the entities with their character offsets.
        """
        # The text comes back in the answer, which must be valid UTF-8: lone surrogates become U+FFFD.
        text = clip_text(text, limits.max_text_chars)
        loaded, note = studio.load(TASK, model_ref, load)
        if note:
            gr.Info(note)
        # ZeroGPU lends the GPU call by call, so requests are not batched together there.
        entities = predict_on_device(loaded.ref, [text])[0] if zero_gpu() else loaded.model.batcher(text)
        return highlight(text, entities), entities

    gr.Markdown(DESCRIPTION)
    with gr.Row(equal_height=False):
        with gr.Column():
            text = gr.Textbox(label="Text", lines=6, placeholder="Type or paste text to search for names…")
            button = gr.Button("Find entities", variant="primary")
            model, status = model_controls(studio, TASK, load)
        with gr.Column():
            highlighted = gr.HighlightedText(label="Entities", combine_adjacent=False, show_legend=True)
            as_json = gr.JSON(label="Entities as JSON")
    gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[text])

    # One event for the button and Enter, so both share the batched concurrency limit and the API name.
    run = gr.on(
        [button.click, text.submit],
        recognize_entities,
        [text, model],
        [highlighted, as_json],
        api_name="recognize_entities",
        concurrency_limit=MAX_BATCH_SIZE,
    )
    refresh_status(run, studio, TASK, model, status)
