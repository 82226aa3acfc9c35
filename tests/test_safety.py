"""Hostile files and faults: only safe weight formats load, nothing outside the app is served, a training
that is killed or crashes leaves the app serving with no half-written model, files are cleaned up."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from studio.runs import list_runs
from tests.conftest import ROOT, free_port
from tests.test_bad_inputs import Api, assert_still_serving, csv_rows, start_app, two_labels, wav, write_matrix_config

PICKLE_REFUSED = (
    "The folder for '{}' holds its weights only as pytorch_model.bin, a pickle file that can run code when "
    "opened, so it is not loaded; save the model as safetensors "
    "(model.save_pretrained(folder, safe_serialization=True)) and try again."
)


class RunsCode:
    """Unpickling this runs a shell command: what a hostile checkpoint does."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def hostile_models(folder: Path, tiny: dict[str, Path]) -> dict[str, Path]:
    """Model folders a careless or hostile models.toml could name, each leaving a marker if its code runs."""
    marker = folder / "CODE-RAN"
    pickled = folder / "pickled-classifier"
    shutil.copytree(tiny["text_classification"], pickled)
    (pickled / "model.safetensors").unlink()
    with open(pickled / "pytorch_model.bin", "wb") as f:
        pickle.dump({"classifier.weight": RunsCode(marker)}, f)

    remote = folder / "remote-code-classifier"
    shutil.copytree(tiny["text_classification"], remote)
    config = json.loads((remote / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.EvilModel"}
    config["model_type"] = "evil-bert"  # a type transformers lacks: only the folder's own code could build it
    (remote / "config.json").write_text(json.dumps(config))
    (remote / "evil.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n")

    broken = folder / "broken-classifier"
    shutil.copytree(tiny["text_classification"], broken)
    (broken / "model.safetensors").write_bytes(os.urandom(4096))

    pickled_image = folder / "pickled-vit"
    pickled_image.mkdir()
    shutil.copy(tiny["image_classification"] / "config.json", pickled_image)
    with open(pickled_image / "pytorch_model.bin", "wb") as f:
        pickle.dump(RunsCode(marker), f)

    pickled_whisper = folder / "whisper-exploit.pt"
    with open(pickled_whisper, "wb") as f:
        pickle.dump({"dims": RunsCode(marker)}, f)
    return {
        "marker": marker,
        "pickled": pickled,
        "remote": remote,
        "broken": broken,
        "pickled_image": pickled_image,
        "pickled_whisper": pickled_whisper,
    }


@pytest.fixture(scope="module")
def hostile(tiny_models, tmp_path_factory):
    folder = tmp_path_factory.mktemp("safety")
    models = hostile_models(folder, tiny_models)
    choices = {
        "text_classification": {
            "Pickled": models["pickled"],
            "Remote code": models["remote"],
            "Broken": models["broken"],
        },
        "image_classification": {"Pickled": models["pickled_image"]},
        "speech": {"Pickled": models["pickled_whisper"]},
    }
    demo, studio, url = start_app(write_matrix_config(folder, tiny_models, choices=choices))
    yield Api(url), studio, models
    demo.close()


# ---- Only safe formats load; a pickle is never opened by an unpickler that runs code ----


def test_a_pickle_only_transformers_folder_is_refused_unopened(hostile):
    api, _, models = hostile
    outcome = api.call("classify_text", "a great movie", str(models["pickled"]))
    assert outcome.error == PICKLE_REFUSED.format("Pickled"), "named as the dropdown names it, not by its path"
    assert not models["marker"].exists()
    assert_still_serving(api)


def test_a_model_that_needs_its_own_code_is_refused_and_its_code_never_runs(hostile):
    api, _, models = hostile
    outcome = api.call("classify_text", "a great movie", "Remote code")
    assert outcome.error == (
        "The model 'Remote code' needs its own Python code to load, which Model Studio never runs; "
        "choose a model that transformers supports as it is."
    )
    assert not models["marker"].exists()
    assert_still_serving(api)


def test_a_model_that_fails_to_load_leaves_the_task_usable_with_another(hostile):
    api, studio, models = hostile
    message = (
        "The model in 'Broken' could not be loaded (SafetensorError); check that the folder holds "
        "a transformers model saved with save_pretrained, or choose another model."
    )
    for _ in range(2):  # nothing half-loaded is cached: the second try fails the same way
        assert api.call("classify_text", "a great movie", "Broken").error == message
        assert_still_serving(api)
    assert studio.models.peek("text_classification", str(models["broken"])) is None


def test_a_pickle_only_timm_folder_is_refused_unopened(hostile):
    api, _, models = hostile
    image = api.upload("dot.png", (ROOT / "assets" / "crossword.png").read_bytes())
    outcome = api.call("classify_image", image, "Pickled")
    assert outcome.error == (
        "The folder for 'Pickled' has no model.safetensors; local image models are loaded only "
        "from safetensors (pickle files can run code when opened), so save it with timm's save_for_hf first."
    )
    assert not models["marker"].exists()
    assert_still_serving(api)


def test_a_hostile_whisper_checkpoint_is_refused_by_the_weights_only_unpickler(hostile):
    api, _, models = hostile
    audio = api.upload("tone.wav", wav(1.0))
    outcome = api.call("transcribe", audio, "Pickled")
    assert outcome.error == (
        "'whisper-exploit.pt' is not an openai-whisper checkpoint (a .pt holding `dims` and `model_state_dict`); "
        "point the config at one."
    )
    assert not models["marker"].exists(), "torch.load(weights_only=True) never runs a pickle's code"
    good = api.call("transcribe", audio)
    assert good.ok and good.value[0] == "Hello world"


def test_safetensors_are_required_only_where_we_choose_the_files(tiny_models, tmp_path):
    """A local folder must hold safetensors; a Hub id keeps transformers' default (safetensors first, else
    pytorch_model.bin opened with weights_only=True), so Hub defaults that ship only a .bin still load."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from studio.errors import UserError
    from studio.hf import from_pretrained

    folder = tmp_path / "both"
    shutil.copytree(tiny_models["text_classification"], folder)
    assert from_pretrained(AutoModelForSequenceClassification, str(folder)).config.num_labels == 2
    (folder / "model.safetensors").rename(folder / "renamed.bin")
    with pytest.raises(UserError, match=r"holds its weights only as renamed\.bin, a pickle file"):
        from_pretrained(AutoModelForSequenceClassification, str(folder))
    assert from_pretrained(AutoTokenizer, str(folder)).is_fast, "a tokenizer has no weights to refuse"


# ---- Nothing outside the app's own files is served ----


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "/etc/../etc/passwd",
        "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "//etc/passwd",
        "/proc/self/environ",
        "models.toml",
        str(ROOT / "models.toml"),
        str(ROOT / "app.py"),
    ],
)
def test_no_file_outside_the_app_is_served(hostile, path):
    api, _, _ = hostile
    response = api.http.get(f"{api.url}gradio_api/file={path}")
    assert response.status_code in (403, 404)
    assert "root:" not in response.text


@pytest.mark.parametrize(
    "route",
    [
        "gradio_api/file=../../../../etc/passwd",
        "gradio_api/file/../../../../etc/passwd",
        "static/../../../../etc/passwd",
        "assets/../../../../../etc/passwd",
        "file=/etc/passwd",
    ],
)
def test_path_traversal_is_refused(hostile, route):
    api, _, _ = hostile
    # httpx would normalise the dots away; send the path exactly as written.
    with httpx.Client() as raw:
        request = raw.build_request("GET", api.url)
        request.url = request.url.copy_with(raw_path=("/" + route).encode())
        response = raw.send(request)
    assert response.status_code in (400, 403, 404)
    assert "root:" not in response.text


def test_models_and_runs_are_not_served(hostile, tiny_models):
    api, studio, _ = hostile
    for path in [tiny_models["text_classification"] / "model.safetensors", studio.config.path]:
        assert api.http.get(f"{api.url}gradio_api/file={path}").status_code == 403


def test_file_names_never_reach_a_shell(hostile, tmp_path):
    api, _, _ = hostile
    marker = tmp_path / "name-ran"
    for name in [f"$(touch {marker}).wav", f"a;touch {marker};.wav", f"`touch {marker}`.wav", "-i.wav", "--.wav"]:
        audio = api.upload(name, wav(0.5))
        outcome = api.call("transcribe", audio)
        assert outcome.ok and outcome.value[0] == "Hello world", (name, outcome.error)
    assert not marker.exists()


# ---- Faults in fine-tuning: killed, crashed, out of memory, client gone ----


@pytest.fixture
def long_training(tmp_path) -> Path:
    """Enough rows and epochs that training is still running when the test strikes."""
    data = tmp_path / "long.csv"
    data.write_text(csv_rows(two_labels(800)))
    return data


def start_training(api: Api, data: Path):
    """Submit /finetune and return the job once the training process reports steps."""
    from gradio_client import Client, handle_file

    from finetune.tab import slot

    job = Client(api.url, verbose=False).submit(handle_file(str(data)), epochs=20, api_name="/finetune")
    deadline = time.monotonic() + 300
    while not any(isinstance(o[0], str) and o[0].startswith("Step ") for o in job.outputs() if o):
        assert time.monotonic() < deadline, "training never reported progress"
        assert not job.done(), job.result()
        time.sleep(0.2)
    return job, slot.job


@pytest.mark.parametrize(
    "sig, message",
    [
        (
            signal.SIGKILL,  # what the kernel's out-of-memory killer sends
            "Training was stopped by the system, most likely out of memory; try a smaller batch size or max length.",
        ),
        (
            signal.SIGSEGV,  # a crash inside a native library, mid-epoch
            "Training stopped unexpectedly (exit code -11); no model was saved, and the details are in the server log.",
        ),
    ],
    ids=["SIGKILL", "SIGSEGV"],
)
def test_a_training_process_that_dies_mid_epoch_leaves_the_app_serving(hostile, long_training, sig, message):
    from gradio_client.exceptions import AppError

    api, studio, _ = hostile
    runs_before = list_runs(studio.config.runs_dir)
    job, training = start_training(api, long_training)
    os.kill(training.process.pid, sig)
    with pytest.raises(AppError) as error:
        job.result(timeout=120)
    assert str(error.value) == message
    assert_still_serving(api)
    assert list_runs(studio.config.runs_dir) == runs_before, "no new model is listed"
    assert not list(Path(studio.config.runs_dir).glob(".*partial*")), "no half-written run is left"
    assert not training.workdir.exists(), "the job's copy of the data is removed"


def test_a_client_that_goes_away_mid_training_frees_the_slot(hostile, long_training):
    from finetune.tab import slot

    api, studio, _ = hostile
    runs_before = list_runs(studio.config.runs_dir)
    data = api.upload("long.csv", long_training.read_bytes())
    session = uuid.uuid4().hex
    assert api.join("finetune", [data, None, None, None, 20], session).status_code == 200
    with api.http.stream("GET", api.url + "gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if "Step " in line:
                break  # leaving the block closes the connection, as a closed browser tab does
    training = slot.job
    deadline = time.monotonic() + 60
    while training.process.poll() is None:
        assert time.monotonic() < deadline, "the training of a client that left kept running"
        time.sleep(0.2)
    assert list_runs(studio.config.runs_dir) == runs_before
    assert not training.workdir.exists()
    # The slot is free: the next training starts instead of hearing "Another fine-tune is running".
    job, again = start_training(api, long_training)
    job.cancel()
    deadline = time.monotonic() + 60
    while again.process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert_still_serving(api)


@pytest.mark.parametrize(
    "failure",
    [
        "import torch; torch.empty(1 << 60, dtype=torch.uint8)",  # PyTorch's CPU allocator gives up
        "bytearray(1 << 62)",  # Python's MemoryError
    ],
    ids=["torch allocator", "MemoryError"],
)
def test_a_training_that_runs_out_of_memory_says_so(tmp_path, failure):
    """A child that reports steps and then cannot allocate: the app's message names memory, not a crash."""
    from finetune.jobs import OUT_OF_MEMORY_MESSAGE, TrainingJob
    from finetune.train import TrainConfig

    data = tmp_path / "data.csv"
    data.write_text(csv_rows(two_labels()))
    steps = "".join(
        f"print(json.dumps({{'event': 'step', 'step': {i}, 'total_steps': 9}}), flush=True); " for i in (1, 2)
    )
    child = [sys.executable, "-c", f"import json; {steps}{failure}"]
    job = TrainingJob(TrainConfig(data=str(data), output=str(tmp_path / "runs" / "x")), command=child)
    events = [event for event in job.events(heartbeat_s=0.2) if event]
    assert [e["event"] for e in events] == ["step", "step", "error"]
    assert events[-1]["message"] == OUT_OF_MEMORY_MESSAGE
    assert not job.workdir.exists()


def test_a_job_trains_on_its_own_copy_of_the_upload(tiny_models, tmp_path):
    """The scheduled cleanup may delete an upload while its training runs; the job never notices."""
    from finetune.jobs import TrainingJob
    from finetune.train import TrainConfig

    upload = tmp_path / "gradio-cache" / "tickets.csv"
    upload.parent.mkdir()
    upload.write_text(csv_rows(two_labels()))
    cfg = TrainConfig(
        data=str(upload),
        output=str(tmp_path / "runs" / "tickets"),
        model=str(tiny_models["text_classification"]),
        epochs=1,
    )
    job = TrainingJob(cfg)
    upload.unlink()  # what Gradio's delete_cache does to an old upload
    events = [event for event in job.events() if event]
    assert events[-1]["event"] == "done", events[-1]
    assert list(list_runs(tmp_path / "runs")) == ["tickets"]
    assert not job.workdir.exists()


def test_option_like_values_stay_values_on_the_training_command_line(tmp_path):
    from finetune.__main__ import parse_args
    from finetune.jobs import _cli_args
    from finetune.train import TrainConfig

    cfg = TrainConfig(data="-h", output="--cpu", text_column="--output=/etc/evil", label_column="-x")
    parsed, _ = parse_args(_cli_args(cfg))
    assert (parsed.data, parsed.output, parsed.text_column, parsed.label_column) == (
        "-h",
        "--cpu",
        "--output=/etc/evil",
        "-x",
    )
    assert parsed.cpu is False


def test_training_never_reads_more_tokens_than_the_model_has_positions(tiny_models, tmp_path):
    """The tiny model has 128 positions; asking for 512 must not crash mid-epoch on a long text."""
    data = tmp_path / "long-texts.csv"
    rows = [(("word " * 300) if i % 5 == 0 else f"short {i}", "ab"[i % 2]) for i in range(40)]
    data.write_text(csv_rows(rows))
    done = subprocess.run(
        [sys.executable, "-m", "finetune", "--data", str(data), "--output", str(tmp_path / "out")]
        + ["--model", str(tiny_models["text_classification"]), "--epochs", "1", "--max-length", "512"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "model.safetensors").is_file()


# ---- Files: cleaned on a schedule; the limits main() applies ----


def test_uploads_are_deleted_on_the_schedule_from_the_config(tiny_models, tmp_path):
    settings = "delete_files_every_s = 1\ndelete_files_after_s = 2"
    demo, _, url = start_app(write_matrix_config(tmp_path, tiny_models, settings))
    try:
        assert demo.delete_cache == (1, 2)
        api = Api(url)
        upload = Path(api.upload("tone.wav", wav(0.3) + uuid.uuid4().bytes)["path"])
        assert upload.is_file()
        deadline = time.monotonic() + 30
        while upload.exists():
            assert time.monotonic() < deadline, "the upload outlived its age"
            time.sleep(0.5)
    finally:
        demo.close()


def test_the_app_command_applies_the_limits(tiny_models, tmp_path):
    """`python app.py`: the upload limit and the queue size from models.toml, and no file served outside."""
    config = write_matrix_config(tmp_path, tiny_models, "max_upload_mb = 1\nqueue_size = 3").read_text()
    config = config.replace("max_upload_mb = 8\n", "", 1)
    (tmp_path / "models.toml").write_text(config)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "app.py", "--config", str(tmp_path / "models.toml"), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "the app did not start"
            time.sleep(0.5)
        api = Api(url)
        refused = api.upload("big.wav", bytes(2 * 2**20))
        assert refused.status == 413
        assert refused.error == f"File size exceeded maximum allowed size of {2**20} bytes."
        assert httpx.get(f"{url}gradio_api/file=/etc/passwd").status_code == 403
        assert api.call("classify_text", "a great movie").ok
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.parametrize(
    "setting, message",
    [
        ("queue_size = 0", "[app] queue_size must be above 0, not 0"),
        ('max_image_pixels = "lots"', "[app] max_image_pixels must be a whole number, not 'lots'"),
        ("concurrency_per_task = 1.5", "[app] concurrency_per_task must be a whole number, not 1.5"),
        ("max_audio_seconds = true", "[app] max_audio_seconds must be a number, not True"),
    ],
)
def test_a_wrong_limit_stops_the_app_with_its_key(tiny_models, tmp_path, setting, message):
    from studio.config import load_config

    path = write_matrix_config(tmp_path, tiny_models, setting)
    with pytest.raises(SystemExit, match=rf"models\.toml: {re.escape(message)}$"):
        load_config(path)
