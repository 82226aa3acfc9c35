"""Zero-shot classification with your own labels, and the Text classification tab with no network.

The real offline-pack MiniLM-L6 does the classifying here: the labels it puts first are checked, not mocks.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from gradio_client import Client

from studio.errors import UserError
from tasks import text_classification, zero_shot
from tests.conftest import NOT_CACHED_HUB_MODEL, free_port, write_config
from tests.test_bad_inputs import Api

# Label set -> texts whose right label is obvious to a reader.
OBVIOUS = {
    "sport, cooking, finance": {
        "sport": [
            "The striker scored twice in the last ten minutes to win the cup final.",
            "She finished the marathon in under three hours and set a new course record.",
            "The tennis champion lost in straight sets at Wimbledon.",
        ],
        "cooking": [
            "Whisk the eggs with the sugar, then fold in the flour and bake for twenty minutes.",
            "Fry the onions slowly in butter until they are golden and sweet.",
            "This soup recipe needs fresh basil, garlic and ripe tomatoes.",
        ],
        "finance": [
            "The central bank raised interest rates to slow inflation.",
            "Shares fell sharply after the company reported a quarterly loss.",
            "Investors moved their savings into government bonds.",
        ],
    },
    "positive, negative": {
        "positive": [
            "I loved this film, it was wonderful from start to finish.",
            "Fantastic service and delicious food, we will definitely come back.",
            "Best purchase I have made all year; it works perfectly.",
        ],
        "negative": [
            "Terrible service, cold food, and the waiter was rude to us.",
            "The product broke after two days and I want my money back.",
            "A boring, badly acted film that wasted two hours of my life.",
        ],
    },
    "weather, music, health": {
        "weather": [
            "Heavy rain and strong winds are forecast for the weekend.",
            "It will be sunny tomorrow with temperatures reaching thirty degrees.",
        ],
        "music": [
            "The band played their new album live to a sold-out crowd.",
            "She practises the violin for two hours every evening.",
        ],
        "health": [
            "The doctor said regular exercise lowers the risk of heart disease.",
            "Patients with the flu should rest and drink plenty of fluids.",
        ],
    },
}
CASES = [
    (labels, right, text) for labels, by_label in OBVIOUS.items() for right, texts in by_label.items() for text in texts
]
NO_LABELS = (
    "No labels were given; type the labels to choose from, separated by commas (for example: sport, cooking, finance)."
)
ONE_LABEL = (
    "Only one label was given ('sport'); add a second label to choose between, or switch Multi-label on to score "
    "this one alone."
)
TOO_MANY = "101 labels were given, more than the 100 one request may have; remove 1 of them and try again."
CLIPPED = "The text is 50,000 characters long; only the first 20,000 were used."
TRUNCATED = "The text is longer than this model reads (256 tokens); only its beginning was classified."
REPEATED = "Labels given more than once were scored once (case is ignored): 'Sport', 'COOKING'."


@pytest.fixture(scope="module")
def minilm() -> zero_shot.ZeroShotClassifier:
    return zero_shot.load("pack:minilm-l6", "cpu")


# ---- The engine: the offline pack's MiniLM-L6 ----


@pytest.mark.parametrize("labels, right, text", CASES, ids=[f"{right}: {text[:30]}" for _, right, text in CASES])
def test_minilm_puts_the_obvious_label_first(minilm, labels, right, text):
    (scores,) = zero_shot.predict(minilm, [text], labels)
    assert next(iter(scores)) == right, scores
    assert set(scores) == {label.strip() for label in labels.split(",")}
    assert math.isclose(sum(scores.values()), 1.0, abs_tol=1e-4)


def test_a_batch_gets_what_each_text_gets_alone(minilm):
    texts = [text for by_label in OBVIOUS.values() for texts in by_label.values() for text in texts[:1]]
    together = zero_shot.predict(minilm, texts, "sport, cooking, finance")
    alone = [zero_shot.predict(minilm, [text], "sport, cooking, finance")[0] for text in texts]
    for a, b in zip(together, alone):
        assert list(a) == list(b)
        assert all(math.isclose(a[label], b[label], abs_tol=1e-4) for label in a)


def test_multi_label_scores_each_label_on_its_own(minilm):
    text = "After the match the players cooked pasta together in the team kitchen."
    (three,) = zero_shot.predict(minilm, [text], "sport, cooking, finance", multi_label=True)
    assert three["sport"] > 0.5 and three["cooking"] > 0.5, three
    assert three["finance"] < 0.5, three
    assert sum(three.values()) > 1.2, "two labels that are both true do not share one unit of probability"
    # Independent: taking a label away changes no other label's score.
    (two,) = zero_shot.predict(minilm, [text], "sport, cooking", multi_label=True)
    assert two == {label: three[label] for label in two}
    (single,) = zero_shot.predict(minilm, [text], "finance", multi_label=True)
    assert single == {"finance": three["finance"]}


def test_a_hundred_labels_work(minilm):
    labels = ["sport"] + [f"topic number {i}" for i in range(99)]
    (scores,) = zero_shot.predict(minilm, ["The goalkeeper saved a penalty in the final."], labels)
    assert len(scores) == 100
    assert next(iter(scores)) == "sport"
    assert math.isclose(sum(scores.values()), 1.0, abs_tol=1e-3)


@pytest.mark.parametrize(
    "labels, multi_label, message",
    [
        ("", False, NO_LABELS),
        (" , ,\n ", True, NO_LABELS),
        ("sport", False, ONE_LABEL),
        ("sport, SPORT", False, ONE_LABEL),
        (", ".join(f"label {i}" for i in range(101)), False, TOO_MANY),
        ("sport, " + "x" * 101, False, f"The label '{'x' * 40}…' is 101 characters long, more than the 100"),
    ],
)
def test_label_mistakes_are_refused_with_what_to_do(labels, multi_label, message):
    with pytest.raises(UserError) as error:
        zero_shot.parse_labels(labels, multi_label)
    assert str(error.value).startswith(message)


def test_labels_are_split_trimmed_and_repeats_dropped_without_regard_to_case():
    labels, repeated = zero_shot.parse_labels(" sport ,Cooking,\nsport,  finance  news , COOKING")
    assert labels == ["sport", "Cooking", "finance news"]
    assert repeated == ["sport", "COOKING"]
    assert zero_shot.parse_labels("sport", multi_label=True) == (["sport"], [])


def test_a_template_without_a_place_for_the_label_is_a_config_mistake(minilm):
    with pytest.raises(UserError, match=r"needs one \{\} where the label goes .*\[zero_shot\] section of models.toml"):
        zero_shot.predict(minilm, ["hello"], "a, b", template="This text is about the label.")


def test_a_classifier_with_labels_of_its_own_is_not_a_zero_shot_model(tiny_models):
    ref = str(tiny_models["text_classification"])
    with pytest.raises(UserError, match="classifies into its own labels, not yours"):
        zero_shot.load(ref, "cpu")
    assert not zero_shot.is_sentence_encoder(ref)


def test_text_classification_loads_minilm_as_a_positive_negative_classifier():
    classifier = text_classification.load("pack:minilm-l6", "cpu")
    results = text_classification.predict(
        classifier, ["What a wonderful, heartwarming film.", "The food was cold and the staff were rude."]
    )
    assert [next(iter(r)) for r in results] == ["positive", "negative"]
    assert all(set(r) == {"positive", "negative"} for r in results)
    assert (
        classifier.batcher("I hated every minute of it.")
        == text_classification.predict(classifier, ["I hated every minute of it."])[0]
    )


@pytest.fixture(scope="module")
def tiny_nli(tmp_path_factory) -> Path:
    """A tiny random BERT with the labels of a natural-language-inference model, as a save_pretrained folder."""
    from transformers import BertForSequenceClassification

    from tests.tiny_models import _build_bert

    folder = tmp_path_factory.mktemp("tiny-nli")
    return _build_bert(folder, BertForSequenceClassification, True, ["contradiction", "neutral", "entailment"])


def test_an_nli_model_classifies_through_the_zero_shot_pipeline(tiny_nli):
    classifier = zero_shot.load(str(tiny_nli), "cpu")
    assert classifier.engine == zero_shot.NLI
    texts = ["The striker scored twice.", "Fry the onions in butter until golden."]
    labels = ["sport", "cooking", "finance"]
    for scores in zero_shot.predict(classifier, texts, labels):
        assert set(scores) == set(labels)
        assert list(scores.values()) == sorted(scores.values(), reverse=True)
        assert math.isclose(sum(scores.values()), 1.0, abs_tol=1e-4)
    (three,) = zero_shot.predict(classifier, texts[:1], labels, multi_label=True)
    (two,) = zero_shot.predict(classifier, texts[:1], labels[:2], multi_label=True)
    assert all(0 < score < 1 for score in three.values())
    assert all(math.isclose(two[label], three[label], abs_tol=1e-5) for label in two)
    request = zero_shot.Request(texts[1], tuple(labels), False, zero_shot.DEFAULT_TEMPLATE)
    assert classifier.batcher(request) == zero_shot.predict(classifier, texts[1:], labels)[0]
    long_text = "the striker scored again " * 200
    assert zero_shot.is_truncated(classifier, long_text, labels, zero_shot.DEFAULT_TEMPLATE)
    assert not zero_shot.is_truncated(classifier, texts[0], labels, zero_shot.DEFAULT_TEMPLATE)
    assert set(zero_shot.predict(classifier, [long_text], labels)[0]) == set(labels)


def test_any_sentence_encoder_folder_stands_in_for_a_sentiment_model(tmp_path):
    from transformers import BertModel

    from tests.tiny_models import _build_bert

    folder = _build_bert(tmp_path / "encoder", BertModel, True, ["LABEL_0", "LABEL_1"])
    assert zero_shot.is_sentence_encoder(str(folder))
    classifier = text_classification.load(str(folder), "cpu")
    (scores,) = text_classification.predict(classifier, ["What a lovely day."])
    assert set(scores) == {"positive", "negative"}


# ---- Over HTTP: the test app, whose [zero_shot] default is a Hub model that is not cached ----


def test_view_api_lists_the_zero_shot_endpoint_beside_classify_text(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert [p["parameter_name"] for p in endpoints["/classify_text"]["parameters"]] == ["text", "model_ref"]
    parameters = endpoints["/classify_text_zero_shot"]["parameters"]
    assert [p["parameter_name"] for p in parameters] == ["text", "labels", "multi_label", "model_ref"]
    assert [p["parameter_has_default"] for p in parameters] == [False, False, True, True]
    assert parameters[2]["parameter_default"] is False
    assert endpoints["/classify_text_zero_shot"]["returns"] == endpoints["/classify_text"]["returns"]


def test_classify_text_zero_shot_over_http(client, live_app):
    _, studio = live_app
    text = "The striker scored twice in the last ten minutes to win the cup final."
    result = client.predict(text, "sport, cooking, finance", api_name="/classify_text_zero_shot")
    assert result["label"] == "sport"
    assert [c["label"] for c in result["confidences"]][0] == "sport"
    assert math.isclose(sum(c["confidence"] for c in result["confidences"]), 1.0, abs_tol=1e-3)
    loaded, note = studio.loaded("zero_shot", studio.task("zero_shot").default)
    assert loaded.ref == "pack:minilm-l6"
    assert note.startswith("offline: zero-shot with MiniLM-L6 from the offline pack")

    both = client.predict(
        "After the match the players cooked pasta together in the team kitchen.",
        "sport, cooking, finance",
        True,
        "MiniLM-L6 similarity (offline pack)",
        api_name="/classify_text_zero_shot",
    )
    confidences = {c["label"]: c["confidence"] for c in both["confidences"]}
    assert confidences["sport"] > 0.5 and confidences["cooking"] > 0.5 and confidences["finance"] < 0.5


@pytest.fixture(scope="module")
def api(live_app) -> Api:
    url, _ = live_app
    return Api(url)


@pytest.mark.parametrize(
    "labels, multi_label, message",
    [("", False, NO_LABELS), ("sport", False, ONE_LABEL), (", ".join(f"l{i}" for i in range(101)), False, TOO_MANY)],
)
def test_label_mistakes_over_http_get_their_message_and_no_traceback(api, labels, multi_label, message):
    outcome = api.call("classify_text_zero_shot", "The striker scored twice.", labels, multi_label)
    assert outcome.error == message
    assert "Traceback" not in str(outcome.error)


def test_one_label_with_multi_label_on_is_scored_alone(api):
    outcome = api.call("classify_text_zero_shot", "The striker scored twice in the final.", "sport", True)
    assert outcome.ok, outcome.error
    assert [c["label"] for c in outcome.value["confidences"]] == ["sport"]


def test_repeated_labels_are_scored_once_with_a_warning(api):
    outcome = api.call("classify_text_zero_shot", "Fry the onions in butter.", "sport, cooking, Sport, COOKING", False)
    assert outcome.ok, outcome.error
    assert sorted(c["label"] for c in outcome.value["confidences"]) == ["cooking", "sport"]
    assert outcome.value["label"] == "cooking"
    assert outcome.warnings == [REPEATED]


def test_a_very_long_text_is_cut_with_the_warnings_classify_text_gives(api):
    text = ("The striker scored again and the crowd cheered. " * 1100)[:50_000]
    zero = api.call("classify_text_zero_shot", text, "sport, cooking, finance", False)
    assert zero.ok, zero.error
    assert zero.value["label"] == "sport"
    assert zero.warnings == [CLIPPED, TRUNCATED]
    plain = api.call("classify_text", text, None)
    assert plain.ok, plain.error
    assert plain.warnings[0] == CLIPPED


def test_a_hundred_labels_over_http(api):
    labels = ", ".join(["sport"] + [f"subject {i}" for i in range(99)])
    outcome = api.call("classify_text_zero_shot", "The goalkeeper saved a penalty in the final.", labels, False)
    assert outcome.ok, outcome.error
    assert outcome.value["label"] == "sport"


# ---- Offline: the Text classification tab when its default model cannot be had ----


def launch(config: Path):
    import app
    from studio.config import load_config

    demo, studio = app.build_app(load_config(config))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return demo, studio, Client(f"http://127.0.0.1:{port}/", verbose=False)


def offline_config(folder: Path, models: dict[str, Path], offline: str | None = None) -> Path:
    """The test config, but with a [text_classification] default that is not cached (and no network)."""
    path = write_config(folder / "models.toml", models, folder / "runs")
    tiny_default = f'[text_classification]\ndefault = "{models["text_classification"]}"\n'
    assert tiny_default in path.read_text()
    section = f'[text_classification]\ndefault = "{NOT_CACHED_HUB_MODEL}"\n'
    if offline is not None:
        section += f'offline = "{offline}"\n'
    path.write_text(path.read_text().replace(tiny_default, section))
    return path


@pytest.fixture(scope="module")
def pack_fallback_app(tiny_models, tmp_path_factory):
    demo, studio, client = launch(offline_config(tmp_path_factory.mktemp("no-network"), tiny_models))
    yield client, studio
    demo.close()


@pytest.mark.parametrize(
    "text, right",
    [
        ("What a wonderful film, I loved every minute of it.", "positive"),
        ("Great value, fast delivery and it works perfectly.", "positive"),
        ("The worst hotel I have ever stayed in: dirty, noisy and rude staff.", "negative"),
        ("It broke after one day and support never answered my emails.", "negative"),
    ],
)
def test_classify_text_offline_answers_positive_or_negative(pack_fallback_app, text, right):
    client, studio = pack_fallback_app
    result = client.predict(text, api_name="/classify_text")
    assert result["label"] == right, result
    assert {c["label"] for c in result["confidences"]} == {"positive", "negative"}
    loaded, note = studio.loaded("text_classification", NOT_CACHED_HUB_MODEL)
    assert loaded.ref == "pack:minilm-l6"
    assert note == "offline: zero-shot with MiniLM-L6 from the offline pack; fine-tune for better results"


@pytest.fixture(scope="module")
def own_model_app(tiny_models, tmp_path_factory):
    """A config whose [text_classification] offline names a fine-tuned run, found in runs_dir at start-up."""
    from studio.runs import COMPLETE_MARKER

    folder = tmp_path_factory.mktemp("own-model-offline")
    run = folder / "runs" / "my-sentiment-run-20261202-101500"
    shutil.copytree(tiny_models["text_classification"], run)
    (run / COMPLETE_MARKER).write_text("{}")
    demo, studio, client = launch(offline_config(folder, tiny_models, offline=run.name))
    yield client, studio, run
    demo.close()


def test_an_offline_model_named_in_the_config_stands_in_for_the_default(own_model_app):
    client, studio, run = own_model_app
    result = client.predict("What a wonderful film.", api_name="/classify_text")
    assert {c["label"] for c in result["confidences"]} == {"POSITIVE", "NEGATIVE"}, "the tiny model's own labels"
    loaded, note = studio.loaded("text_classification", NOT_CACHED_HUB_MODEL)
    assert loaded.ref == str(run)
    assert note == f"offline: using {run.name}"


def test_fine_tuned_runs_come_first_in_the_dropdown_newest_first(own_model_app, tiny_models):
    _, studio, run = own_model_app
    configured = list(studio.task("text_classification").choices)
    assert list(studio.choices("text_classification")) == [run.name, *configured]
    studio.add_choice("text_classification", "newer-run", str(tiny_models["text_classification"]))
    try:
        assert list(studio.choices("text_classification"))[:2] == ["newer-run", run.name]
    finally:
        studio.extra_choices["text_classification"].pop("newer-run")
