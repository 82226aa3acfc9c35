"""The Fine-tune tab's image and entity kinds over HTTP: upload, train, metrics, the model answering in its tab, Cancel.

The test config names no image or entity base models, so the shipped defaults (ViT, BERT cased) are not cached and
the tab trains from the offline pack, as it does on a machine without the Hub.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from studio.runs import list_runs
from tests.conftest import ROOT
from tests.test_finetune import cancel_once_stepping

FASHION = ROOT / "assets" / "fashion_sample.zip"
TICKETS = ROOT / "assets" / "ticket_entities.conll"
FASHION_CLASSES = {"T-shirt or top", "Trouser", "Sneaker", "Bag"}
TICKET_TYPES = {"PRODUCT", "ORDER", "PLACE"}


def one_picture(tmp_path: Path, folder: str) -> Path:
    with zipfile.ZipFile(FASHION) as archive:
        name = next(n for n in archive.namelist() if f"/{folder}/" in n)
        path = tmp_path / "picture.png"
        path.write_bytes(archive.read(name))
    return path


def fashion_subset(tmp_path: Path, per_class: int, classes: tuple[str, ...] = ("Bag", "Trouser")) -> Path:
    """A zip of the sample's first `per_class` pictures of each of `classes`, in their class folders."""
    path = tmp_path / f"{per_class}-per-class.zip"
    with zipfile.ZipFile(FASHION) as sample, zipfile.ZipFile(path, "w") as subset:
        for folder in classes:
            for name in [n for n in sample.namelist() if f"/{folder}/" in n][:per_class]:
                subset.writestr(name, sample.read(name))
    return path


def test_the_samples_are_what_the_tab_says(tmp_path):
    with zipfile.ZipFile(FASHION) as archive:
        classes = {name.split("/")[1] for name in archive.namelist()}
    assert classes == FASHION_CLASSES
    tags = {line.split("\t")[1][2:] for line in TICKETS.read_text().splitlines() if line and "\t" in line}
    assert tags - {""} == TICKET_TYPES


def test_finetune_images_deploys_a_classifier_of_the_users_classes(client, live_app, tmp_path):
    _, studio = live_app
    job = client.submit(handle_file(str(FASHION)), epochs=2, batch_size=8, image_size=64, api_name="/finetune_images")
    status, _curve, metrics, confusion, gallery, download, model_name, _dropdown = job.result(timeout=900)
    assert "is ready in the Image classification tab" in status, status
    assert "pack:efficientnet-lite0" in status, "the offline pack stood in for the uncached ViT"
    assert "Accuracy" in metrics
    assert "'Bag' has 12" in metrics and "will be unreliable" in metrics, "the sample's 12 pictures a class are few"
    assert Path(confusion["path"] if isinstance(confusion, dict) else confusion).suffix == ".png"
    assert Path(download["path"] if isinstance(download, dict) else download).suffix == ".zip"
    assert isinstance(gallery, list)
    assert model_name in list_runs(studio.config.runs_dir)
    assert model_name in studio.choices("image_classification")
    result = client.predict(handle_file(str(one_picture(tmp_path, "Trouser"))), model_name, api_name="/classify_image")
    assert {c["label"] for c in result["confidences"]} == FASHION_CLASSES
    assert result["label"] in FASHION_CLASSES


def test_finetune_entities_deploys_a_recogniser_of_the_users_types(client, live_app):
    _, studio = live_app
    job = client.submit(handle_file(str(TICKETS)), epochs=4, batch_size=8, api_name="/finetune_entities")
    status, _curve, metrics, confusion, mistakes, _download, model_name, _dropdown = job.result(timeout=900)
    assert "is ready in the Named entities tab" in status, status
    assert "pack:minilm-l6" in status, "the offline pack stood in for the uncached BERT"
    assert "F1" in metrics
    assert Path(confusion["path"] if isinstance(confusion, dict) else confusion).suffix == ".png"
    assert set(mistakes["headers"]) == {"sentence", "missed", "spurious"}
    assert model_name in studio.choices("ner")
    text = "Order C-77841 never arrived in Toronto ."
    _highlighted, entities = client.predict(text, model_name, api_name="/recognize_entities")
    found = {(text[e["start"] : e["end"]], e["entity_group"]) for e in entities}
    assert {e["entity_group"] for e in entities} <= TICKET_TYPES
    assert ("C-77841", "ORDER") in found, found


@pytest.mark.parametrize(
    "api_name, upload, settings",
    [
        ("/finetune_images", FASHION, {"epochs": 20, "batch_size": 4, "image_size": 64}),
        ("/finetune_entities", TICKETS, {"epochs": 20, "batch_size": 4}),
    ],
)
def test_cancel_stops_an_image_or_entity_training_within_seconds(client, live_app, api_name, upload, settings):
    job = client.submit(handle_file(str(upload)), api_name=api_name, **settings)
    cancel_once_stepping(client, job, Path(live_app[1].config.runs_dir))


def test_a_zip_of_two_pictures_per_class_is_refused_with_each_class_count(client, tmp_path):
    four = fashion_subset(tmp_path, per_class=2)
    message = (
        "Each class needs at least 5 pictures to train on; 'Bag' has 2 and 'Trouser' has 2, "
        "so add pictures of them or remove them."
    )
    with pytest.raises(AppError, match=re.escape(message)):
        client.predict(handle_file(str(four)), api_name="/finetune_images")


def test_six_pictures_per_class_pass_and_the_upload_summary_says_the_metrics_will_be_unreliable(live_app, tmp_path):
    from finetune.tab import describe_upload

    _, studio = live_app
    summary = describe_upload(studio, "image", str(fashion_subset(tmp_path, per_class=6)))
    assert summary.startswith("12 images in 2 classes: Bag 6, Trouser 6.")
    assert (
        "With fewer than 20 pictures per class ('Bag' has 6 and 'Trouser' has 6) the validation metrics rest on "
        "few examples and will be unreliable; add pictures to trust them."
    ) in summary


def test_the_upload_summary_warns_only_below_twenty_per_label():
    from finetune.tab import describe_columns

    def described(per_label: int) -> str:
        rows = [(f"ticket {i} about {label}", label) for label in ("billing", "shipping") for i in range(per_label)]
        return describe_columns(pd.DataFrame(rows, columns=["text", "label"]), "text", "label")

    assert "('billing' has 19 and 'shipping' has 19) the validation metrics" in described(19)
    assert described(20) == "40 usable rows, 2 labels: billing 20, shipping 20."
