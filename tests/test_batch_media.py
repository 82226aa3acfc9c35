"""Run on many pictures or recordings over HTTP: /batch_classify_image and /batch_transcribe with the tiny models.

The zips are built from the real Fashion-MNIST sample and real (espeak) speech; each result file is downloaded and
checked against what sklearn and jiwer compute from it.
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from tests.conftest import ROOT

FASHION = ROOT / "assets" / "fashion_sample.zip"
SENTENCES = ("the quick brown fox jumps over the lazy dog", "ten green bottles", "good morning to you all")


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def pictures_zip(tmp_path: Path, flat: bool = False, broken: bool = True) -> tuple[Path, list[str]]:
    """The sample's pictures (class folders, or all at the top), with a damaged one among them."""
    path = tmp_path / ("flat.zip" if flat else "pictures.zip")
    names = []
    with zipfile.ZipFile(FASHION) as source, zipfile.ZipFile(path, "w") as target:
        for i, name in enumerate(source.namelist()[:12]):
            member = f"{i}.png" if flat else name
            target.writestr(member, source.read(name))
            names.append(member)
            if broken and i == 4:
                member = "fashion/Trouser/broken.png" if not flat else "broken.png"
                target.writestr(member, b"\x89PNG\r\n\x1a\n not really")
                names.append(member)
    return path, names


def test_a_zip_of_class_folders_is_classified_in_order_and_scored(client, tmp_path):
    from sklearn.metrics import accuracy_score, confusion_matrix

    path, names = pictures_zip(tmp_path)
    preview, results_csv, report_json, jsonl, report_md, metrics, confusion, status = client.predict(
        handle_file(str(path)), api_name="/batch_classify_image"
    )
    results = read_csv(results_csv)
    assert [r["file"] for r in results] == names
    assert [r["label"] for r in results] == [name.split("/")[1] for name in names]
    broken = next(r for r in results if r["file"].endswith("broken.png"))
    assert broken["prediction"] == "" and "not an image this app can read" in broken["error"]
    good = [r for r in results if not r["error"]]
    assert all(r["prediction"] and 0 < float(r["score"]) <= 1 for r in good)
    report = json.loads(Path(report_json).read_text(encoding="utf-8"))
    truth, predicted = [r["label"] for r in good], [r["prediction"] for r in good]
    assert report["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-4)
    assert report["confusion_matrix"] == confusion_matrix(truth, predicted, labels=report["labels"]).tolist()
    # The tiny model knows none of the sample's classes: said, not crashed on.
    assert set(report["unknown_labels"]) == {r["label"] for r in results}
    assert "1 pictures could not be run" in status and "Accuracy" in metrics
    assert Path(confusion).suffix == ".png" and Path(report_md).read_text(encoding="utf-8").startswith("**")
    assert len(Path(jsonl).read_text(encoding="utf-8").splitlines()) == len(names)


def test_a_zip_without_class_folders_is_classified_without_a_report(client, tmp_path):
    path, names = pictures_zip(tmp_path, flat=True, broken=False)
    _, results_csv, report_json, *_ = client.predict(handle_file(str(path)), api_name="/batch_classify_image")
    assert [r["file"] for r in read_csv(results_csv)] == names
    assert report_json is None


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../outside.png": b"x"}, "points outside the zip's folders"),
        ({"notes.txt": b"hello"}, "The zip holds no pictures"),
    ],
)
def test_a_bad_zip_of_pictures_gets_its_message(client, tmp_path, members, message):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(AppError, match=message) as error:
        client.predict(handle_file(str(path)), api_name="/batch_classify_image")
    assert "Traceback" not in str(error.value) and str(tmp_path) not in str(error.value)


def recordings(tmp_path: Path) -> list[Path]:
    """Three spoken sentences, a file that only claims to be audio, and a table of what each one says."""
    from tests.speech_clips import speak, write_wav

    files = [write_wav(tmp_path / f"clip-{i}.wav", speak(text)) for i, text in enumerate(SENTENCES)]
    fake = tmp_path / "not-audio.wav"
    fake.write_bytes(b"RIFF but nothing after it")
    table = tmp_path / "transcripts.csv"
    rows = [f"{f.name},{text}" for f, text in zip(files, SENTENCES)]
    table.write_text("file,transcript\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return [*files[:2], fake, files[2], table]


def test_recordings_are_transcribed_in_order_with_subtitles_and_their_wer(client, tmp_path):
    import jiwer
    from whisper.normalizers import EnglishTextNormalizer

    uploads = recordings(tmp_path)
    outputs = client.predict([handle_file(str(p)) for p in uploads], api_name="/batch_transcribe")
    _, results_csv, report_json, *_, status, subtitles = outputs
    results = read_csv(results_csv)
    assert [r["file"] for r in results] == [p.name for p in uploads if p.suffix == ".wav"]
    assert "recording" in results[2]["error"] or "read" in results[2]["error"]
    assert all(not r["error"] and float(r["seconds"]) > 0.5 for i, r in enumerate(results) if i != 2)
    assert "1 recordings could not be run" in status
    report = json.loads(Path(report_json).read_text(encoding="utf-8"))
    normalise = EnglishTextNormalizer()
    scored = [r for r in results if not r["error"]]
    references = [normalise(r["reference"]) for r in scored]
    transcripts = [normalise(r["transcript"]) for r in scored]
    assert report["wer"] == pytest.approx(jiwer.wer(references, transcripts), abs=1e-4)
    assert report["cer"] == pytest.approx(jiwer.cer(references, transcripts), abs=1e-4)
    with zipfile.ZipFile(subtitles) as archive:
        named = set(archive.namelist())
    heard = {Path(r["file"]).stem for r in scored if r["transcript"].strip()}
    assert {f"{stem}.srt" for stem in heard} | {f"{stem}.vtt" for stem in heard} == named


def test_a_file_that_is_not_a_recording_is_refused_by_name(client, tmp_path):
    path = tmp_path / "slides.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(AppError, match="'slides.pdf' \\('.pdf'\\) is not a recording"):
        client.predict([handle_file(str(path))], api_name="/batch_transcribe")
