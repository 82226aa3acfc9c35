"""Text classification: a score for every label a sequence-classification model knows, or for labels you name.

A sentence encoder (the offline pack's MiniLM-L6, which stands in when the default model cannot be had) has no
labels of its own: it classifies zero-shot as positive or negative, so the tab answers offline too. The pack's
multilingual-e5-small answers Chinese text offline, with a small positive/negative head trained on its embeddings
(assets/zh_sentiment_head.json, made by bench/chinese.py).

Chinese text sent to the default model goes to the task's `chinese` model instead (models.toml); a model picked on
purpose answers, with a warning when it reads only English.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio import onnx_models, pack
from studio.batching import MAX_BATCH_SIZE, MicroBatcher, length_grouped
from studio.errors import UserError, encodable
from studio.files.tables import LABEL_SEPARATOR
from studio.gpu import predict_on_gpu, zero_gpu
from studio.hf import from_pretrained, token_limit
from studio.i18n import inform, say, ui, warn
from studio.languages import is_chinese
from studio.runs import ENCODER_HEAD_FILE
from studio.runtime import Studio
from tasks import zero_shot

if TYPE_CHECKING:
    import gradio as gr

TASK = "text_classification"
TITLE = "Text classification"
DESCRIPTION = (
    "Sort text into a model's labels (sentiment, emotion, your own fine-tuned classes) or into labels you name, "
    "with a score for each."
)
EXAMPLES = [
    "This movie was a delight from the first scene to the last.",
    "The battery died after two days and support never answered my emails.",
    "I can't believe they cancelled the show, I'm so angry right now!",
]
ZERO_SHOT_EXAMPLES = [
    ["The striker scored twice in the last ten minutes to win the cup final.", "sport, cooking, finance"],
    ["Whisk the eggs with the sugar, then fold in the flour and bake for twenty minutes.", "sport, cooking, finance"],
    ["The new phone has a brighter screen, but the battery drains by lunchtime.", "screen, battery, price, camera"],
]
ZERO_SHOT_NOTE = (
    "With **Your labels** the text is scored against labels you name, with no training. Online a "
    "natural-language-inference model does it; offline the pack's MiniLM-L6 compares sentence embeddings, "
    "an approximation: a model fine-tuned on a few hundred labelled texts (the **Fine-tune** tab) does better."
)
# What a sentence encoder answers when it stands in for a sentiment model. bench/zero_shot.py chose the template
# (the most accurate on positive/negative sentences) and the temperature (the lowest log-loss with it).
SENTIMENT_LABELS = ("positive", "negative")
SENTIMENT_TEMPLATE = "The sentiment of this text is {}."
SENTIMENT_TEMPERATURE = 0.02
# A logistic regression on multilingual-e5-small's embeddings of Chinese reviews: what the pack's multilingual
# encoder answers as a sentiment model (bench/chinese.py made it and measures it).
CHINESE_HEAD = Path(__file__).resolve().parent.parent / "assets" / "zh_sentiment_head.json"


# A multi-label model's own threshold: fine-tuning folds each label's tuned threshold into the model so it is 0.5
# (finetune/multilabel.py).
MULTI_LABEL_THRESHOLD = 0.5


@dataclass
class TextClassifier:
    model: Any
    tokenizer: Any
    device: str
    max_length: int
    multi_label: bool
    batcher: MicroBatcher | None = None


@dataclass
class EncoderHead:
    """A sentence encoder with a linear head: the texts' embeddings, weighed into labels."""

    encoder: zero_shot.ZeroShotClassifier
    labels: tuple[str, ...]
    weights: Any  # labels x dimensions
    bias: Any
    max_length: int
    batcher: MicroBatcher | None = None


def load(model_ref: str, device: str) -> TextClassifier | zero_shot.ZeroShotClassifier:
    """A sequence-classification model and its tokenizer, ready for inference on `device`; a sentence encoder
    becomes a zero-shot positive/negative classifier, and a folder with model.onnx runs in ONNX Runtime."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from studio.device import inference_dtype

    head_file = Path(model_ref) / ENCODER_HEAD_FILE
    if zero_shot.is_multilingual_pack(model_ref) or head_file.is_file():
        # The pack's Chinese sentiment head, or a head fine-tuned on the frozen encoder (finetune/text.py).
        path = CHINESE_HEAD if zero_shot.is_multilingual_pack(model_ref) else head_file
        encoder_ref = json.loads(path.read_text(encoding="utf-8")).get("encoder", model_ref)
        head = load_head(zero_shot.load(encoder_ref, device), path)
        head.batcher = MicroBatcher(lambda texts: predict(head, texts), max_batch_size=MAX_BATCH_SIZE)
        return head
    if zero_shot.is_sentence_encoder(model_ref):
        encoder = zero_shot.load(model_ref, device)
        # The tab's batcher takes plain texts, whichever kind of model serves them.
        encoder.batcher = MicroBatcher(lambda texts: predict(encoder, texts), max_batch_size=MAX_BATCH_SIZE)
        return encoder

    tokenizer = from_pretrained(AutoTokenizer, model_ref)
    if onnx_models.is_onnx_folder(model_ref):  # a fine-tuned run's faster CPU copy (finetune/optimise.py)
        model, device = onnx_models.load(model_ref), "cpu"
    else:
        model = from_pretrained(AutoModelForSequenceClassification, model_ref, dtype=inference_dtype(device))
        model.to(device).eval()
    classifier = TextClassifier(
        model=model,
        tokenizer=tokenizer,
        device=device,
        max_length=token_limit(tokenizer, model.config),
        multi_label=model.config.problem_type == "multi_label_classification",
    )
    classifier.batcher = MicroBatcher(lambda texts: predict(classifier, texts), max_batch_size=MAX_BATCH_SIZE)
    return classifier


def load_head(encoder: zero_shot.ZeroShotClassifier, path: Path) -> EncoderHead:
    """The encoder with the linear head saved at `path` ({"labels", "weights", "bias"})."""
    import torch

    saved = json.loads(path.read_text(encoding="utf-8"))
    weights = torch.tensor(saved["weights"], dtype=torch.float32)
    bias = torch.tensor(saved["bias"], dtype=torch.float32)
    return EncoderHead(encoder, tuple(saved["labels"]), weights, bias, encoder.max_length)


Classifier = TextClassifier | zero_shot.ZeroShotClassifier | EncoderHead


def predict(classifier: Classifier, texts: list[str]) -> list[dict[str, float]]:
    """For each text, every label with its score, highest first."""
    if not texts:
        return []
    if isinstance(classifier, EncoderHead):
        logits = zero_shot.embed(classifier.encoder, texts) @ classifier.weights.T + classifier.bias
        return [zero_shot.ranked(dict(zip(classifier.labels, row))) for row in logits.softmax(-1).tolist()]
    if isinstance(classifier, zero_shot.ZeroShotClassifier):
        return zero_shot.predict(
            classifier, texts, SENTIMENT_LABELS, template=SENTIMENT_TEMPLATE, temperature=SENTIMENT_TEMPERATURE
        )
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


def is_truncated(classifier: Classifier, text: str) -> bool:
    if isinstance(classifier, EncoderHead):
        return zero_shot.is_truncated(classifier.encoder, text)
    if isinstance(classifier, zero_shot.ZeroShotClassifier):
        return zero_shot.is_truncated(classifier, text)
    # A text shorter in characters than the limit cannot be longer in tokens: skip tokenizing it twice.
    if len(text) < classifier.max_length - 2:
        return False
    return len(classifier.tokenizer(text, truncation=False)["input_ids"]) > classifier.max_length


def batch_predict(classifier: Classifier, texts: list[str], limits: Any = None) -> list[dict]:
    """For each text, the top label and its score: the fields a batch run adds to each row. A multi-label model
    gives every label scored 0.5 or more, joined by ";" (none: empty), and the top label's score."""
    several = is_multi_label(classifier)
    results = []
    for scores in predict(classifier, texts):
        label = next(iter(scores))
        if several:
            label = LABEL_SEPARATOR.join(name for name, score in scores.items() if score >= MULTI_LABEL_THRESHOLD)
        results.append({"prediction": label, "score": max(scores.values())})
    return results


def is_multi_label(classifier: Classifier) -> bool:
    """Whether the model judges each label on its own (a sigmoid per label), so a text can have several."""
    return getattr(classifier, "multi_label", False)


def model_labels(classifier: Classifier) -> list[str]:
    """Every label the model can answer."""
    if isinstance(classifier, EncoderHead):
        return list(classifier.labels)
    if isinstance(classifier, zero_shot.ZeroShotClassifier):
        return list(SENTIMENT_LABELS)
    id2label = classifier.model.config.id2label
    return [str(id2label[i]) for i in sorted(id2label)]


def build_tab(studio: Studio) -> gr.Dropdown:
    """The Text classification tab; returns its model dropdown, which the Fine-tune tab adds models to."""
    # A module global, not a local: Gradio finds a handler's gr.Request by its annotation, read in these globals.
    global gr
    import gradio as gr

    from studio.ui import clip_text, model_controls, show_status, user_errors

    limits = studio.config.limits
    predict_on_device = predict_on_gpu(studio, TASK, load, predict)
    zero_shot_on_device = predict_on_gpu(studio, zero_shot.TASK, zero_shot.load, zero_shot.predict)
    template = str(studio.task(zero_shot.TASK).options.get("hypothesis_template", zero_shot.DEFAULT_TEMPLATE))

    @user_errors("classifying the text")
    def classify_text(text: str, model_ref: str | None = None) -> dict[str, float]:
        """Classify a text: every label of the model with its confidence, highest first.

        Args:
            text: the text to classify; with the default model, Chinese text goes to a Chinese sentiment model.
            model_ref: a model the dropdown lists (its label or reference) or a fine-tuned run's name; empty: default,
                which routes by the text's language.
        """
        text = clip_text(text, limits.max_text_chars)
        chinese = is_chinese(text)
        loaded, note = studio.load(TASK, studio.route(TASK, model_ref, chinese), load)
        if note:
            inform(note)  # said in the request's language already
        if chinese:
            say_who_read_chinese(studio, TASK, loaded.ref)
        if is_truncated(loaded.model, text):
            warn_truncated(loaded.model.max_length)
        if zero_gpu():  # ZeroGPU lends the GPU call by call, so requests are not batched together there
            return predict_on_device(loaded.ref, [text])[0]
        return loaded.model.batcher(text)

    @user_errors("classifying the text with your labels")
    def classify_text_zero_shot(
        text: str, labels: str, multi_label: bool = False, model_ref: str | None = None
    ) -> dict[str, float]:
        """Classify a text into labels you name (zero-shot, no training): every label with its score, highest first.

        Args:
            text: the text to classify (English, Chinese or another language).
            labels: the labels to choose from, separated by commas (`,` `，` `、`) or new lines, e.g. "sport, cooking,
                finance" or "体育，财经" (at most 100).
            multi_label: score each label on its own, so several can be true (scores need not add up to 1).
            model_ref: a zero-shot model the list offers (its label or reference); empty: the default, which sends
                text or labels that are not English to a multilingual model.
        """
        text = clip_text(text, limits.max_text_chars)
        multi_label = bool(multi_label)
        chosen, repeated = zero_shot.parse_labels(labels, multi_label)
        if repeated:
            listed = ", ".join(f"'{label}'" for label in dict.fromkeys(repeated))
            warn("Labels given more than once were scored once (case is ignored): {listed}.", listed=listed)
        multilingual = zero_shot.needs_multilingual(text, chosen)
        routed = studio.route(zero_shot.TASK, model_ref, multilingual)
        loaded, note = studio.load(zero_shot.TASK, routed, zero_shot.load)
        if note:
            inform(note)  # said in the request's language already
        if multilingual and zero_shot.is_chinese_request(text, chosen):
            say_who_read_chinese(studio, zero_shot.TASK, loaded.ref)
        hypothesis = zero_shot.template_for(chosen, template)
        if zero_shot.is_truncated(loaded.model, text, chosen, hypothesis):
            warn_truncated(loaded.model.max_length)
        if zero_gpu():
            return zero_shot_on_device(loaded.ref, [text], chosen, multi_label, hypothesis)[0]
        return loaded.model.batcher(zero_shot.Request(text, tuple(chosen), multi_label, hypothesis))

    def classify_in_tab(
        text: str, model_ref: str | None, labels: str | None, multi_label: bool, zero_shot_ref: str | None
    ) -> dict[str, float]:
        if (labels or "").strip():
            return classify_text_zero_shot(text, labels, multi_label, zero_shot_ref)
        return classify_text(text, model_ref)

    def served_by(text: str | None, model_ref: str | None, labels: str | None, zero_shot_ref: str | None) -> str:
        # The model that answered, which for Chinese text may not be the one the dropdown shows.
        text = text or ""
        try:
            if (labels or "").strip():
                chosen, _ = zero_shot.parse_labels(labels, multi_label=True)
                multilingual = zero_shot.needs_multilingual(text, chosen)
                return show_status(studio, zero_shot.TASK, studio.route(zero_shot.TASK, zero_shot_ref, multilingual))
            return show_status(studio, TASK, studio.route(TASK, model_ref, is_chinese(text)))
        except UserError:  # the request itself was refused, with its message
            return show_status(studio, TASK, model_ref)

    def labels_given(
        answer: dict[str, float] | None, text: str | None, model_ref: str | None, labels: str | None, several: bool
    ) -> Any:
        """Every label given the text, where each label is judged on its own (a multi-label model, or your labels
        with Multi-label): those scored 0.5 or more."""
        if not (labels or "").strip():
            loaded, _ = studio.loaded(TASK, studio.route(TASK, model_ref, is_chinese(text or "")))
            several = loaded is not None and is_multi_label(loaded.model)
        if not several or not isinstance(answer, dict):
            return gr.update(value="", visible=False)
        chosen = [label for label, score in answer.items() if score >= MULTI_LABEL_THRESHOLD]
        shown = " · ".join(f"**{label}**" for label in chosen) or say("none")
        return gr.update(value=say("Labels given (scored 0.5 or more): {labels}", labels=shown), visible=True)

    gr.Markdown(ui(DESCRIPTION))
    with gr.Row(equal_height=False):
        with gr.Column():
            text = gr.Textbox(label=ui("Text"), lines=6, placeholder=ui("Type or paste text to classify…"))
            with gr.Row(equal_height=True):
                your_labels = gr.Textbox(
                    label=ui("Your labels"),
                    placeholder=ui("e.g. sport, cooking, finance"),
                    info=ui(
                        "Comma-separated; empty: the model's own labels. Zero-shot is an approximation: a "
                        "fine-tuned model does better."
                    ),
                    scale=4,
                )
                multi_label = gr.Checkbox(label=ui("Multi-label"), info=ui("Several can be true"), scale=1)
            button = gr.Button(ui("Classify"), variant="primary")
            model, status = model_controls(studio, TASK, load)
            with gr.Accordion(ui("Zero-shot (your labels)"), open=False):
                zero_shot_model = gr.Dropdown(
                    choices=studio.dropdown_choices(zero_shot.TASK),
                    value=studio.public_name(zero_shot.TASK, studio.task(zero_shot.TASK).default),
                    label=ui("Zero-shot classifier"),
                    interactive=True,
                    allow_custom_value=True,  # checked by Studio.load against the configured choices
                )
                gr.Markdown(ui(ZERO_SHOT_NOTE))
        with gr.Column():
            scores = gr.Label(label=ui("Labels"), num_top_classes=10)
            given = gr.Markdown(visible=False, elem_id="labels-given")
    gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[text])
    gr.Examples(examples=ZERO_SHOT_EXAMPLES, inputs=[text, your_labels], label=ui("Examples with your labels"))

    # The page's one event (the button, Enter in either box) picks the model or zero-shot by whether labels were
    # typed; the API has one endpoint for each, with inputs of its own. All three share one batched concurrency
    # limit, so the page and the API together feed one micro-batcher per model.
    batched = {"concurrency_limit": MAX_BATCH_SIZE, "concurrency_id": TASK}
    run = gr.on(
        [button.click, text.submit, your_labels.submit],
        classify_in_tab,
        [text, model, your_labels, multi_label, zero_shot_model],
        scores,
        api_visibility="private",
        **batched,
    )
    run.then(served_by, [text, model, your_labels, zero_shot_model], status, api_visibility="private").then(
        labels_given, [scores, text, model, your_labels, multi_label], given, api_visibility="private"
    )
    zero_shot_model.change(
        lambda ref: show_status(studio, zero_shot.TASK, ref), zero_shot_model, status, api_visibility="private"
    )
    gr.on([], classify_text, [text, model], scores, api_name="classify_text", **batched)
    gr.on(
        [],
        classify_text_zero_shot,
        [text, your_labels, multi_label, zero_shot_model],
        scores,
        api_name="classify_text_zero_shot",
        **batched,
    )
    return model


def say_who_read_chinese(studio: Studio, task_name: str, served: str) -> None:
    """A warning when a model that reads only English was given Chinese text (or labels)."""
    if studio.english_only(task_name, served):
        labels = {ref: label for label, ref in studio.choices(task_name).items()}
        name = labels.get(served, served)
        if pack.is_pack_ref(served):
            name = pack.PACK_MODELS[pack.pack_name(served)].title
        warn(
            "This is Chinese, but {name} reads English only, so its answer may be wrong. Choose a model that "
            "reads Chinese, or the default, which sends Chinese to one.",
            name=name,
        )


def warn_truncated(max_length: int) -> None:
    warn(
        "The text is longer than this model reads ({max_length} tokens); only its beginning was classified.",
        max_length=max_length,
    )
