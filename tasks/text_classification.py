"""Text classification: a score for every label a sequence-classification model knows."""

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

TASK = "text_classification"
TITLE = "Text classification"
DESCRIPTION = "Sort text into a model's labels (sentiment, emotion, your own fine-tuned classes) with a score for each."
EXAMPLES = [
    "This movie was a delight from the first scene to the last.",
    "The battery died after two days and support never answered my emails.",
    "I can't believe they cancelled the show, I'm so angry right now!",
]


@dataclass
class TextClassifier:
    model: Any
    tokenizer: Any
    device: str
    max_length: int
    multi_label: bool
    batcher: MicroBatcher | None = None


def load(model_ref: str, device: str) -> TextClassifier:
    """A sequence-classification model and its tokenizer, ready for inference on `device`."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from studio.device import inference_dtype

    tokenizer = from_pretrained(AutoTokenizer, model_ref)
    model = from_pretrained(AutoModelForSequenceClassification, model_ref, dtype=inference_dtype(device))
    model.to(device).eval()
    classifier = TextClassifier(
        model=model,
        tokenizer=tokenizer,
        device=device,
        max_length=_max_length(tokenizer, model),
        multi_label=model.config.problem_type == "multi_label_classification",
    )
    classifier.batcher = MicroBatcher(lambda texts: predict(classifier, texts), max_batch_size=MAX_BATCH_SIZE)
    return classifier


def predict(classifier: TextClassifier, texts: list[str]) -> list[dict[str, float]]:
    """For each text, every label with its score, highest first."""
    if not texts:
        return []
    return postprocess(classifier, forward(classifier, preprocess(classifier, texts)))


def preprocess(classifier: TextClassifier, texts: list[str]) -> Any:
    return classifier.tokenizer(
        [encodable(text) for text in texts],
        truncation=True,
        max_length=classifier.max_length,
        padding=True,
        return_tensors="pt",
    )


def forward(classifier: TextClassifier, batch: Any) -> Any:
    import torch

    # Texts of similar length run together, so a short text is not computed at a long one's padded length.
    logits = None
    with torch.inference_mode():
        for group, inputs in length_grouped(batch, classifier.tokenizer.padding_side):
            inputs = {k: v.to(classifier.device) for k, v in inputs.items()}
            group_logits = classifier.model(**inputs).logits.float().cpu()
            if logits is None:
                logits = torch.empty(len(batch["input_ids"]), group_logits.shape[-1])
            logits[group] = group_logits
    return logits


def postprocess(classifier: TextClassifier, logits: Any) -> list[dict[str, float]]:
    scores = logits.sigmoid() if classifier.multi_label else logits.softmax(dim=-1)
    id2label = classifier.model.config.id2label
    results = []
    for row in scores.tolist():
        ranked = sorted(enumerate(row), key=lambda item: item[1], reverse=True)
        results.append({str(id2label.get(i, f"LABEL_{i}")): round(score, 6) for i, score in ranked})
    return results


def is_truncated(classifier: TextClassifier, text: str) -> bool:
    # A text shorter in characters than the limit cannot be longer in tokens: skip tokenizing it twice.
    if len(text) < classifier.max_length - 2:
        return False
    return len(classifier.tokenizer(text, truncation=False)["input_ids"]) > classifier.max_length


def _max_length(tokenizer: Any, model: Any) -> int:
    # Some tokenizers report a sentinel of 1e30 for "no limit"; the position embeddings are the real one.
    limits = [tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512)]
    if getattr(model.config, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
        limits.append(model.config.max_position_embeddings - 2)
    return int(min(limit for limit in limits if limit and limit > 0))


def build_tab(studio: Studio) -> gr.Dropdown:
    """The Text classification tab; returns its model dropdown, which the Fine-tune tab adds models to."""
    limits = studio.config.limits
    predict_on_device = predict_on_gpu(studio, TASK, load, predict)

    @user_errors("classifying the text")
    def classify_text(text: str, model_ref: str | None = None) -> dict[str, float]:
        """Classify a text: every label of the model with its confidence, highest first.

        Args:
            text: the text to classify (English for the default sentiment model).
            model_ref: a model the dropdown lists (its label or reference) or a fine-tuned run's name; empty: default.
        """
        text = clip_text(text, limits.max_text_chars)
        loaded, note = studio.load(TASK, model_ref, load)
        if note:
            gr.Info(note)
        if is_truncated(loaded.model, text):
            gr.Warning(
                f"The text is longer than this model reads ({loaded.model.max_length} tokens); "
                "only its beginning was classified."
            )
        if zero_gpu():  # ZeroGPU lends the GPU call by call, so requests are not batched together there
            return predict_on_device(loaded.ref, [text])[0]
        return loaded.model.batcher(text)

    gr.Markdown(DESCRIPTION)
    with gr.Row(equal_height=False):
        with gr.Column():
            text = gr.Textbox(label="Text", lines=6, placeholder="Type or paste text to classify…")
            button = gr.Button("Classify", variant="primary")
            model, status = model_controls(studio, TASK, load)
        with gr.Column():
            labels = gr.Label(label="Labels", num_top_classes=10)
    gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[text])

    # One event for the button and Enter, so both share the batched concurrency limit and the API name.
    run = gr.on(
        [button.click, text.submit],
        classify_text,
        [text, model],
        labels,
        api_name="classify_text",
        concurrency_limit=MAX_BATCH_SIZE,
    )
    refresh_status(run, studio, TASK, model, status)
    return model
