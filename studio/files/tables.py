"""Tables as people save them: CSV (commas, semicolons, tabs), TSV, JSON, JSONL and Parquet, in any encoding."""

from __future__ import annotations

import codecs
import contextlib
import json
import math
import numbers
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.errors import DataError, UserError, encodable
from studio.i18n import Listed, word

if TYPE_CHECKING:
    import pandas
SUPPORTED_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet")
PREVIEW_CHARS = 200
MAX_GUESSED_LABELS = 50
TEXT_COLUMN_NAMES = ("text", "sentence", "review", "content", "body", "message", "document", "tweet")
LABEL_COLUMN_NAMES = ("label", "labels", "target", "class", "category", "topic", "sentiment", "intent", "y")
NOT_TEXT = "The file is not text in any encoding this app reads; upload a CSV, TSV, JSON or JSONL text file."
# What separates a CSV file's cells, as messages name it: words of the translation table.
SEPARATOR_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}
LABEL_SEPARATOR = ";"  # between the labels of a text that has several ("sport;politics")


# Enough of a file to tell its encoding; the whole file is then decoded with it.
ENCODING_SAMPLE_BYTES = 1 << 20
LATIN_CODE_PAGES = {"cp1250", "cp1252", "cp1257", "latin_1", "iso8859_15", "iso8859_2", "mac_latin2", "cp775", "cp850"}
ENCODING_NAMES = {"utf_8": "UTF-8", "utf_8_sig": "UTF-8 with BOM", "utf_16": "UTF-16", "ascii": "UTF-8"}
RECORD_EXAMPLE = '{"text": "...", "label": "..."}'
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def read_text(path: Path) -> tuple[str, str]:
    """A text file's content and the name of the encoding it was read in.

    UTF-8 (with or without a byte-order mark) and UTF-16 are read as such; anything else — what Excel's plain "CSV"
    writes on Windows is Windows-1252 — is read in the encoding charset-normalizer detects. Only bytes that are
    no text in any encoding are refused.
    """
    raw = path.read_bytes()
    boms = ((codecs.BOM_UTF8, "utf_8_sig"), (codecs.BOM_UTF16_LE, "utf_16"), (codecs.BOM_UTF16_BE, "utf_16"))
    for bom, encoding in boms:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding), ENCODING_NAMES[encoding]
            except UnicodeDecodeError:
                raise DataError(NOT_TEXT) from None
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:ENCODING_SAMPLE_BYTES]).best()
    if best is None:
        raise DataError(NOT_TEXT)
    encoding = best.encoding
    # A few accented letters fit every Latin code page equally well; Windows-1252 is the one Excel writes.
    if encoding in LATIN_CODE_PAGES and _decodes(raw, "cp1252"):
        encoding = "cp1252"
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise DataError(NOT_TEXT) from None
    if "\x00" in text:  # a binary file that happens to decode
        raise DataError(NOT_TEXT)
    return text, ENCODING_NAMES.get(encoding, _encoding_name(encoding))


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        return not any("\x80" <= c <= "\x9f" for c in raw.decode(encoding))  # C1 controls: the wrong page
    except UnicodeDecodeError:
        return False


def _encoding_name(codec: str) -> str:
    """Python's codec name as people know it: cp1252 -> Windows-1252, latin_1 -> Latin-1."""
    if codec.startswith("cp") and codec[2:].isdigit():
        return f"Windows-{codec[2:]}"
    return {"latin_1": "Latin-1", "iso8859_15": "Latin-9", "mac_roman": "Mac Roman"}.get(
        codec, codec.replace("_", "-").upper()
    )


def file_size(path: Path) -> int:
    """The upload's size in bytes; an upload that is gone (the app's clean-up, a stale page) is said so."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise DataError("The file '{name}' does not exist any more; upload it again.", name=path.name) from None


def read_table(path: str | Path, max_rows: int = 200_000, max_bytes: int = 200 * 2**20) -> pandas.DataFrame:
    """Read a CSV, TSV, JSON, JSONL or Parquet file into a frame whose cells are strings ("" where missing).

    `frame.attrs["encoding"]` says which encoding a text file was read in.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        if path.suffix:
            raise DataError(
                "A '{suffix}' file cannot be read; upload a {formats} file.",
                suffix=path.suffix,
                formats=_or_list(SUPPORTED_SUFFIXES),
            )
        raise DataError(
            "A file without an extension cannot be read; upload a {formats} file.", formats=_or_list(SUPPORTED_SUFFIXES)
        )
    size = file_size(path)
    if size == 0:
        raise DataError("The file is empty; upload a file with a header row and a row per example below it.")
    if size > max_bytes:
        raise DataError(
            "The file is {size}; the limit is {limit}, so upload a smaller sample.",
            size=_size(size, max_bytes),
            limit=_size(max_bytes, max_bytes),
        )
    if suffix == ".parquet":
        df, encoding = _read_parquet(path, max_rows), None
    else:
        text, encoding = read_text(path)
        if suffix in (".csv", ".tsv"):
            df = _read_delimited(text, suffix, max_rows)
        elif suffix == ".json":
            df = _read_json(text, max_rows)
        else:
            df = _read_jsonl(text, max_rows)
    df.attrs["encoding"] = encoding
    if len(df.columns) == 0:
        raise DataError("The file has no columns; it needs a text column and a label column, such as text,label.")
    if len(df) > max_rows:
        raise _too_many_rows(max_rows)
    return df


def text_and_label_columns(df: pandas.DataFrame, text_column: str = "", label_column: str = "") -> tuple[str, str]:
    """The text and label columns a user chose (empty: guessed), once both are in the table."""
    guessed_text, guessed_label = guess_columns(df)
    chosen = ((text_column or guessed_text or "").strip(), (label_column or guessed_label or "").strip())
    for column in chosen:
        if column not in df.columns:
            raise DataError(
                "The file has no column '{column}'; choose the text and label columns among: {columns}.",
                column=column,
                columns=", ".join(map(str, df.columns)),
            )
    return chosen


def guess_columns(df: pandas.DataFrame) -> tuple[str | None, str | None]:
    """Guess which column holds the texts and which the labels; None where nothing fits."""
    columns = list(df.columns)
    text = _named_column(columns, TEXT_COLUMN_NAMES)
    label = _named_column([c for c in columns if c != text], LABEL_COLUMN_NAMES)
    if text is None:
        text = _longest_text_column(df, [c for c in columns if c != label])
    if label is None:
        label = _few_values_column(df, [c for c in columns if c != text])
    return text, label


def preview(df: pandas.DataFrame, rows: int = 5) -> pandas.DataFrame:
    """The first rows, with long cells cut to PREVIEW_CHARS characters ending in an ellipsis."""
    return df.head(rows).map(_shorten)


def _read_delimited(text: str, suffix: str, max_rows: int) -> pandas.DataFrame:
    import io

    import pandas as pd

    kind = "CSV" if suffix == ".csv" else "TSV"
    sep = _separator(text, "," if suffix == ".csv" else "\t")
    sep_name = word(SEPARATOR_NAMES[sep])
    try:
        with warnings.catch_warnings():
            # A row longer than the header is otherwise cut short silently.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                io.StringIO(text.lstrip("\ufeff")),
                sep=sep,
                dtype=str,
                na_filter=False,
                index_col=False,
                nrows=max_rows + 1,
            )
    except pd.errors.EmptyDataError:
        raise DataError("The file has no columns; its first line must name them, such as text,label.") from None
    except pd.errors.ParserWarning:
        raise DataError(
            "A row has more cells than the header row; put quotes around cells that contain {separator} "
            "and upload the file again.",
            separator=sep_name,
        ) from None
    except ValueError as error:
        detail = str(error).replace("Error tokenizing data. C error:", "").strip()
        counts = _FIELD_COUNT.search(detail)
        if counts:
            expected, line, saw = counts.groups()
            raise DataError(
                "Line {line} has {saw} cells but the header row has {expected}; put quotes around cells that "
                "contain {separator} and upload the file again.",
                line=line,
                saw=saw,
                expected=expected,
                separator=sep_name,
            ) from None
        raise DataError(
            "The file could not be read as {kind} ({detail}); save it as {kind} with a header row and upload it again.",
            kind=kind,
            detail=detail,
        ) from None


def _separator(text: str, default: str) -> str:
    """The separator of a .csv file, which Excel in many locales writes with semicolons."""
    if default != ",":
        return default
    head = text[:65536].lstrip("\ufeff")
    first_line = head.splitlines()[0] if head.splitlines() else ""
    if "," not in first_line:
        for sep in (";", "\t"):
            if sep in first_line:
                return sep
    return default


def _read_json(text: str, max_rows: int) -> pandas.DataFrame:
    try:
        # Numbers are kept as written, so a label 007 or 1e3 stays exactly that.
        document = json.loads(text.lstrip("\ufeff"), parse_int=str, parse_float=str)
    except json.JSONDecodeError as error:
        raise DataError(
            "The file is not valid JSON (line {line}: {reason}); upload a JSON list of objects such as [{example}].",
            line=error.lineno,
            reason=error.msg,
            example=RECORD_EXAMPLE,
        ) from None
    except RecursionError:
        raise DataError(
            "The file nests too deeply; upload a JSON list of objects such as [{example}].", example=RECORD_EXAMPLE
        ) from None
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        document = document["data"]
    if not isinstance(document, list):
        raise DataError(
            "The JSON file holds {kind}, not a list; upload a list of objects such as [{example}].",
            kind=_json_kind(document),
            example=RECORD_EXAMPLE,
        )
    if len(document) > max_rows:
        raise _too_many_rows(max_rows, len(document))
    return _frame_from_records(document)


def _read_jsonl(text: str, max_rows: int) -> pandas.DataFrame:
    records = []
    # Split on newlines only: a JSON string may hold U+2028 and the other characters str.splitlines breaks at.
    for number, line in enumerate(text.lstrip("\ufeff").split("\n"), 1):
        if not line.strip():
            continue
        if len(records) == max_rows:
            raise _too_many_rows(max_rows)
        try:
            records.append(json.loads(line, parse_int=str, parse_float=str))
        except (json.JSONDecodeError, RecursionError) as error:
            reason = error.msg if isinstance(error, json.JSONDecodeError) else word("nested too deeply")
            raise DataError(
                "Line {number} is not valid JSON ({reason}); each line of a .jsonl file must be one object "
                "such as {example}.",
                number=number,
                reason=reason,
                example=RECORD_EXAMPLE,
            ) from None
    return _frame_from_records(records)


def _frame_from_records(records: list[Any]) -> pandas.DataFrame:
    import pandas as pd

    columns: dict[str, None] = {}
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise DataError(
                "Row {number} of the file is {kind}, not an object; each row must look like {example}.",
                number=number,
                kind=_json_kind(record),
                example=RECORD_EXAMPLE,
            )
        columns.update(dict.fromkeys(record))
    cells = [[_json_cell(record.get(column)) for column in columns] for record in records]
    # JSON escapes can spell lone surrogates, which pandas' Arrow strings (and any tokenizer) refuse.
    return pd.DataFrame(cells, columns=[encodable(column) for column in columns], dtype=str)


def _read_parquet(path: Path, max_rows: int) -> pandas.DataFrame:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        if parquet.metadata.num_rows > max_rows:
            raise _too_many_rows(max_rows, parquet.metadata.num_rows)
        df = parquet.read().to_pandas()
    except (pa.ArrowException, OSError, ValueError, TypeError) as error:
        raise DataError(
            "The file could not be read as Parquet ({error}); export it again as Parquet or upload a CSV file.",
            error=str(error),
        ) from None
    return pd.DataFrame({str(column): [_cell_text(v) for v in df[column].tolist()] for column in df.columns}, dtype=str)


def _too_many_rows(max_rows: int, count: int | None = None) -> DataError:
    if count is None:
        return DataError(
            "The file has more than {limit:,} rows; the limit is {limit:,} rows, so upload a smaller sample.",
            limit=max_rows,
        )
    return DataError(
        "The file has {count:,} rows; the limit is {limit:,} rows, so upload a smaller sample.",
        count=count,
        limit=max_rows,
    )


def _size(n_bytes: int, limit: int) -> str:
    """n_bytes in the unit that suits the limit, rounded up so a file just over the limit never reads as equal."""
    for unit, scale in (("MB", 2**20), ("KB", 2**10), ("bytes", 1)):
        if limit >= scale:
            return f"{math.ceil(n_bytes / scale):,} {unit}"
    return f"{n_bytes:,} bytes"


def _or_list(items: Iterable[str]) -> Listed:
    return Listed(list(items), Listed.OR)


def _json_kind(value: Any) -> Any:
    """What a JSON value is, as a message says it (a word or phrase of the translation table)."""
    if isinstance(value, dict):
        return word("an object")
    if isinstance(value, list):
        return word("a list")
    if value is None:
        return "null"
    return UserError("the value {value}", value=json.dumps(value)[:40])


def _json_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return encodable(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else json.dumps(value)
    return encodable(json.dumps(value, ensure_ascii=False))


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if is_missing(value):
        return ""
    return label_value(value)


def label_set(value: Any) -> list[str]:
    """The labels of one cell of a multi-label column, in their order, each once: a list, a JSON list, or labels
    separated by ";"."""
    if isinstance(value, str) and value.strip().startswith("["):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
        items = [label_value(item) for item in value]
    else:
        items = [part.strip() for part in label_value(value).split(LABEL_SEPARATOR)]
    return list(dict.fromkeys(encodable(item) for item in items if item))


def label_value(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if is_missing(value):
        return ""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    # A column of integer labels with a gap is stored as floats; 1.0 is still the label 1.
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def natural_order(labels: Iterable[str]) -> list[str]:
    unique = set(labels)
    if all(_INTEGER.fullmatch(label) for label in unique):
        return sorted(unique, key=lambda label: (int(label), label))
    return sorted(unique)


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > PREVIEW_CHARS:
        return value[: PREVIEW_CHARS - 1] + "…"
    return value


def _named_column(columns: list[Any], names: tuple[str, ...]) -> Any:
    normal = {column: str(column).strip().lower() for column in columns}
    for name in names:
        for column in columns:
            if normal[column] == name:
                return column
    return None


def _longest_text_column(df: pandas.DataFrame, columns: list[Any]) -> Any:
    best, best_length = None, 0.0
    sample = df.head(2000)
    for column in columns:
        values = [v for v in map(_cell_text, sample[column].tolist()) if v.strip()]
        words = [v for v in values if not _NUMBER.fullmatch(v.strip())]
        if not words or len(words) * 2 < len(values):
            continue
        length = sum(len(v) for v in words) / len(words)
        if length > best_length:
            best, best_length = column, length
    return best


def _few_values_column(df: pandas.DataFrame, columns: list[Any]) -> Any:
    best, best_distinct = None, MAX_GUESSED_LABELS + 1
    for column in columns:
        try:
            if df[column].nunique() > 4 * MAX_GUESSED_LABELS:
                continue
        except TypeError:
            continue
        values = {label_value(v) for v in df[column].tolist()} - {""}
        if 2 <= len(values) < best_distinct and len(values) < len(df) / 2:
            best, best_distinct = column, len(values)
    return best
