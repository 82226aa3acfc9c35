"""Ready for Hugging Face Spaces and for sharing: the Space's config, ZeroGPU, login, share links and MCP tools."""

from __future__ import annotations

import asyncio
import json
import pickle
import re
import sys
import types
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import gradio
import pytest
import tomllib
import yaml
from gradio_client import Client, handle_file
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import ROOT, free_port

# https://huggingface.co/docs/hub/spaces-config-reference (and the model-card keys a Space accepts).
SPACES_KEYS = {
    "title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "python_version", "app_file", "app_port",
    "base_path", "fullWidth", "header", "short_description", "models", "datasets", "tags", "thumbnail", "pinned",
    "hf_oauth", "hf_oauth_scopes", "hf_oauth_expiration_minutes", "hf_oauth_authorized_org", "disable_embedding",
    "startup_duration_timeout", "custom_headers", "preload_from_hub", "suggested_hardware", "suggested_storage",
    "license", "duplicated_from",
}  # fmt: skip
COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
TASK_TOOLS = ["classify_text", "recognize_entities", "translate", "transcribe", "classify_image"]
DEV_ONLY = {"pytest", "hypothesis", "playwright", "ruff", "scikit-image"}


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "README.md starts with a YAML front matter block"
    return yaml.safe_load(match.group(1))


def requirements() -> dict[str, Requirement]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    found = [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]
    return {r.name.lower(): r for r in found}


# ---------------------------------------------------------------------------------------------- the Space


def test_front_matter_has_only_spaces_keys_and_all_that_a_space_needs():
    config = front_matter()
    assert set(config) <= SPACES_KEYS, f"not Spaces config keys: {set(config) - SPACES_KEYS}"
    assert config["sdk"] == "gradio"
    assert (ROOT / config["app_file"]).is_file()
    assert re.fullmatch(r"3\.\d+(\.\d+)?", str(config["python_version"]))
    assert Version(str(config["python_version"])) >= Version("3.10"), "the code needs Python 3.10+"
    assert config["title"] and config["emoji"]
    assert {config["colorFrom"], config["colorTo"]} <= COLORS


def test_front_matter_licence_is_the_licence_file():
    assert front_matter()["license"] == "mit"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")


def test_short_description_fits_the_60_characters_spaces_allow():
    description = front_matter()["short_description"]
    assert isinstance(description, str) and 0 < len(description) <= 60, description


def test_suggested_hardware_is_a_spaces_flavor():
    from huggingface_hub import SpaceHardware

    assert front_matter()["suggested_hardware"] in {flavor.value for flavor in SpaceHardware}


def test_sdk_version_is_a_gradio_that_requirements_allow_and_the_tests_ran():
    sdk_version = str(front_matter()["sdk_version"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", sdk_version), "Spaces installs exactly this version"
    spec = requirements()["gradio"].specifier
    assert spec.contains(sdk_version), f"sdk_version {sdk_version} is outside requirements.txt's gradio{spec}"
    assert spec.contains(gradio.__version__)
    assert Version(sdk_version) <= Version(gradio.__version__), (
        f"the Space would run gradio {sdk_version}, newer than the {gradio.__version__} these tests ran"
    )


def test_models_list_names_every_hub_model_the_app_may_download():
    config = tomllib.loads((ROOT / "models.toml").read_text(encoding="utf-8"))
    expected = set()
    for task, section in config.items():
        if task == "app":
            continue
        for ref in [section["default"], *section.get("choices", {}).values()]:
            if ref.startswith(("pack:", ".", "/", "~")) or task == "speech":  # Whisper downloads from its own CDN
                continue
            # A bare timm name is fetched from the timm/ organisation (tasks/image_classification.py).
            expected.add(ref if "/" in ref else f"timm/{ref}")
    listed = front_matter()["models"]
    assert expected <= set(listed), f"missing from the front matter's models: {expected - set(listed)}"
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+", model) for model in listed)


def test_packages_txt_installs_ffmpeg():
    packages = (ROOT / "packages.txt").read_text(encoding="utf-8").split()
    assert "ffmpeg" in packages


def test_requirements_are_what_the_app_needs_without_the_dev_extras():
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert not re.search(r"^\s*-[rc]\s", text, re.MULTILINE), "a Space installs requirements.txt alone"
    names = set(requirements())
    assert not names & DEV_ONLY, f"test tools in requirements.txt: {names & DEV_ONLY}"
    assert {"gradio", "torch", "transformers", "timm", "openai-whisper", "mcp"} <= names


# ---------------------------------------------------------------------------------------------- ZeroGPU


class FakeSpaces(types.ModuleType):
    """What `spaces.GPU` does on ZeroGPU that matters to us: it wraps the function, and pickles its arguments
    to send them to the GPU worker."""

    def __init__(self) -> None:
        super().__init__("spaces")
        self.registered: list[str] = []
        self.calls: list[str] = []

    def GPU(self, fn, duration=None):  # noqa: N802 -- the real name
        self.registered.append(fn.__name__)

        def on_the_gpu(*args, **kwargs):
            pickle.dumps((args, kwargs))  # a model in the arguments would be gigabytes here, or fail
            self.calls.append(fn.__name__)
            return fn(*args, **kwargs)

        return on_the_gpu


def test_on_gpu_is_a_no_op_without_the_spaces_package(monkeypatch):
    from studio.gpu import on_gpu, zero_gpu

    monkeypatch.setitem(sys.modules, "spaces", None)  # import spaces -> ImportError
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")

    def predict(x):
        return x

    assert on_gpu(predict) is predict
    assert on_gpu(duration=120)(predict) is predict
    assert not zero_gpu()


def test_on_gpu_applies_spaces_gpu_where_the_package_is(monkeypatch):
    from studio.gpu import on_gpu, zero_gpu

    spaces = FakeSpaces()
    monkeypatch.setitem(sys.modules, "spaces", spaces)
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)

    def predict(x):
        return x + 1

    wrapped = on_gpu(predict)
    assert wrapped is not predict and spaces.registered == ["predict"]
    assert wrapped(1) == 2 and spaces.calls == ["predict"]
    assert not zero_gpu(), "the package alone is not ZeroGPU hardware"
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert zero_gpu()


@pytest.fixture
def zero_gpu_client(monkeypatch, config_file) -> Iterator[tuple[Client, FakeSpaces]]:
    import app
    from studio.config import load_config

    spaces = FakeSpaces()
    monkeypatch.setitem(sys.modules, "spaces", spaces)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    demo, _ = app.build_app(load_config(config_file))
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield Client(demo.local_url, verbose=False), spaces
    finally:
        demo.close()


def test_on_zerogpu_the_four_tasks_predict_on_the_gpu_with_picklable_arguments(zero_gpu_client, assets):
    client, spaces = zero_gpu_client
    on_gpu = ["text_classification_on_gpu", "ner_on_gpu", "translation_on_gpu", "image_classification_on_gpu"]
    assert set(on_gpu) <= set(spaces.registered), "registered while the app is built, before any request"
    result = client.predict("What a great film", api_name="/classify_text")
    assert {c["label"] for c in result["confidences"]} == {"POSITIVE", "NEGATIVE"}
    _, entities = client.predict("Angela Merkel visited Paris.", api_name="/recognize_entities")
    assert isinstance(entities, list)
    assert client.predict("Hello world.", api_name="/translate").strip()
    labels = client.predict(handle_file(str(assets / "tennis_ball.png")), api_name="/classify_image")
    assert len(labels["confidences"]) == 5
    assert spaces.calls == on_gpu


# ---------------------------------------------------------------------------------------------- flags


def test_share_flag_asks_gradio_for_a_share_link_and_leaves_gradio_share_alone_without_it(config_file):
    import app
    from studio.config import load_config

    config = load_config(config_file)
    assert app.launch_options(app.parse_args(["--share"]), config)["share"] is True
    assert app.launch_options(app.parse_args([]), config)["share"] is None  # GRADIO_SHARE=True still works


def test_auth_comes_from_the_flag_or_studio_auth(monkeypatch):
    import app

    monkeypatch.delenv("STUDIO_AUTH", raising=False)
    assert app.parse_args([]).auth is None
    assert app.parse_args(["--auth", "alice:pa:ss", "--auth", "bob:x"]).auth == [("alice", "pa:ss"), ("bob", "x")]
    monkeypatch.setenv("STUDIO_AUTH", "carol:secret,dave:hunter2")
    assert app.parse_args([]).auth == [("carol", "secret"), ("dave", "hunter2")]
    assert app.parse_args(["--auth", "erin:pw"]).auth == [("erin", "pw")], "the flag wins over the variable"


@pytest.mark.parametrize("argv, env", [(["--auth", "alice"], ""), (["--auth", ":pw"], ""), ([], "alice:")])
def test_a_malformed_login_stops_the_app_without_echoing_it(monkeypatch, capsys, argv, env):
    import app

    monkeypatch.setenv("STUDIO_AUTH", env)
    with pytest.raises(SystemExit) as stop:
        app.parse_args(argv)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    secret = (argv[-1] if argv else env).strip(":")
    assert "USER:PASSWORD" in error and secret not in error


def test_mcp_and_auth_together_are_refused(monkeypatch, capsys):
    import app

    monkeypatch.delenv("STUDIO_AUTH", raising=False)
    with pytest.raises(SystemExit):
        app.parse_args(["--mcp", "--auth", "alice:secret"])
    assert "--mcp does not work behind a login" in capsys.readouterr().err


def launched(config_file: Path, argv: list[str]):
    """The app launched as `python app.py ARGV` launches it, in this process."""
    import app
    from studio.config import load_config

    config = load_config(config_file)
    demo, _ = app.build_app(config)
    args = app.parse_args(["--host", "127.0.0.1", "--port", str(free_port()), *argv])
    demo.launch(**app.launch_options(args, config), prevent_thread_lock=True, quiet=True)
    return demo


def status_of(request: urllib.request.Request | str) -> int:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_with_a_login_strangers_are_refused_and_the_user_gets_in(config_file, monkeypatch):
    monkeypatch.setenv("STUDIO_AUTH", "alice:s3cret")
    demo = launched(config_file, [])
    try:
        url = demo.local_url
        assert status_of(url + "config") == 401
        assert status_of(url + "gradio_api/info") == 401
        call = urllib.request.Request(
            url + "gradio_api/call/classify_text",
            data=json.dumps({"data": ["hello"]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert status_of(call) == 401
        with pytest.raises(ValueError, match="credentials"):
            Client(url, verbose=False)
        with pytest.raises(ValueError):
            Client(url, auth=("alice", "wrong"), verbose=False)
        client = Client(url, auth=("alice", "s3cret"), verbose=False)
        assert client.predict("What a great film", api_name="/classify_text")["label"] in {"POSITIVE", "NEGATIVE"}
    finally:
        demo.close()


# ---------------------------------------------------------------------------------------------- MCP


@pytest.fixture(scope="module")
def mcp_app(config_file) -> Iterator[str]:
    demo = launched(config_file, ["--mcp"])
    yield demo.local_url
    demo.close()


def test_mcp_schema_lists_the_five_tasks_as_described_tools(mcp_app):
    with urllib.request.urlopen(mcp_app + "gradio_api/mcp/schema", timeout=30) as response:
        tools = {tool["name"]: tool for tool in json.load(response)}
    assert set(TASK_TOOLS) <= set(tools)
    for name in TASK_TOOLS:
        first_input = next(iter(tools[name]["inputSchema"]["properties"]))
        assert tools[name]["inputSchema"]["required"] == [first_input], f"{name}: only the user's input is required"
    described = ["classify_text", "recognize_entities", "translate", "classify_image", "finetune"]
    for name in [*described, "finetune_images", "finetune_entities"]:
        assert not tools[name]["description"].startswith(" If a user passes a file"), f"{name} has no description"


def test_an_assistant_lists_and_calls_the_tools_over_mcp(mcp_app):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def list_and_call() -> tuple[list[str], str]:
        async with (
            streamablehttp_client(mcp_app + "gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = [tool.name for tool in (await session.list_tools()).tools]
            result = await session.call_tool("classify_text", {"text": "What a lovely day"})
            assert not result.isError, result
            return tools, " ".join(part.text for part in result.content if part.type == "text")

    tools, answer = asyncio.run(list_and_call())
    assert set(TASK_TOOLS) <= set(tools)
    assert "POSITIVE" in answer and "NEGATIVE" in answer
