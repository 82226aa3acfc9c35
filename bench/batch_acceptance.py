"""The batch runs' promise, measured: whole files through the app's API, offline, every setting at its default.

Starts the app as `make run` does (bench/finetune_acceptance.py's `running_app`) and reports, for each:

- text: 1,000 BBC News texts in 5 topics, fine-tuned in the tab (/finetune), then the same file scored by that
  model (/batch_classify_text); accuracy and the confusion matrix are computed again with sklearn from the
  downloaded predictions and must match the report;
- speech: 10 recordings (the two real voices of assets/ and eight espeak-ng readings) in one /batch_transcribe
  call with a CSV of their transcripts; WER and CER, and the subtitle zip's contents;
- image: a zip of 200 Fashion-MNIST pictures (20 per class) through the Image tab's default model
  (/batch_classify_image); rows per second and rows that failed.

Run from the repo root: `.venv/bin/python -m bench.batch_acceptance [--tasks text,speech,image]`.
"""

from __future__ import annotations

import csv
import json
import time
import zipfile
from pathlib import Path

from bench.finetune_acceptance import run_acceptance, train


def main() -> None:
    run_acceptance(__doc__, {"text": _text, "speech": _speech, "image": _image})


def _text(client, work: Path) -> None:
    from gradio_client import handle_file
    from sklearn.metrics import accuracy_score, confusion_matrix

    from finetune.news_sample import bbc_news, write_csv

    data = write_csv(work / "bbc_news.csv", bbc_news(per_topic=200, seed=0))
    model_name = train(client, "/finetune", "rows: 1,000 (200 per topic)", handle_file(str(data)))
    (results_csv, report_json), seconds = _batch(
        client, "/batch_classify_text", handle_file(str(data)), "text", "label", model_name
    )
    rows = _read_csv(results_csv)
    report = json.loads(Path(report_json).read_text(encoding="utf-8"))
    labels = report["labels"]
    true, predicted = [r["label"] for r in rows], [r["prediction"] for r in rows]
    again = {
        "accuracy": round(accuracy_score(true, predicted), 4),
        "confusion_matrix": confusion_matrix(true, predicted, labels=labels).tolist(),
    }
    same = round(report["accuracy"], 4) == again["accuracy"] and report["confusion_matrix"] == again["confusion_matrix"]
    print(f"/batch_classify_text, {len(rows)} rows in {seconds:.0f} s ({len(rows) / seconds:.1f} rows/s)")
    print(f"report: accuracy {report['accuracy']:.4f}, macro F1 {report['f1_macro']:.4f}")
    print(f"sklearn on the downloaded predictions: accuracy {again['accuracy']:.4f}; same matrix: {same}")
    print(f"confusion matrix ({', '.join(labels)}): {report['confusion_matrix']}", flush=True)


def _speech(client, work: Path) -> None:
    from gradio_client import handle_file

    from tests.speech_clips import HARVARD, JFK, RECORDINGS, SENTENCE, address_parts, speak, write_wav

    spoken = {"speech_jfk.wav": JFK, "speech_sentences.wav": HARVARD}
    files = [RECORDINGS["jfk"][0], RECORDINGS["harvard"][0]]
    for i, text in enumerate([SENTENCE, *address_parts()[:7]]):
        path = write_wav(work / f"espeak_{i}.wav", speak(text))
        spoken[path.name], files = text, [*files, path]
    transcripts = work / "transcripts.csv"
    with open(transcripts, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "transcript"])
        writer.writerows(spoken.items())
    uploads = [handle_file(str(p)) for p in [*files, transcripts]]
    outputs, seconds = _batch(client, "/batch_transcribe", uploads, keep=None)
    _preview, results_csv, report_json, *_rest, status, subtitles = outputs
    rows = _read_csv(results_csv)
    report = json.loads(Path(report_json).read_text(encoding="utf-8"))
    audio = sum(float(r["seconds"] or 0) for r in rows)
    print(f"/batch_transcribe, {len(rows)} recordings, {audio:.0f} s of audio in {seconds:.0f} s: {status}")
    failed = sum(bool(r["error"]) for r in rows)
    print(f"WER {report['wer']:.4f}, CER {report['cer']:.4f}; rows with an error: {failed}")
    with zipfile.ZipFile(subtitles) as archive:
        print(f"subtitles.zip: {len(archive.namelist())} files, e.g. {sorted(archive.namelist())[:2]}", flush=True)


def _image(client, work: Path) -> None:
    from gradio_client import handle_file

    from finetune.fashion_sample import fashion_mnist, write_zip

    pictures = write_zip(work / "fashion_200.zip", fashion_mnist(20, "test", seed=1))
    (results_csv, _report), seconds = _batch(client, "/batch_classify_image", handle_file(str(pictures)))
    rows = _read_csv(results_csv)
    failed = sum(bool(r["error"]) for r in rows)
    print(f"/batch_classify_image, {len(rows)} pictures in {seconds:.0f} s ({len(rows) / seconds:.1f} pictures/s)")
    print(f"rows with an error: {failed}; first: {rows[0]['file']} -> {rows[0]['prediction']}", flush=True)


def _batch(client, api_name: str, *inputs, keep: slice | None = slice(1, 3)) -> tuple[tuple, float]:
    """One batch call's outputs (results CSV and report JSON by default) and its wall time."""
    started = time.perf_counter()
    outputs = client.predict(*inputs, api_name=api_name)
    seconds = time.perf_counter() - started
    return (tuple(outputs) if keep is None else tuple(outputs[keep])), seconds


def _read_csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


if __name__ == "__main__":
    main()
