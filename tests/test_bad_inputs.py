"""The bad-input matrix: one case per row, over the six endpoints, each with its exact message.

Every row sends one request through the real HTTP queue protocol (what the page and gradio_client
speak), asserts what the user is told, and then that a good request still succeeds.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import subprocess
import time
import uuid
import wave
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.conftest import free_port

NOT_AN_IMAGE = "The file is not an image this app can read; upload a PNG, JPEG, WebP, GIF or BMP picture."
DAMAGED_IMAGE = "The image file is damaged or incomplete; upload it again or try another picture."
NOT_AUDIO = (
    "The file could not be read as audio; upload a sound or video file with an audio track "
    "(wav, mp3, m4a, ogg, flac, webm, mp4)."
)
EMPTY_TEXT = "The text is empty; type or paste some text first."
UNKNOWN_MODEL = "Unknown model '{}'; choose one of the models the dropdown lists."
UNKNOWN_BASE = "Unknown base model '{}'; choose one of the base models the list offers."
NOT_TEXT = "The file is not text in any encoding this app reads; upload a CSV, TSV, JSON or JSONL text file."
MAX_TEXT_CHARS = 1000
MAX_UPLOAD_MB = 8
MAX_ROWS = 200_000


# ---- The app under test, and a client that speaks Gradio's queue protocol ----


def write_matrix_config(
    folder: Path, models: dict[str, Path], app_settings: str = "", choices: dict[str, dict[str, Path]] | None = None
) -> Path:
    """A models.toml with every task on the tiny models (plus any `choices`), fine-tuning from the tiny classifier."""
    choices = choices or {}

    def section(task: str) -> str:
        listed = {"Tiny": models[task], **choices.get(task, {})}
        lines = "\n".join(f'"{label}" = "{ref}"' for label, ref in listed.items())
        return f'[{task}]\ndefault = "{models[task]}"\n[{task}.choices]\n{lines}\n'

    path = folder / "models.toml"
    tasks = ("text_classification", "ner", "translation", "speech", "image_classification")
    path.write_text(
        f"""
[app]
max_text_chars = {MAX_TEXT_CHARS}
max_upload_mb = {MAX_UPLOAD_MB}
max_dataset_rows = {MAX_ROWS}
runs_dir = "{folder / "runs"}"
{app_settings}

{"".join(section(task) for task in tasks)}
[finetune]
default = "{models["text_classification"]}"
""",
        encoding="utf-8",
    )
    return path


def start_app(config_path: Path):
    """The real app for this config, serving on a free loopback port with the upload limit main() sets."""
    import app
    from studio.config import load_config

    config = load_config(config_path)
    demo, studio = app.build_app(config)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        max_file_size=f"{config.limits.max_upload_mb}mb",
    )
    return demo, studio, f"http://127.0.0.1:{port}/"


@dataclass
class Outcome:
    """What the user is told: a result, or an error message (None: Gradio refused without one)."""

    ok: bool
    value: Any = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    status: int = 200


class Api:
    """POST /queue/join, then read the event's messages from /queue/data, as the page does."""

    def __init__(self, url: str, language: str | None = None):
        self.url = url
        # A browser sends its language; gradio_client sends none.
        self.http = httpx.Client(timeout=600, headers={"Accept-Language": language} if language else None)
        config = self.http.get(url + "config").json()
        self.fn_index = {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}
        # Inputs a request leaves out take their defaults, as gradio_client does.
        endpoints = self.http.get(url + "gradio_api/info").json()["named_endpoints"]
        self.defaults = {
            name.lstrip("/"): [p.get("parameter_default") for p in endpoint["parameters"]]
            for name, endpoint in endpoints.items()
        }

    def upload(self, name: str, content: bytes) -> dict | Outcome:
        response = self.http.post(self.url + "gradio_api/upload", files=[("files", (name, content))])
        if response.status_code != 200:
            return Outcome(False, error=response.text, status=response.status_code)
        return {"path": response.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def join(self, api_name: str, data: list, session_hash: str) -> httpx.Response:
        # ensure_ascii keeps lone surrogates sendable, as JSON escapes, the way a browser sends them.
        data = [*data, *self.defaults[api_name][len(data) :]]
        body = {"data": data, "fn_index": self.fn_index[api_name], "session_hash": session_hash}
        body.update(event_data=None, trigger_id=None)
        return self.http.post(
            self.url + "gradio_api/queue/join",
            content=json.dumps(body, ensure_ascii=True),
            headers={"content-type": "application/json"},
        )

    def call(self, api_name: str, *data: Any) -> Outcome:
        session = uuid.uuid4().hex
        joined = self.join(api_name, list(data), session)
        if joined.status_code != 200:
            return Outcome(False, error=joined.json().get("detail"), status=joined.status_code)
        warnings = []
        with self.http.stream("GET", self.url + "gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message["msg"] == "log" and message.get("level") == "warning":
                    warnings.append(message["log"])
                if message["msg"] == "process_completed":
                    output = message["output"]
                    if message["success"]:
                        data_out = output["data"]
                        return Outcome(True, data_out[0] if len(data_out) == 1 else data_out, warnings=warnings)
                    return Outcome(False, error=output.get("error"), warnings=warnings)
        raise AssertionError("the event stream ended without a result")


@pytest.fixture(scope="module")
def matrix_app(tiny_models, tmp_path_factory):
    folder = tmp_path_factory.mktemp("matrix")
    demo, studio, url = start_app(write_matrix_config(folder, tiny_models))
    yield Api(url), studio
    demo.close()


def assert_still_serving(api: Api) -> None:
    good = api.call("classify_text", "a great movie", None)
    assert good.ok, good.error
    assert {c["label"] for c in good.value["confidences"]} == {"POSITIVE", "NEGATIVE"}


# ---- Files, made here so every case is exactly reproducible ----


def png(width: int, height: int, bit_depth: int = 8) -> bytes:
    """A valid grayscale PNG of one colour, written row by row so even 400 megapixels cost little memory."""
    row = b"\x00" + bytes(math.ceil(width * bit_depth / 8))
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def wav(seconds: float, amplitude: float = 0.5, rate: int = 16_000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    samples = (amplitude * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def eight_hour_recording(folder: Path) -> bytes:
    """One second of tone in a Matroska file whose header says 8 hours: what ffprobe reads before decoding."""
    path = folder / "tone.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=16000:duration=1"]
        + ["-c:a", "pcm_s16le", str(path)],
        check=True,
    )
    content = bytearray(path.read_bytes())
    duration = content.find(b"\x44\x89\x88")  # the Segment Info's Duration element, an 8-byte float in ms
    assert duration > 0
    content[duration + 3 : duration + 11] = struct.pack(">d", 8 * 3600 * 1000.0)
    return bytes(content)


def csv_rows(rows: list[tuple[str, str]], header: str = "text,label") -> str:
    return header + "\n" + "".join(f"{text},{label}\n" for text, label in rows)


def two_labels(n: int = 20) -> list[tuple[str, str]]:
    return [(f"a {'good' if i % 2 else 'bad'} day number {i}", "pos" if i % 2 else "neg") for i in range(n)]


# ---- The matrix ----


@dataclass
class Row:
    """One bad input: the request, then either the exact error message or a check on the result."""

    id: str
    api: str
    inputs: Callable[[Api, Path], list]
    error: str | None = None
    check: Callable[[Any], None] | None = None
    warnings: tuple[str, ...] = ()

    def told(self, error: str | None) -> bool:
        """The exact message; one ending in "…" is matched up to there (for a very long list)."""
        if self.error.endswith("…"):
            return error is not None and error.startswith(self.error[:-1])
        return error == self.error


def text(value: str, model: str | None = None) -> Callable[[Api, Path], list]:
    return lambda api, folder: [value, model]


def upload(name: str, content: bytes | Callable[[Path], bytes], *rest: Any) -> Callable[[Api, Path], list]:
    def inputs(api: Api, folder: Path) -> list:
        data = content(folder) if callable(content) else content
        file = api.upload(name, data)
        assert not isinstance(file, Outcome), file
        return [file, *rest]

    return inputs


def finetune(name: str, content: str | bytes, **options: Any) -> Callable[[Api, Path], list]:
    def inputs(api: Api, folder: Path) -> list:
        data = content.encode() if isinstance(content, str) else content
        file = api.upload(name, data) if data is not None else None
        values = {"text_column": None, "label_column": None, "base_model": None, **options}
        return [file, values["text_column"], values["label_column"], values["base_model"], 1, 0, 16, 128, 0.2, 0, None]

    return inputs


def labels_scored(result: dict) -> None:
    assert {c["label"] for c in result["confidences"]} == {"POSITIVE", "NEGATIVE"}


def entities_index_the_text(result: list) -> None:
    pieces, entities = result
    joined = "".join(piece["token"] for piece in pieces)
    for entity in entities:
        assert joined[entity["start"] : entity["end"]] == entity["word"]


def a_translation(result: str) -> None:
    assert isinstance(result, str)


def five_classes(result: dict) -> None:
    assert len(result["confidences"]) == 5


def hello_world(result: list) -> None:
    transcript, language = result[:2]
    assert transcript == "Hello world"
    assert language.endswith("%)")


def hello_world_in_english_as_chosen(result: list) -> None:
    assert result[:2] == ["Hello world", "English (chosen)"]


ONE_MB = "great movie, truly great. " * 40_000
CLIPPED = f"The text is {len(ONE_MB):,} characters long; only the first {MAX_TEXT_CHARS:,} were used."
TRUNCATED = "The text is longer than this model reads (128 tokens); only its beginning was classified."

ROWS = [
    # Text: empty, blank and NUL-only are mistakes; control characters, RTL, emoji and odd Unicode are text.
    Row("empty text", "/classify_text", text(""), EMPTY_TEXT),
    Row("whitespace text", "/recognize_entities", text("   \n\t \u3000 "), EMPTY_TEXT),
    Row("NUL-only text", "/translate", text("\x00\x00\x00"), EMPTY_TEXT),
    Row(
        "control characters", "/classify_text", text("\x07bell \x1b[31mred\x1b[0m \x08back\r\x0c"), check=labels_scored
    ),
    Row(
        "right-to-left text",
        "/recognize_entities",
        text("\u202eمرحبا Angela Merkel في برلين\u202c"),
        check=entities_index_the_text,
    ),
    Row("emoji text", "/translate", text("I love pizza 🍕🔥 and my family 👨‍👩‍👧!"), check=a_translation),
    Row("lone surrogate", "/classify_text", text("broken \ud83d half of an emoji"), check=labels_scored),
    Row(
        "lone surrogate in entities", "/recognize_entities", text("Angela \udc00 Merkel"), check=entities_index_the_text
    ),
    Row("zero-width characters only", "/classify_text", text("\u200b\u200c\u200d\ufeff"), check=labels_scored),
    Row("1 MB of text to classify", "/classify_text", text(ONE_MB), check=labels_scored, warnings=(CLIPPED, TRUNCATED)),
    Row(
        "long text with a lone surrogate",
        "/classify_text",
        text("great movie, truly great. " * 30 + "\ud83d"),
        check=labels_scored,
        warnings=(TRUNCATED,),
    ),
    Row(
        "1 MB of text for entities",
        "/recognize_entities",
        text(ONE_MB),
        check=entities_index_the_text,
        warnings=(CLIPPED,),
    ),
    Row("1 MB of text to translate", "/translate", text(ONE_MB), check=a_translation, warnings=(CLIPPED,)),
    # Model names: only the listed choices load; nothing a client makes up is opened.
    Row("unknown model", "/classify_text", text("hello", "no-such-model"), UNKNOWN_MODEL.format("no-such-model")),
    Row(
        "Hub-looking name with ..",
        "/recognize_entities",
        text("hello", "dslim/../../etc/passwd"),
        UNKNOWN_MODEL.format("dslim/../../etc/passwd"),
    ),
    Row("absolute path as model", "/translate", text("hello", "/etc/passwd"), UNKNOWN_MODEL.format("/etc/passwd")),
    Row(
        "absolute path as Whisper model",
        "/transcribe",
        upload("tone.wav", wav(1.0), "/root/.cache/whisper/base.pt", "", "transcribe"),
        UNKNOWN_MODEL.format("/root/.cache/whisper/base.pt"),
    ),
    Row(
        "traversal as image model",
        "/classify_image",
        upload("one.png", png(1, 1), "../../../tmp/evil"),
        UNKNOWN_MODEL.format("../../../tmp/evil"),
    ),
    Row(
        "model name that is not a string",
        "/classify_text",
        lambda api, folder: ["hello", ["a", "b"]],
        UNKNOWN_MODEL.format("['a', 'b']"),
    ),
    Row(
        "model name with a lone surrogate",
        "/classify_text",
        text("hello", "x\ud800y"),
        UNKNOWN_MODEL.format("x\ufffdy"),
    ),
    # Images.
    Row("no image", "/classify_image", lambda api, folder: [None, None], "No image was given; upload a picture first."),
    Row("zero-length image", "/classify_image", upload("empty.png", b""), NOT_AN_IMAGE),
    Row("text file named .png", "/classify_image", upload("notes.png", b"hello, I am not a picture"), NOT_AN_IMAGE),
    Row(
        "SVG with a script",
        "/classify_image",
        upload("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        NOT_AN_IMAGE,
    ),
    Row("truncated PNG", "/classify_image", upload("cut.png", png(64, 48)[:60]), DAMAGED_IMAGE),
    Row("1x1 image", "/classify_image", upload("dot.png", png(1, 1)), check=five_classes),
    Row("PNG named .mp3", "/classify_image", upload("song.mp3", png(32, 32)), check=five_classes),
    Row(
        "100-megapixel image",
        "/classify_image",
        upload("big.png", png(10_000, 10_000)),
        "The image is 10000×10000 pixels; the limit is 50 megapixels, so resize it first.",
    ),
    Row(
        "decompression bomb (400 megapixels in 50 KB)",
        "/classify_image",
        upload("bomb.png", png(20_000, 20_000, bit_depth=1)),
        "The image is 20000×20000 pixels; the limit is 50 megapixels, so resize it first.",
    ),
    # Audio.
    Row(
        "no audio",
        "/transcribe",
        lambda api, folder: [None, None, "", "transcribe"],
        "No audio was given; upload a file or record with the microphone first.",
    ),
    Row(
        "silent recording",
        "/transcribe",
        upload("quiet.wav", wav(2.0, amplitude=0.0), None, "", "transcribe"),
        "The recording is silent; check the microphone or upload a recording with speech.",
    ),
    Row("0.1 s of sound", "/transcribe", upload("blip.wav", wav(0.1), None, "", "transcribe"), check=hello_world),
    Row(
        "8 hours of audio",
        "/transcribe",
        upload("meeting.mkv", eight_hour_recording, None, "", "transcribe"),
        "The recording is 480.0 minutes long; the limit is 60 minutes, so cut it into shorter parts.",
    ),
    Row(
        "not audio", "/transcribe", upload("notes.wav", b"just some text, not sound", None, "", "transcribe"), NOT_AUDIO
    ),
    Row("zero-length audio", "/transcribe", upload("empty.wav", b"", None, "", "transcribe"), NOT_AUDIO),
    Row("PNG named .mp3 as audio", "/transcribe", upload("song.mp3", png(32, 32), None, "", "transcribe"), NOT_AUDIO),
    Row(
        "unknown task",
        "/transcribe",
        upload("tone.wav", wav(1.0), None, "", "summarize"),
        # Gradio checks the choice before our code runs.
        "Value: 'summarize' (type: <class 'str'>) is not in the list of choices: ['transcribe', 'translate']",
    ),
    Row(
        "unknown language",
        "/transcribe",
        upload("tone.wav", wav(1.0), None, "xx", "transcribe"),
        "'xx' is not a language Whisper knows; pick one from the list or leave it on automatic.",
    ),
    Row(
        "language by its name",
        "/transcribe",
        upload("tone.wav", wav(1.0), None, "English", "transcribe"),
        check=hello_world_in_english_as_chosen,
    ),
    # Fine-tuning data.
    Row(
        "no data file",
        "/finetune",
        finetune("", None),
        "No data file was given; upload a CSV, TSV, JSON, JSONL or Parquet file first.",
    ),
    Row(
        "zero-length CSV",
        "/finetune",
        finetune("empty.csv", ""),
        "The file is empty; upload a file with a header row and a row per example below it.",
    ),
    Row(
        "program file",
        "/finetune",
        finetune("setup.exe", b"MZ\x90\x00"),
        "Invalid file type. Please upload a file that is one of these formats: "
        "['.csv', '.tsv', '.json', '.jsonl', '.parquet']",
    ),
    Row(
        "a picture named .csv",
        "/finetune",
        finetune("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 16),
        NOT_TEXT,
    ),
    Row(
        "a million rows",
        "/finetune",
        finetune("million.csv", "text,label\n" + "t,a\n" * 1_000_000),
        f"The file has more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,} rows, so upload a smaller sample.",
    ),
    Row(
        "one class",
        "/finetune",
        finetune("same.csv", csv_rows([(f"text {i}", "spam") for i in range(20)])),
        "Every row has the label 'spam'; a classifier needs at least two different labels.",
    ),
    Row(
        "no text column",
        "/finetune",
        finetune("ids.csv", csv_rows([(str(i), "ab"[i % 2]) for i in range(20)], header="id,label")),
        "Could not tell which columns hold the text and the label; choose them in the lists.",
    ),
    Row(
        "named text column missing",
        "/finetune",
        finetune("data.csv", csv_rows(two_labels()), text_column="review", label_column="label"),
        "There is no column named 'review'; the columns are 'text', 'label', so pick one of those.",
    ),
    Row(
        "label with one example",
        "/finetune",
        finetune("rare.csv", csv_rows([*two_labels(), ("only once", "rare")])),
        "Each label needs at least 5 examples to train on; 'rare' has 1, so add examples of it or remove it.",
    ),
    Row(
        "label with three examples",
        "/finetune",
        finetune("few.csv", csv_rows([*two_labels(), *[(f"rare text {i}", "rare") for i in range(3)]])),
        "Each label needs at least 5 examples to train on; 'rare' has 3, so add examples of it or remove it.",
    ),
    Row(
        "JSON labels with lone surrogates",
        "/finetune",
        finetune("odd.json", json.dumps([{"text": f"t{i}", "label": "\ud800"} for i in range(12)])),
        "Every row has the label '\ufffd'; a classifier needs at least two different labels.",
    ),
    Row(
        "unknown base model",
        "/finetune",
        finetune("data.csv", csv_rows(two_labels()), base_model="some/unknown-model"),
        UNKNOWN_BASE.format("some/unknown-model"),
    ),
    Row(
        "base model with ..",
        "/finetune",
        finetune("data.csv", csv_rows(two_labels()), base_model="../../root/.ssh"),
        UNKNOWN_BASE.format("../../root/.ssh"),
    ),
    Row(
        "base model with a lone surrogate",
        "/finetune",
        finetune("data.csv", csv_rows(two_labels()), base_model="x\ud800y"),
        UNKNOWN_BASE.format("x\ufffdy"),
    ),
    Row(
        "absolute path as base model",
        "/finetune",
        finetune("data.csv", csv_rows(two_labels()), base_model="/etc"),
        UNKNOWN_BASE.format("/etc"),
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input(matrix_app, tmp_path, row: Row):
    api, _ = matrix_app
    outcome = api.call(row.api.lstrip("/"), *row.inputs(api, tmp_path))
    if row.error is not None:
        assert not outcome.ok, f"expected an error, got {outcome.value!r}"
        assert row.told(outcome.error), outcome.error
    else:
        assert outcome.ok, outcome.error
        row.check(outcome.value)
    assert outcome.warnings == list(row.warnings)
    assert_still_serving(api)


HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("row", [row for row in ROWS if row.error], ids=[row.id for row in ROWS if row.error])
def test_bad_input_told_in_chinese(matrix_app, tmp_path, row: Row):
    """The same mistakes from a browser set to Chinese: each message (and warning) comes back in Chinese, whether
    the handler or Gradio's decoding of an upload found it."""
    api, _ = matrix_app
    chinese = Api(api.url, language="zh-CN,zh;q=0.9")
    outcome = chinese.call(row.api.lstrip("/"), *row.inputs(chinese, tmp_path))
    assert not outcome.ok, f"expected an error, got {outcome.value!r}"
    assert outcome.error and HAN.search(outcome.error), outcome.error
    assert not row.told(outcome.error)
    assert all(HAN.search(warning) for warning in outcome.warnings), outcome.warnings


def test_upload_over_the_size_limit_is_refused_before_it_is_stored(matrix_app):
    api, _ = matrix_app
    refused = api.upload("huge.png", b"\x89PNG" + bytes(MAX_UPLOAD_MB * 2**20))
    assert isinstance(refused, Outcome)
    assert refused.status == 413
    assert refused.error == f"File size exceeded maximum allowed size of {MAX_UPLOAD_MB * 2**20} bytes."
    assert_still_serving(api)


def test_file_reference_outside_the_uploads_is_refused_without_detail(matrix_app):
    """A client may name any path in FileData; only files uploaded to this app are accepted."""
    api, _ = matrix_app
    for path in ["/etc/passwd", "../../../../etc/passwd", str(Path(__file__).resolve())]:
        forged = {"path": path, "orig_name": "passwd.png", "meta": {"_type": "gradio.FileData"}}
        outcome = api.call("classify_image", forged, None)
        assert not outcome.ok
        assert outcome.error is None, "Gradio refuses it before our code runs, and says nothing about the path"
        outcome = api.call("finetune", forged, *[None] * 3, 1, 0, 16, 128, 0.2, 0, None)
        assert not outcome.ok and outcome.error is None
    assert_still_serving(api)


# ---- Valid but unusual data files: training starts with the right rows ----

# Cells a spreadsheet would run: kept as the texts they are (Model Studio writes no spreadsheet back).
FORMULAS = [
    *[(f'"=HYPERLINK(""http://evil.example/{i}"",""click"")"', "a") for i in range(5)],
    *[(f"=1+{i}", "a") for i in range(5)],
    *[(f"@SUM(A1:A{i})", "b") for i in range(5)],
    *[(f"+cmd|' /C calc'!A{i}", "b") for i in range(3)],
    *[(f"-2+{i}", "b") for i in range(2)],
]
TRAINING_STARTS = "Training on 16 texts, 2 labels, 1 steps…"  # 20 rows: 4 held out, one batch of 16, one epoch


@pytest.mark.parametrize(
    "name, content, columns",
    [
        ("bom.csv", "\ufeff" + csv_rows(two_labels()), {}),
        (
            "newlines.csv",
            csv_rows([(f'"line one of {i}\nline two, with a comma"', "ab"[i % 2]) for i in range(20)]),
            {},
        ),
        ("formulas.csv", csv_rows(FORMULAS), {}),
        (
            "options.csv",
            csv_rows(two_labels(), header="--output=/tmp/studio-evil,-h"),
            {"text_column": "--output=/tmp/studio-evil", "label_column": "-h"},
        ),
    ],
    ids=["BOM", "quoted newlines", "formula cells", "column names that look like options"],
)
def test_valid_but_unusual_files_train(matrix_app, tmp_path, name, content, columns):
    from gradio_client import Client, handle_file

    api, _ = matrix_app
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    client = Client(api.url, verbose=False)
    job = client.submit(handle_file(str(path)), epochs=1, api_name="/finetune", **columns)
    job.result(timeout=600)
    statuses = [update[0] for update in job.outputs() if update and isinstance(update[0], str)]
    assert TRAINING_STARTS in statuses
    assert statuses[-1].startswith("Done in ")
    assert not Path("/tmp/studio-evil").exists()
    assert_still_serving(api)


# ---- Load: a full queue answers "busy, try again" at once ----


@pytest.fixture(scope="module")
def busy_app(tiny_models, tmp_path_factory):
    """One request per task at a time and one waiting request in all: easy to fill."""
    folder = tmp_path_factory.mktemp("busy")
    settings = "queue_size = 1\nconcurrency_per_task = 1"
    demo, studio, url = start_app(write_matrix_config(folder, tiny_models, settings))
    yield Api(url)
    demo.close()


def test_a_full_queue_says_busy_and_the_app_recovers(busy_app):
    from gradio_client import Client
    from gradio_client.utils import QueueError

    api = busy_app
    slow = "The weather is lovely today. Shall we go for a walk in the park? " * 15  # seconds of translation
    running = api.join("translate", [slow, None], uuid.uuid4().hex)
    waiting_session = uuid.uuid4().hex
    wait_until_running(api)
    waiting = api.join("translate", [slow, None], waiting_session)
    assert running.status_code == waiting.status_code == 200

    refused = api.join("classify_text", ["a great movie", None], uuid.uuid4().hex)
    assert refused.status_code == 503
    assert refused.json()["detail"] == "Queue is full. Max size is 1 and size is 1."
    with pytest.raises(QueueError, match=r"^Queue is full! Please try again\.$"):
        Client(api.url, verbose=False).predict("a great movie", api_name="/classify_text")

    # The waiting client goes away: its place is freed at once, not when its turn would have come.
    with api.http.stream("GET", api.url + "gradio_api/queue/data", params={"session_hash": waiting_session}):
        pass
    deadline = time.monotonic() + 30
    while (joined := api.join("classify_text", ["a great movie", None], uuid.uuid4().hex)).status_code == 503:
        assert time.monotonic() < deadline, "a disconnected client kept its place in the queue"
        time.sleep(0.2)
    assert joined.status_code == 200
    assert_eventually_serving(api)


def wait_until_running(api: Api, timeout_s: float = 60) -> None:
    """Until the queue is empty again: the first request has left it for a worker."""
    deadline = time.monotonic() + timeout_s
    while api.http.get(api.url + "gradio_api/queue/status").json().get("queue_size", 0) > 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def assert_eventually_serving(api: Api, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        outcome = api.call("classify_text", "a great movie", None)
        if outcome.ok:
            return
        assert outcome.status == 503 and time.monotonic() < deadline, outcome.error
        time.sleep(0.5)
