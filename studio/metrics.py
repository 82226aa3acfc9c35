"""Every score the app reports, one code path each: the Fine-tune tab's report and batch evaluation both call these.

Classification (accuracy, precision/recall/F1, the confusion matrix and its picture, the mistakes), entities
(seqeval's strict entity-level scores), translation (chrF, BLEU) and speech (WER, CER).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from studio.errors import UserError
from studio.files.tables import natural_order
from studio.i18n import say

MISTAKES_SHOWN = 10


def classification_metrics(references: list[int], predictions: list[int], label_names: list[str]) -> dict:
    """Accuracy; macro, weighted and micro precision/recall/F1; per-class scores; the confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(label_names)))
    metrics: dict = {"accuracy": round(float(accuracy_score(references, predictions)), 5)}
    for average in ("macro", "weighted", "micro"):
        p, r, f, _ = precision_recall_fscore_support(
            references, predictions, labels=labels, average=average, zero_division=0
        )
        metrics[average] = {"precision": round(float(p), 5), "recall": round(float(r), 5), "f1": round(float(f), 5)}
    p, r, f, support = precision_recall_fscore_support(
        references, predictions, labels=labels, average=None, zero_division=0
    )
    metrics["per_class"] = {
        name: {
            "precision": round(float(p[i]), 5),
            "recall": round(float(r[i]), 5),
            "f1": round(float(f[i]), 5),
            "support": int(support[i]),
        }
        for i, name in enumerate(label_names)
    }
    metrics["confusion_matrix"] = confusion_matrix(references, predictions, labels=labels).tolist()
    metrics["labels"] = list(label_names)
    metrics["validation_rows"] = len(references)
    return metrics


def precision_recall_f1(tp: int, fp: int, fn: int) -> dict:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5)}


def multi_label_scores(predicted: list[list[bool]], truth: list[list[bool]], label_names: list[str]) -> dict:
    """Texts with several labels each, as rows of yes/no per label: micro and macro F1, per-label precision, recall
    and F1, subset accuracy (every label of a text right), and a label-by-label matrix (rows: a true label, columns:
    the labels predicted for those texts) drawn where a single-label run draws its confusion matrix."""
    per_class, totals = {}, [0, 0, 0]
    for j, name in enumerate(label_names):
        tp = sum(p[j] and t[j] for p, t in zip(predicted, truth))
        fp = sum(p[j] and not t[j] for p, t in zip(predicted, truth))
        fn = sum(t[j] and not p[j] for p, t in zip(predicted, truth))
        per_class[name] = {**precision_recall_f1(tp, fp, fn), "support": sum(t[j] for t in truth)}
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
    micro = precision_recall_f1(*totals)
    macro = {
        key: _round(sum(m[key] for m in per_class.values()) / max(1, len(per_class)))
        for key in ("precision", "recall", "f1")
    }
    matrix = [
        [sum(t[i] and p[j] for p, t in zip(predicted, truth)) for j in range(len(label_names))]
        for i in range(len(label_names))
    ]
    return {
        "multi_label": True,
        "f1_micro": micro["f1"],
        "f1_macro": macro["f1"],
        "subset_accuracy": _round(sum(p == t for p, t in zip(predicted, truth)) / max(1, len(truth))),
        "micro": micro,
        "macro": macro,
        "per_class": per_class,
        "labels": list(label_names),
        "confusion_matrix": matrix,
    }


def multi_label_report(
    references: list[list[str]], predictions: list[list[str]], texts: list[str], model_labels: list[str] | None
) -> dict:
    """A batch run of a multi-label model scored against label sets: multi_label_scores over every label either
    side names, the texts whose set was wrong (first MISTAKES_SHOWN), and the labels the model never answers."""
    labels = natural_order({label for row in references + predictions for label in row})
    as_rows = lambda sets: [[label in chosen for label in labels] for chosen in map(set, sets)]  # noqa: E731
    scores = multi_label_scores(as_rows(predictions), as_rows(references), labels)
    mistakes = [
        {"text": text if len(text) <= 300 else text[:299] + "…", "true": ";".join(ref), "predicted": ";".join(pred)}
        for text, ref, pred in zip(texts, references, predictions)
        if set(ref) != set(pred)
    ]
    answerable = set(model_labels) if model_labels is not None else {label for row in predictions for label in row}
    unknown = [label for label in labels if label not in answerable and any(label in row for row in references)]
    return {
        "precision_micro": scores["micro"]["precision"],
        "recall_micro": scores["micro"]["recall"],
        **scores,
        "mistakes": mistakes[:MISTAKES_SHOWN],
        "unknown_labels": unknown,
    }


def misclassified(
    texts: list[str], references: list[int], predictions: list[int], label_names: list[str], limit: int = 10
) -> list[dict]:
    """A few validation examples the model got wrong (texts, or images' names), with the true and predicted labels."""
    wrong = [
        {
            "text": text if len(text) <= 300 else text[:299] + "…",
            "true": label_names[ref],
            "predicted": label_names[pred],
        }
        for text, ref, pred in zip(texts, references, predictions)
        if ref != pred
    ]
    return wrong[:limit]


def plot_confusion_matrix(
    matrix: list[list[int]], label_names: list[str], path: str, title: str = "Confusion matrix (validation)"
) -> str:
    """Save the confusion matrix as a PNG picture; rows are true labels, columns predictions. Its words (the title,
    a text of the translation table, and the axes) are in the request's language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(4.0, 0.6 * len(label_names) + 2.5)
    plt.rcParams["font.family"] = ["DejaVu Sans", *_chinese_fonts()]  # Chinese labels, where a font has them
    fig, ax = plt.subplots(figsize=(size, size * 0.85), dpi=110)
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(label_names)), label_names, rotation=45, ha="right")
    ax.set_yticks(range(len(label_names)), label_names)
    ax.set_xlabel(say("Predicted"))
    ax.set_ylabel(say("True"))
    ax.set_title(say(title))
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# Fonts with Chinese characters, as Debian (fonts-wqy-microhei, fonts-noto-cjk), macOS and Windows install them:
# matplotlib's own DejaVu Sans has none, and draws Chinese labels as empty boxes.
CHINESE_FONTS = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "PingFang SC",
    "Microsoft YaHei",
    "SimHei",
)
CHINESE_FONT_FILES = ("wqy-", "notosanscjk", "sourcehansans")


@functools.cache
def _chinese_fonts() -> list[str]:
    """The CHINESE_FONTS installed here, for matplotlib to fall back on glyph by glyph."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    if not installed & set(CHINESE_FONTS):  # matplotlib's font cache may predate the font's installation
        for path in font_manager.findSystemFonts():
            if any(mark in Path(path).name.lower() for mark in CHINESE_FONT_FILES):
                font_manager.fontManager.addfont(path)
        installed = {font.name for font in font_manager.fontManager.ttflist}
    return [name for name in CHINESE_FONTS if name in installed]


def entity_metrics(true: list[list[str]], predicted: list[list[str]], types: list[str]) -> dict:
    """seqeval's strict entity scores (exact span and type) per type, micro and macro; word accuracy; a word-level
    confusion matrix of types with O."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    report = classification_report(true, predicted, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    micro, macro = report["micro avg"], report["macro avg"]
    words = sum(len(sentence) for sentence in true)
    correct = sum(t == p for ts, ps in zip(true, predicted) for t, p in zip(ts, ps))
    kinds = types or sorted({tag[2:] for sentence in true for tag in sentence if tag != "O"})
    labels = ["O", *kinds]
    index = {kind: i for i, kind in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for ts, ps in zip(true, predicted):
        for t, p in zip(ts, ps):
            matrix[index.get(t[2:] or "O", 0)][index.get(p[2:] or "O", 0)] += 1
    return {
        "precision": _round(micro["precision"]),
        "recall": _round(micro["recall"]),
        "f1": _round(micro["f1-score"]),
        "macro": {
            "precision": _round(macro["precision"]),
            "recall": _round(macro["recall"]),
            "f1": _round(macro["f1-score"]),
        },
        "per_type": {
            kind: {
                "precision": _round(report.get(kind, {}).get("precision", 0.0)),
                "recall": _round(report.get(kind, {}).get("recall", 0.0)),
                "f1": _round(report.get(kind, {}).get("f1-score", 0.0)),
                "support": int(report.get(kind, {}).get("support", 0)),
            }
            for kind in kinds
        },
        "token_accuracy": _round(correct / max(1, words)),
        "labels": list(kinds),
        "confusion_matrix": matrix,
        "confusion_labels": labels,
        "validation_rows": len(true),
    }


def _round(value: float) -> float:
    return round(float(value), 5)


def classification_report(
    references: list[str],
    predictions: list[str],
    texts: list[str],
    scores: list[float] | None = None,
    model_labels: list[str] | None = None,
) -> dict:
    """Accuracy, precision/recall/F1 macro, weighted and per class, the confusion matrix and the worst mistakes
    (the most confident wrong answers), computed as the Fine-tune tab's report computes them."""
    labels = natural_order(set(references) | set(predictions))
    index = {label: i for i, label in enumerate(labels)}
    refs = [index[r] for r in references]
    preds = [index[p] for p in predictions]
    metrics = classification_metrics(refs, preds, labels)
    metrics.pop("validation_rows")
    order = sorted(range(len(refs)), key=lambda i: -(scores[i] if scores else 0.0))
    metrics["mistakes"] = misclassified(
        [texts[i] for i in order], [refs[i] for i in order], [preds[i] for i in order], labels, limit=MISTAKES_SHOWN
    )
    if scores:
        wrong = [i for i in order if refs[i] != preds[i]][:MISTAKES_SHOWN]
        for mistake, i in zip(metrics["mistakes"], wrong):
            mistake["score"] = round(scores[i], 4)
    answerable = set(model_labels if model_labels is not None else predictions)
    unknown = [label for label in natural_order(set(references)) if label not in answerable]
    return {
        "accuracy": metrics["accuracy"],
        "precision_macro": metrics["macro"]["precision"],
        "recall_macro": metrics["macro"]["recall"],
        "f1_macro": metrics["macro"]["f1"],
        "f1_weighted": metrics["weighted"]["f1"],
        **metrics,
        "unknown_labels": unknown,
    }


def translation_report(references: list[str], hypotheses: list[str]) -> dict:
    """Corpus chrF and BLEU (sacrebleu's defaults: chrF with character 6-grams and beta 2, BLEU 13a)."""
    import sacrebleu

    chrf_metric, bleu_metric = sacrebleu.CHRF(), sacrebleu.BLEU()
    chrf = chrf_metric.corpus_score(hypotheses, [references])
    bleu = bleu_metric.corpus_score(hypotheses, [references])
    worst = sorted(range(len(references)), key=lambda i: sacrebleu.sentence_chrf(hypotheses[i], [references[i]]).score)[
        :MISTAKES_SHOWN
    ]
    return {
        "chrf": round(chrf.score, 3),
        "bleu": round(bleu.score, 3),
        "chrf_signature": str(chrf_metric.get_signature()),
        "bleu_signature": str(bleu_metric.get_signature()),
        "mistakes": [{"translation": hypotheses[i], "reference": references[i]} for i in worst],
    }


def speech_report(references: list[str], transcripts: list[str], files: list[str]) -> dict:
    """Corpus WER and CER (jiwer) after Whisper's English text normaliser, which both sides go through, so
    "Mr." and "mister", "10" and "ten", or a comma do not count as errors; with the recordings worst first."""
    import jiwer
    from whisper.normalizers import EnglishTextNormalizer

    normalise = EnglishTextNormalizer()
    pairs = [(normalise(r), normalise(t or ""), f) for r, t, f in zip(references, transcripts, files)]
    pairs = [(r, t, f) for r, t, f in pairs if r.strip()]
    if not pairs:
        raise UserError("Every reference transcript is empty after normalising; give the words that are spoken.")
    refs, hyps = [r for r, _, _ in pairs], [t for _, t, _ in pairs]
    per_file = [(jiwer.wer(r, t) if t.strip() else 1.0, r, t, f) for r, t, f in pairs]
    worst = sorted(per_file, key=lambda item: -item[0])[:MISTAKES_SHOWN]
    return {
        "wer": round(jiwer.wer(refs, hyps), 4),
        "cer": round(jiwer.cer(refs, hyps), 4),
        "normaliser": "whisper.normalizers.EnglishTextNormalizer",
        "mistakes": [{"file": f, "wer": round(w, 4), "reference": r, "transcript": t} for w, r, t, f in worst if w > 0],
    }


def word_tags(words: list[str], entities: list[dict], mapping: dict[str, str] | None = None) -> list[str]:
    """IOB2 tags of the words (joined by single spaces into the text the model read) from its entity spans."""
    mapping = mapping or {}
    starts, position = [], 0
    for word in words:
        starts.append(position)
        position += len(word) + 1
    tags = ["O"] * len(words)
    for entity in sorted(entities, key=lambda e: e["start"]):
        kind = mapping.get(entity["entity_group"], entity["entity_group"])
        inside = [
            i for i, start in enumerate(starts) if start < entity["end"] and start + len(words[i]) > entity["start"]
        ]
        inside = [i for i in inside if tags[i] == "O"]
        for n, i in enumerate(inside):
            tags[i] = ("B-" if n == 0 else "I-") + kind
    return tags


def span_tags(length: int, entities: list[dict], mapping: dict[str, str] | None = None) -> list[str]:
    """IOB2 tags of a text's characters from its entity spans (Chinese is scored character by character)."""
    mapping = mapping or {}
    tags = ["O"] * length
    for entity in sorted(entities, key=lambda e: e["start"]):
        kind = mapping.get(entity["entity_group"], entity["entity_group"])
        inside = [i for i in range(entity["start"], min(entity["end"], length)) if tags[i] == "O"]
        for n, i in enumerate(inside):
            tags[i] = ("B-" if n == 0 else "I-") + kind
    return tags


def entity_report(
    words: list[list[str]],
    true_tags: list[list[str]],
    entities: list[list[dict]],
    mapping: dict[str, str] | None = None,
    model_types: list[str] | None = None,
) -> dict:
    """seqeval's strict entity-level precision/recall/F1, micro, macro and per type (the Fine-tune tab's scores),
    with the model's entities turned into tags of the file's words."""
    predicted = [word_tags(w, e, mapping) for w, e in zip(words, entities)]
    types = sorted({tag[2:] for sentence in true_tags for tag in sentence if tag != "O"})
    metrics = entity_metrics(true_tags, predicted, types)
    metrics.pop("validation_rows")
    answerable = set(model_types) if model_types is not None else {t[2:] for s in predicted for t in s if t != "O"}
    metrics["unknown_labels"] = [kind for kind in types if kind not in answerable]
    metrics["mistakes"] = [
        {"sentence": " ".join(w), "true": " ".join(t), "predicted": " ".join(p)}
        for w, t, p in zip(words, true_tags, predicted)
        if t != p
    ][:MISTAKES_SHOWN]
    return metrics


def evaluate(
    family: str,
    references: list[Any],
    predictions: list[Any],
    texts: list[str],
    scores: list[float] | None = None,
    model_labels: list[str] | None = None,
) -> dict:
    """One family's metrics over rows that have a reference and a prediction."""
    if family == "classification":
        return classification_report(references, predictions, texts, scores, model_labels)
    if family == "translation":
        return translation_report(references, predictions)
    if family == "speech":
        return speech_report(references, predictions, texts)
    raise UserError("Scoring '{family}' is not supported yet; run the file without a reference column.", family=family)
