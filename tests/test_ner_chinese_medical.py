"""Named entities in Chinese (Baidu LAC from the offline pack) and in English clinical text (drug and disease
dictionaries from the pack): directly, over HTTP, and the routing of Chinese text sent to the default model."""

from __future__ import annotations

import os

import pytest
from gradio_client import Client

from bench.chinese_entities import chinese_scores, halves, medical_recall, read_peoples_daily
from tasks import ner
from tests.test_ner_spacy import live_app

CHINESE_MODEL = "uer/roberta-base-finetuned-cluener2020-chinese"
MEDICAL_MODEL = "d4data/biomedical-ner-all"
# Leading spaces and English words among the Chinese: offsets still index the text as sent.
CHINESE = "  美国国务卿奥尔布赖特昨天在北京会见了中国外交部长唐家璇。Apple 公司的 Tim Cook 也来到了上海。"
CHINESE_ENTITIES = [
    ("美国", "LOC", 2, 4),
    ("奥尔布赖特", "PER", 7, 12),
    ("北京", "LOC", 15, 17),
    ("中国", "LOC", 20, 22),
    ("唐家璇", "PER", 26, 29),
    ("上海", "LOC", 53, 55),
]
CLINICAL = "Started on metformin for type 2 diabetes mellitus; aspirin after the myocardial infarction."


def spans(entities: list[dict]) -> list[tuple]:
    return [(e["word"], e["entity_group"], e["start"], e["end"]) for e in entities]


@pytest.fixture(scope="module")
def lac():
    return ner.load(ner.LAC_REF, "cpu")


@pytest.fixture(scope="module")
def peoples_daily():
    return read_peoples_daily()


@pytest.fixture(scope="module")
def medical():
    return ner.load(ner.MEDICAL_REF, "cpu")


def test_chinese_people_places_and_organisations_with_character_offsets(lac):
    entities = ner.predict(lac, [CHINESE, "新华社报道，联合国秘书长安南访问了日本。"])
    assert spans(entities[0]) == CHINESE_ENTITIES
    assert all(CHINESE[e["start"] : e["end"]] == e["word"] for e in entities[0])
    assert spans(entities[1]) == [
        ("新华社", "ORG", 0, 3),
        ("联合国", "ORG", 6, 9),
        ("安南", "PER", 12, 14),
        ("日本", "LOC", 17, 19),
    ]
    assert ner.entity_types(lac) == ["LOC", "ORG", "PER"]


def test_a_title_after_a_place_is_not_part_of_the_place(lac):
    # LAC alone answers 美国国务卿 as one place here.
    assert spans(ner.predict(lac, ["美国国务卿奥尔布赖特"])[0]) == [("美国", "LOC", 0, 2), ("奥尔布赖特", "PER", 5, 10)]


def test_peoples_daily_names_are_read_as_whole_people_with_character_offsets(peoples_daily):
    sentences = peoples_daily
    text, entities = sentences[1]
    assert text == "中共中央总书记、国家主席江泽民"
    assert spans(entities) == [("中共中央", "ORG", 0, 4), ("江泽民", "PER", 12, 15)]
    assert len(sentences) == 19484


def test_entity_f1_on_a_peoples_daily_slice_it_was_not_tuned_on(lac, peoples_daily):
    _, test = halves(peoples_daily)
    metrics = chinese_scores(lac, test[:400])
    assert metrics["f1"] >= 0.65
    assert metrics["per_type"]["PER"]["f1"] >= 0.75


def test_drugs_and_diseases_in_english_clinical_text(medical):
    entities = ner.predict(medical, [CLINICAL])[0]
    assert spans(entities) == [
        ("metformin", "DRUG", 11, 20),
        ("type 2 diabetes mellitus", "DISEASE", 25, 49),
        ("aspirin", "DRUG", 51, 58),
        ("myocardial infarction", "DISEASE", 69, 90),
    ]
    assert ner.entity_types(medical) == ["DRUG", "DISEASE"]


def test_the_clinical_sentences_find_most_drug_and_disease_mentions(medical):
    assert medical_recall(medical)["recall"] >= 0.85


@pytest.mark.parametrize(
    ("text", "chinese"),
    [
        ("北京是中国的首都。", True),
        ("Apple 公司在北京开设了新的办公室。", True),
        ("東京都に住んでいます。", False),
        ("Angela Merkel met Emmanuel Macron in Berlin.", False),
        ("The menu said 北京烤鸭 but the rest of the page was written in English, at some length.", False),
    ],
)
def test_chinese_text_is_told_from_other_languages(text, chinese):
    assert ner.is_chinese(text) is chinese


@pytest.fixture(scope="module")
def multilingual_app(tmp_path_factory, tiny_models):
    """A live app: English default (the tiny model), Chinese and medical Hub models this machine has not cached."""
    section = (
        f'[ner]\ndefault = "{tiny_models["ner"]}"\nchinese = "{CHINESE_MODEL}"\n[ner.choices]\n'
        f'"Chinese" = "{CHINESE_MODEL}"\n"Medical" = "{MEDICAL_MODEL}"\n'
        f'"Medical entities, English (offline pack)" = "{ner.MEDICAL_REF}"\n'
        f'[ner.offline]\n"{CHINESE_MODEL}" = "{ner.LAC_REF}"\n"{MEDICAL_MODEL}" = "{ner.MEDICAL_REF}"\n'
    )
    demo, url, studio = live_app(tmp_path_factory.mktemp("multilingual-app"), tiny_models, section)
    yield Client(url, verbose=False), studio
    demo.close()


def test_chinese_text_with_no_model_goes_to_the_chinese_model_offline(multilingual_app):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    client, studio = multilingual_app
    highlighted, entities = client.predict(CHINESE, "", api_name="/recognize_entities")
    assert spans(entities) == CHINESE_ENTITIES
    assert "".join(piece["token"] for piece in highlighted) == CHINESE
    loaded, note = studio.loaded("ner", CHINESE_MODEL)
    assert loaded.ref == ner.LAC_REF
    assert note == "offline: using Baidu LAC (Chinese) from the offline pack"


def test_english_text_with_no_model_stays_with_the_default(multilingual_app, tiny_models):
    client, studio = multilingual_app
    client.predict("Angela Merkel met Emmanuel Macron in Berlin.", "", api_name="/recognize_entities")
    loaded, _ = studio.loaded("ner", None)
    assert loaded.ref == str(tiny_models["ner"])


def test_the_medical_choice_over_http_finds_a_drug_and_a_disease(multilingual_app):
    client, _ = multilingual_app
    for model in ("Medical entities, English (offline pack)", MEDICAL_MODEL):
        _, entities = client.predict(CLINICAL, model, api_name="/recognize_entities")
        kinds = {(e["word"], e["entity_group"]) for e in entities}
        assert {("metformin", "DRUG"), ("type 2 diabetes mellitus", "DISEASE")} <= kinds
        assert all(CLINICAL[e["start"] : e["end"]] == e["word"] for e in entities)


def test_the_shipped_config_routes_chinese_and_medical_models_to_the_pack_offline():
    from studio.config import load_config
    from studio.runtime import Studio
    from tests.conftest import ROOT

    studio = Studio(load_config(ROOT / "models.toml"))
    assert studio.task("ner").options["chinese"] == CHINESE_MODEL
    assert studio.fallback_for("ner", CHINESE_MODEL)[0] == ner.LAC_REF
    assert studio.fallback_for("ner", MEDICAL_MODEL)[0] == ner.MEDICAL_REF
    assert studio.fallback_for("ner", "dslim/bert-base-NER")[0] == "pack:spacy-en-sm"
    assert studio.resolve("ner", "Medical entities, English (offline pack)") == ner.MEDICAL_REF
    assert ner.model_for_text(studio, "", CHINESE) == CHINESE_MODEL
    assert ner.model_for_text(studio, "dslim/bert-base-NER", CHINESE) == CHINESE_MODEL
    assert ner.model_for_text(studio, ner.MEDICAL_REF, CHINESE) == ner.MEDICAL_REF
    assert ner.model_for_text(studio, "", CLINICAL) == ""


def test_split_tag_reads_bioes_and_bmes_prefixes():
    assert ner._split_tag("S-name") == ("B", "name")
    assert ner._split_tag("E-PERSON") == ("I", "PERSON")
    assert ner._split_tag("M-ORG") == ("I", "ORG")
    assert ner._split_tag("B-LOC") == ("B", "LOC")
    assert ner._split_tag("PER") == ("I", "PER")


def test_a_cluener_model_answers_people_places_and_organisations_as_per_loc_org(tmp_path):
    """CLUENER2020's own types (name, address, company…), as uer's Chinese model writes them in B-/I-/S- tags, come
    back as the API's PER / LOC / ORG; its other types keep their names."""
    from transformers import BertForTokenClassification

    from tests.tiny_models import _build_bert

    cluener = ["address", "book", "company", "game", "government", "movie", "name", "organization", "position", "scene"]
    labels = ["O", *(f"{prefix}-{kind}" for kind in cluener for prefix in "BIS")]
    folder = _build_bert(tmp_path / "tiny-cluener", BertForTokenClassification, False, labels)
    recognizer = ner.load(str(folder), "cpu")
    answered = {"PER", "LOC", "ORG", "book", "game", "movie", "position", "scene"}
    assert ner.entity_types(recognizer) == sorted(answered)
    text = "The quick brown fox jumps over the lazy dog in London with Ada"
    entities = ner.predict(recognizer, [text])[0]
    assert entities, "a random tiny model tags something"
    assert {e["entity_group"] for e in entities} <= answered
    assert all(text[e["start"] : e["end"]] == e["word"] for e in entities)
