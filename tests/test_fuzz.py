"""Fuzzing what users type and upload: every input gives a result or a one-sentence message, never a crash.

The text tasks are fuzzed through the same functions the endpoints run (their predict and the gr.Error
policy), so a result must also survive being sent as JSON, as the server sends it.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gradio as gr
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finetune.data import MIN_ROWS, prepare
from studio.errors import DataError, encodable
from studio.files.classes import MIN_PER_CLASS
from studio.files.tables import guess_columns, read_table

EMPTY_TEXT = "The text is empty; type or paste some text first."
FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]}

# Every kind of character, lone surrogates (JSON can carry them) and control characters included,
# with the scripts and symbols people really paste weighted in.
LONE_SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)
ANY_CHARACTER = st.one_of(st.characters(), st.characters(categories=["Cc"]), LONE_SURROGATE)
PASTED = st.sampled_from(
    [
        "Angela Merkel",
        " Berlin",
        ". ",
        "\n",
        "\r\n",
        "\t",
        "مرحبا",
        "\u202e",
        "\u200b",
        "👨‍👩‍👧",
        "🍕",
        "Ünïcödé",
        "東京",
    ]
)
TEXTS = st.lists(st.one_of(st.lists(ANY_CHARACTER, max_size=20).map("".join), PASTED), max_size=12).map("".join)


@pytest.fixture(scope="module")
def endpoints(config_file):
    """The functions behind /classify_text, /recognize_entities and /translate, as the app built them."""
    import app
    from studio.config import load_config

    demo, studio = app.build_app(load_config(config_file))
    functions = {fn.api_name: fn.fn for fn in demo.fns.values() if fn.api_name}
    return functions, studio.config.limits.max_text_chars


def call(function, text: str):
    """The endpoint's answer, or its gr.Error message; anything else is a failure of the error policy."""
    try:
        result = function(text, None)
    except gr.Error as error:
        assert error.message == EMPTY_TEXT, error.message
        assert not encodable(text).replace("\x00", "").strip()
        return None
    orjson.dumps(result)  # what the server does with it: lone surrogates or other non-JSON would fail here
    return result


def cleaned(text: str, max_chars: int) -> str:
    return encodable(text.replace("\x00", ""))[:max_chars]


@settings(**FUZZ, max_examples=150)
@given(text=TEXTS)
def test_classify_text_takes_any_text(endpoints, text):
    functions, _ = endpoints
    scores = call(functions["classify_text"], text)
    if scores is not None:
        assert set(scores) == {"POSITIVE", "NEGATIVE"}
        assert sum(scores.values()) == pytest.approx(1.0, abs=1e-4)


@settings(**FUZZ, max_examples=150)
@given(text=TEXTS)
def test_recognize_entities_takes_any_text_and_its_offsets_hold(endpoints, text):
    functions, max_chars = endpoints
    result = call(functions["recognize_entities"], text)
    if result is None:
        return
    pieces, entities = result
    shown = cleaned(text, max_chars)
    assert "".join(piece for piece, _ in pieces) == shown
    for entity in entities:
        assert shown[entity["start"] : entity["end"]] == entity["word"]


@settings(**FUZZ, max_examples=40)
@given(text=st.lists(st.one_of(st.lists(ANY_CHARACTER, max_size=8).map("".join), PASTED), max_size=6).map("".join))
def test_translate_takes_any_text_and_keeps_its_line_breaks(endpoints, text):
    functions, max_chars = endpoints
    translation = call(functions["translate"], text)
    if translation is not None:
        assert isinstance(translation, str)
        assert translation.count("\n") == cleaned(text, max_chars).count("\n")


# ---- The dataset reader: whatever arrives, labelled texts or a DataError that can be shown ----

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.lists(ANY_CHARACTER, max_size=12).map("".join)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)
KEYS = st.one_of(
    st.sampled_from(["text", "label", "review", "category", "id", ""]), st.lists(ANY_CHARACTER, max_size=6).map("".join)
)
RECORDS = st.lists(
    st.one_of(
        st.dictionaries(KEYS, JSON_VALUES, max_size=4),
        st.fixed_dictionaries(
            {
                "text": st.lists(ANY_CHARACTER, max_size=30).map("".join),
                "label": st.sampled_from(["a", "b", "", " a ", "1", 2]),
            }
        ),
        JSON_VALUES,
    ),
    max_size=25,
)


@st.composite
def uploads(draw: st.DrawFn) -> tuple[str, bytes]:
    """A JSON, JSONL or TSV upload: well-formed and not, in any characters."""
    kind = draw(st.sampled_from([".json", ".jsonl", ".tsv", ".csv"]))
    if kind == ".json":
        document = draw(st.one_of(RECORDS, st.fixed_dictionaries({"data": RECORDS}), JSON_VALUES))
        return kind, json.dumps(document, ensure_ascii=draw(st.booleans()), allow_nan=True).encode("utf-8", "replace")
    if kind == ".jsonl":
        lines = [json.dumps(record) for record in draw(RECORDS)] + draw(st.lists(st.text(max_size=10), max_size=2))
        return kind, "\n".join(draw(st.permutations(lines))).encode()
    separator = "\t" if kind == ".tsv" else draw(st.sampled_from([",", ";"]))
    cells = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=15)
    rows = draw(st.lists(st.tuples(cells, st.sampled_from(["a", "b", "", "c"])), max_size=30))
    header = draw(st.sampled_from(["text{0}label", "\ufefftext{0}label", "review{0}category", "a{0}b{0}c"]))
    body = "\n".join([header.format(separator), *(f"{text}{separator}{label}" for text, label in rows)])
    return kind, body.encode("utf-8")


@settings(**FUZZ, max_examples=300)
@given(upload=uploads())
def test_any_upload_gives_labelled_texts_or_a_message_that_can_be_shown(upload):
    suffix, content = upload
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        try:
            df = read_table(path, max_rows=1000)
            text_column, label_column = guess_columns(df)
            data = prepare(df, text_column or "text", label_column or "label")
        except DataError as error:
            message = str(error)
            assert message.endswith("."), message
            message.encode("utf-8")  # it goes out as JSON
            return
    assert len(data.texts) == len(data.labels) >= MIN_ROWS
    assert set(data.labels) == set(data.label_names)
    assert all(data.labels.count(label) >= MIN_PER_CLASS for label in data.label_names)
    for value in [*data.texts, *data.labels]:
        value.encode("utf-8")  # a tokenizer takes it
        assert value.strip()
