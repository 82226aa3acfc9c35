"""Zero-shot with the offline pack's MiniLM-L6: which hypothesis template, and which temperature, on held-out texts.

Two labelled sets: BBC News articles in five topics (business, entertainment, politics, sport, tech) and
positive/negative sentences written for this benchmark (reviews of films, products, restaurants, hotels and
services; none of them is in the tests). Each set is split in half: templates and temperatures are chosen on
the first half and the numbers that decide are the second half's. Accuracy does not depend on the temperature,
so the template is chosen by accuracy and the temperature by log-loss (softmax: one label per text) or, for
multi-label, the sigmoid's centre and temperature by the log-loss of every (text, label) yes/no decision.
Expected calibration error (10 bins) says how far the scores are from the accuracy they claim.

    .venv/bin/python -m bench.zero_shot [--per-topic 60]
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import time
from typing import Any

from bench.common import Table, configure_threads, progress, start_results

NAME = "zero_shot"
TOPICS = ["business", "entertainment", "politics", "sport", "tech"]
SENTIMENT = ["positive", "negative"]
# Templates for any labels a user may type; the default of [zero_shot] hypothesis_template is chosen among these.
GENERAL_TEMPLATES = [
    "This text is about {}.",
    "{}",
    "This example is {}.",
    "This text is {}.",
    "The topic of this text is {}.",
]
# Templates that name one kind of label: measured for comparison, and for the positive/negative stand-in.
SPECIFIC_TEMPLATES = ["The sentiment of this text is {}.", "This is a news article about {}."]
TEMPLATES = GENERAL_TEMPLATES + SPECIFIC_TEMPLATES
TEMPERATURES = [0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15]
CENTRES = [round(0.025 * i, 3) for i in range(0, 17)]
SIGMOID_TEMPERATURES = [0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3]
REFERENCE = "Known reference for this encoder: about 88% on five news topics, 72% on positive/negative movie reviews."

POSITIVE = [
    "An absolute triumph of a film; I was grinning from the opening credits to the end.",
    "The acting is superb and the story kept me hooked all the way through.",
    "I laughed, I cried, and I would happily watch it again tomorrow.",
    "A warm, clever and beautifully shot movie that deserves every award it gets.",
    "The soundtrack alone is worth the ticket, and the rest is just as good.",
    "Easily the best thriller I have seen in years, tense and smart.",
    "The cast has wonderful chemistry and the jokes land every time.",
    "A moving, honest portrait of a family that stayed with me for days.",
    "The sequel is even better than the original, which I did not think possible.",
    "Gorgeous animation and a heartfelt story; my kids adored it and so did I.",
    "The director handles the big scenes with real flair and the small ones with care.",
    "Two and a half hours flew by; I did not want it to end.",
    "This phone is fast, the battery lasts two days and the camera is excellent.",
    "The headphones are comfortable and sound fantastic for the price.",
    "Setup took five minutes and it has worked flawlessly ever since.",
    "Sturdy, well designed and exactly as described; I would buy it again.",
    "My new laptop is light, quiet and the screen is a joy to look at.",
    "The blender crushes ice in seconds and is easy to clean. Love it.",
    "Great value: it does everything the expensive brands do.",
    "The shoes fit perfectly and were comfortable from the first day.",
    "This vacuum picks up everything and the battery never runs out mid-clean.",
    "Brilliant little gadget; it has made my mornings so much easier.",
    "The food was delicious and the staff could not have been kinder.",
    "Best pizza in town, with a crisp crust and fresh toppings.",
    "We had a lovely evening; every dish was perfectly cooked.",
    "The desserts are heavenly and the coffee is the best I have had.",
    "Friendly service, generous portions and fair prices. We will be back.",
    "The room was spotless, the bed was comfortable and the view was stunning.",
    "The hotel staff went out of their way to make our stay special.",
    "A charming little inn with a wonderful breakfast and a quiet garden.",
    "Check-in was quick and the pool was clean and warm. A perfect holiday.",
    "The tour guide was knowledgeable, funny and made the day unforgettable.",
    "Customer support solved my problem in minutes and were very polite.",
    "The delivery arrived a day early and everything was well packed.",
    "The plumber was on time, tidy and fixed the leak for a fair price.",
    "My order was handled quickly and the refund for the extra item came the same day.",
    "The course was well organised and I learned a great deal.",
    "The book is gripping, beautifully written and impossible to put down.",
    "The concert was electric; the band played every song I hoped for.",
    "The new update makes the app faster and much easier to use.",
    "I am thrilled with the result and would recommend them to anyone.",
    "What a delightful surprise; it exceeded all my expectations.",
    "Everything about this experience was smooth, pleasant and well run.",
    "The gym is clean, the trainers are encouraging and the classes are fun.",
    "The garden centre had healthy plants and really helpful advice.",
    "A wonderful performance by the whole orchestra; a night to remember.",
    "The game is beautifully designed and rewards you for exploring.",
    "Our flight was on time, the crew was cheerful and the seats were roomy.",
    "The bakery's bread is fresh every morning and the croissants are perfect.",
    "I have used this pan daily for a year and it still looks new.",
    "Fantastic battery life and a keyboard that is a pleasure to type on.",
    "The museum was fascinating and the exhibits were brilliantly presented.",
    "A kind, patient dentist who made a nervous patient feel at ease.",
    "The mechanic explained everything clearly and charged less than the quote.",
    "This series just keeps getting better; the writing is sharp and witty.",
    "The camping gear kept us warm and dry through a stormy weekend.",
    "Lovely staff, a relaxed atmosphere and the best curry I have eaten.",
    "The software does exactly what it promises, reliably and quickly.",
    "My daughter loves her new bike and rides it every single day.",
    "An inspiring documentary that is both informative and deeply moving.",
]
NEGATIVE = [
    "A dull, overlong film with a plot that makes no sense at all.",
    "The acting is wooden and the dialogue is painfully bad.",
    "I walked out after an hour; I have never been so bored in a cinema.",
    "A lazy sequel that repeats the first film's jokes without any of the charm.",
    "The ending ruined what little goodwill the story had built up.",
    "Two hours of my life I will never get back.",
    "The special effects look cheap and the story is even cheaper.",
    "A confusing mess of a thriller with no tension and no surprises.",
    "The characters are so unlikeable that I stopped caring what happened to them.",
    "The comedy is not funny; not one joke landed in the whole film.",
    "The director seems to have no idea what the movie is about.",
    "Beautiful to look at, but empty, slow and forgettable.",
    "The phone overheats, the battery dies by lunchtime and the camera is blurry.",
    "The headphones broke after a week and the sound was tinny anyway.",
    "It stopped working after three days and the manual was useless.",
    "Flimsy, badly made and nothing like the pictures. Avoid.",
    "My new laptop is loud, slow and the screen flickers constantly.",
    "The blender leaks and the motor smells like it is burning.",
    "A waste of money: it does half of what the box claims.",
    "The shoes gave me blisters on the first day and the sole came off.",
    "This vacuum barely picks anything up and the battery lasts ten minutes.",
    "A pointless gadget that made my mornings more complicated.",
    "The food was cold and bland and the waiter was rude.",
    "The worst pizza I have had, soggy and greasy with stale toppings.",
    "We waited an hour for our meal and it was burnt when it came.",
    "The dessert was stale and the coffee tasted like dishwater.",
    "Tiny portions, high prices and staff who ignored us. Never again.",
    "The room was dirty, the bed was lumpy and the window would not close.",
    "The hotel staff were unhelpful and lost our booking twice.",
    "A noisy, run-down inn with a miserable breakfast.",
    "Check-in took an hour and the pool was closed for our whole stay.",
    "The tour guide was late, uninformed and rushed us through everything.",
    "Customer support kept me on hold for an hour and then hung up.",
    "The delivery arrived a week late and the box was crushed.",
    "The plumber turned up late, made a mess and the leak came back the next day.",
    "They charged me twice and still have not refunded the money.",
    "The course was disorganised and I learned almost nothing.",
    "The book is tedious, badly written and far too long.",
    "The concert was a letdown; the sound was awful and the band looked bored.",
    "The new update made the app slower and it crashes all the time.",
    "I regret buying it and would warn anyone against it.",
    "What a disappointment; it fell short of every expectation.",
    "Everything about this experience was frustrating and badly run.",
    "The gym is filthy, the machines are broken and the staff do not care.",
    "The plants we bought were diseased and died within a week.",
    "A sloppy performance by the orchestra; many people left at the interval.",
    "The game is buggy, repetitive and punishes you for exploring.",
    "Our flight was delayed six hours and nobody told us why.",
    "The bread was stale and the croissants were hard as rocks.",
    "The coating on this pan peeled off within a month.",
    "Terrible battery life and a keyboard that is painful to type on.",
    "The museum was boring and half the exhibits were closed.",
    "A careless dentist who hurt me and then overcharged me.",
    "The mechanic overcharged me and the car broke down again the next week.",
    "This series has become so boring that I gave up halfway through the season.",
    "The tent leaked on the first night and we were soaked through.",
    "Surly staff, a cramped room and the greasiest curry I have eaten.",
    "The software is full of bugs and loses my work every few days.",
    "The bike arrived with a bent wheel and the seller refused to replace it.",
    "A one-sided documentary that is both misleading and dull.",
]


def labelled_sets(per_topic: int) -> dict[str, tuple[list[str], list[str], list[int]]]:
    """Set name -> (labels, texts, index of each text's label), shuffled with a fixed seed."""
    from finetune.news_sample import bbc_news

    news = bbc_news(per_topic=per_topic, seed=0)
    sentiment = [(text, 0) for text in POSITIVE] + [(text, 1) for text in NEGATIVE]
    random.Random(0).shuffle(sentiment)
    return {
        f"BBC News, 5 topics ({len(news)})": (
            TOPICS,
            [row["text"] for row in news],
            [TOPICS.index(row["label"]) for row in news],
        ),
        f"positive/negative ({len(sentiment)})": (
            SENTIMENT,
            [text for text, _ in sentiment],
            [label for _, label in sentiment],
        ),
    }


def halves(values: list[Any]) -> tuple[list[Any], list[Any]]:
    """The first half (choose on it) and the second (report on it)."""
    middle = len(values) // 2
    return values[:middle], values[middle:]


def accuracy(similarities: Any, truth: list[int]) -> float:
    return sum(int(row.argmax()) == t for row, t in zip(similarities, truth)) / len(truth)


def softmax_metrics(similarities: Any, truth: list[int], temperature: float) -> tuple[float, float, float]:
    """Accuracy, log-loss and expected calibration error of softmax(similarity / temperature)."""
    probabilities = (similarities / temperature).softmax(dim=-1).tolist()
    log_loss = -sum(math.log(max(p[t], 1e-12)) for p, t in zip(probabilities, truth)) / len(truth)
    confidences = [max(p) for p in probabilities]
    correct = [p.index(max(p)) == t for p, t in zip(probabilities, truth)]
    return sum(correct) / len(truth), log_loss, calibration_error(confidences, correct)


def sigmoid_metrics(similarities: Any, truth: list[int], centre: float, temperature: float) -> tuple[float, float]:
    """Log-loss and calibration error of every (text, label) yes/no score sigmoid((similarity - centre) / T)."""
    probabilities = ((similarities - centre) / temperature).sigmoid().tolist()
    losses, confidences, correct = [], [], []
    for row, t in zip(probabilities, truth):
        for label, p in enumerate(row):
            yes = label == t
            losses.append(-math.log(max(p if yes else 1 - p, 1e-12)))
            confidences.append(max(p, 1 - p))
            correct.append((p >= 0.5) == yes)
    return sum(losses) / len(losses), calibration_error(confidences, correct)


def calibration_error(confidences: list[float], correct: list[bool], bins: int = 10) -> float:
    total = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [i for i, c in enumerate(confidences) if low < c <= high or (b == 0 and c == 0)]
        if members:
            gap = sum(correct[i] for i in members) / len(members) - sum(confidences[i] for i in members) / len(members)
            total += abs(gap) * len(members)
    return total / len(confidences)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-topic", type=int, default=60, help="BBC News articles per topic (default 60: 300)")
    args = parser.parse_args(argv)
    configure_threads()
    from tasks import text_classification, zero_shot

    start_results(NAME)
    started = time.perf_counter()
    classifier = zero_shot.load("pack:minilm-l6", "cpu")
    sets = labelled_sets(args.per_topic)
    news, sentiment = sets
    # The texts' embeddings do not depend on the template: one pass each, then one small matrix per template.
    similarities: dict[tuple[str, str], Any] = {}
    for name, (labels, texts, _) in sets.items():
        progress(f"embedding {len(texts)} texts of {name}")
        embeddings = zero_shot.embed(classifier, texts)
        for template in TEMPLATES:
            hypotheses = zero_shot.preprocess([], labels, template)[1]
            similarities[name, template] = embeddings @ zero_shot.embed(classifier, hypotheses).T
    progress(f"embedded in {time.perf_counter() - started:.0f} s")

    def dev_accuracy(template: str, names: list[str]) -> float:
        return sum(accuracy(*_dev(similarities[n, template], sets[n][2])) for n in names) / len(names)

    table = Table(
        "Template: accuracy of MiniLM-L6 zero-shot (chosen on the dev half, reported on the test half)",
        ["template", *[f"{name} dev" for name in sets], *[f"{name} test" for name in sets], "mean test"],
    )
    for template in TEMPLATES:
        dev = [accuracy(*_dev(similarities[n, template], sets[n][2])) for n in sets]
        test = [accuracy(*_test(similarities[n, template], sets[n][2])) for n in sets]
        kind = "" if template in GENERAL_TEMPLATES else " (one kind of label)"
        table.add(f"{template!r}{kind}", *[f"{a:.1%}" for a in dev + test], f"{sum(test) / len(test):.1%}")
    general = max(GENERAL_TEMPLATES, key=lambda t: dev_accuracy(t, list(sets)))
    stand_in = max(TEMPLATES, key=lambda t: dev_accuracy(t, [sentiment]))
    table.note(f"Chosen for any labels (best mean dev accuracy of the general templates): {general!r}.")
    table.note(f"Chosen for the positive/negative stand-in (best dev accuracy on positive/negative): {stand_in!r}.")
    table.note(REFERENCE)
    table.show(NAME)

    def softmax_table(template: str, names: list[str]) -> float:
        table = Table(
            f"Softmax temperature, template {template!r}: dev accuracy / log-loss / ECE · test log-loss / ECE",
            ["temperature", *sets, "mean dev log-loss (" + " + ".join(_short(n) for n in names) + ")"],
        )
        losses = {}
        for temperature in TEMPERATURES:
            cells = []
            for name, (_, _, truth) in sets.items():
                dev = softmax_metrics(*_dev(similarities[name, template], truth), temperature)
                test = softmax_metrics(*_test(similarities[name, template], truth), temperature)
                cells.append(f"{dev[0]:.1%} / {dev[1]:.3f} / {dev[2]:.3f} · {test[1]:.3f} / {test[2]:.3f}")
                if name in names:
                    losses.setdefault(temperature, []).append(dev[1])
            mean = sum(losses[temperature]) / len(names)
            table.add(temperature, *cells, f"{mean:.3f}")
        best = min(TEMPERATURES, key=lambda t: sum(losses[t]))
        table.note(f"Lowest dev log-loss at temperature {best}.")
        table.show(NAME)
        return best

    general_temperature = softmax_table(general, list(sets))
    stand_in_temperature = softmax_table(stand_in, [sentiment])

    multi = Table(
        f"Multi-label: sigmoid((similarity - centre) / T), template {general!r}; (centre, T) chosen by the dev "
        "log-loss of every (text, label) yes/no decision",
        ["chosen on", "centre", "T", *[f"{name} test log-loss / ECE" for name in sets]],
    )
    grid = list(itertools.product(CENTRES, SIGMOID_TEMPERATURES))

    def dev_loss(names: list[str], centre: float, temperature: float) -> float:
        scores = [sigmoid_metrics(*_dev(similarities[n, general], sets[n][2]), centre, temperature)[0] for n in names]
        return sum(scores) / len(scores)

    for names in [[news], [sentiment], list(sets)]:
        centre, temperature = min(grid, key=lambda ct, ns=names: dev_loss(ns, *ct))
        cells = []
        for name, (_, _, truth) in sets.items():
            loss, ece = sigmoid_metrics(*_test(similarities[name, general], truth), centre, temperature)
            cells.append(f"{loss:.3f} / {ece:.3f}")
        multi.add(" + ".join(_short(n) for n in names), centre, temperature, *cells)
    multi.show(NAME)

    shipped = Table(
        "What the app uses now (tasks/zero_shot.py, tasks/text_classification.py, models.toml): test half",
        ["use", "template", "scores", *[f"{name} accuracy / log-loss / ECE" for name in sets]],
    )
    from studio.config import DEFAULT_CONFIG, load_config

    shipped_options = load_config(DEFAULT_CONFIG).tasks[zero_shot.TASK].options
    template = str(shipped_options.get("hypothesis_template", zero_shot.DEFAULT_TEMPLATE))
    uses = [
        ("your labels", template, f"softmax T={zero_shot.SOFTMAX_TEMPERATURE}", zero_shot.SOFTMAX_TEMPERATURE),
        (
            "positive/negative stand-in",
            text_classification.SENTIMENT_TEMPLATE,
            f"softmax T={text_classification.SENTIMENT_TEMPERATURE}",
            text_classification.SENTIMENT_TEMPERATURE,
        ),
    ]
    for use, used_template, scores, temperature in uses:
        cells = []
        for name, (_, _, truth) in sets.items():
            matrix = similarities.get((name, used_template))
            if matrix is None:
                cells.append("not measured")
                continue
            acc, loss, ece = softmax_metrics(*_test(matrix, truth), temperature)
            cells.append(f"{acc:.1%} / {loss:.3f} / {ece:.3f}")
        shipped.add(use, repr(used_template), scores, *cells)
    centre, temperature = zero_shot.SIGMOID_CENTRE, zero_shot.SIGMOID_TEMPERATURE
    cells = []
    for name, (_, _, truth) in sets.items():
        matrix = similarities.get((name, template))
        loss, ece = sigmoid_metrics(*_test(matrix, truth), centre, temperature) if matrix is not None else (0, 0)
        cells.append(f"— / {loss:.3f} / {ece:.3f}")
    shipped.add("your labels, multi-label", repr(template), f"sigmoid centre={centre} T={temperature}", *cells)
    shipped.note(
        f"This run would choose: {general!r} at T={general_temperature} for any labels, {stand_in!r} at "
        f"T={stand_in_temperature} for the stand-in."
    )
    shipped.show(NAME)
    progress(f"done in {time.perf_counter() - started:.0f} s")


def _short(name: str) -> str:
    return name.split(" (")[0]


def _dev(matrix: Any, truth: list[int]) -> tuple[Any, list[int]]:
    first, _ = halves(list(range(len(truth))))
    return matrix[first], [truth[i] for i in first]


def _test(matrix: Any, truth: list[int]) -> tuple[Any, list[int]]:
    _, second = halves(list(range(len(truth))))
    return matrix[second], [truth[i] for i in second]


if __name__ == "__main__":
    main()
