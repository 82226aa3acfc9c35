"""File inputs given as URLs, the way gradio_client and MCP clients send them: every URL that cannot be used gets
its own sentence on every file input, Gradio's SSRF refusal stays, and the server keeps serving.

Only loopback is reachable here. Private and unresolvable addresses are refused before any traffic; the other
answers a server can give (404, a web page, a huge file, a timeout) come from an httpx MockTransport put where
Gradio's own downloads take theirs (gradio.processing_utils.async_transport), so the real request path runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import safehttpx
from gradio import processing_utils
from gradio_client import Client, handle_file

from tests.conftest import free_port, write_config
from tests.test_bad_inputs import csv_rows, png, two_labels, wav

MAX_UPLOAD_MB = 1
PRIVATE = (
    "The {} URL points to a private or local address, which this app does not fetch; "
    "upload the file itself or give a public http(s) URL."
)
HOST_NOT_FOUND = (
    "The host in the {} URL (no-such-host.invalid) could not be found; check the address or upload the file itself."
)
NOT_FOUND = "The {} URL answered 404 Not Found; check the address or upload the file itself."
NOT_PUBLIC = (
    "The image URL answered 403 Forbidden, so the file is not public; upload the file itself or give a URL anyone "
    "can open."
)
SERVER_ERROR = "The image URL answered 503 Service Unavailable; try again later or upload the file itself."
TOO_LARGE = f"The file at the {{}} URL is larger than the {MAX_UPLOAD_MB} MB limit; use a smaller file."
WEB_PAGE = "The {} URL does not point to {} (it sent text/html); give the address of the file itself or upload it."
TIMED_OUT = "The server of the image URL did not answer within 15 seconds; try again later or upload the file itself."
UNREACHABLE = (
    "The server of the image URL (files.example) could not be reached; check the address or upload the file itself."
)
BROKE_OFF = "The download from the image URL broke off; try again or upload the file itself."
REDIRECT_LOOP = "The image URL redirected more than 20 times; give the file's direct address or upload the file itself."
NOT_A_URL = "The image URL is not a valid http(s) address; check it or upload the file itself."

UNRESOLVABLE = "http://no-such-host.invalid/cat.png"
FILES = "https://files.example"  # answered by the mock transport, never looked up


@pytest.fixture(scope="module")
def url_app(tiny_models, tmp_path_factory):
    import app
    from studio.config import load_config

    folder = tmp_path_factory.mktemp("url-inputs")
    config = load_config(
        write_config(folder / "models.toml", tiny_models, folder / "runs", extra=f"max_upload_mb = {MAX_UPLOAD_MB}")
    )
    demo, _ = app.build_app(config)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        mcp_server=True,
        max_file_size=f"{MAX_UPLOAD_MB}mb",
    )
    url = f"http://127.0.0.1:{port}/"
    yield url, Client(url, verbose=False), demo
    demo.close()


@pytest.fixture(autouse=True)
def no_outside_lookups(monkeypatch):
    """safehttpx asks dns.google about a host that resolves only to private addresses; none of these may."""
    asked = []

    async def refuse(hostname: str) -> list[str]:
        asked.append(hostname)
        return []

    monkeypatch.setattr(safehttpx, "async_resolve_hostname_google", refuse)
    yield
    assert asked == [], f"asked dns.google about {asked}"


def serve(request: httpx.Request) -> httpx.Response:
    """What the outside world's file servers answer, one path per case."""
    path = request.url.path
    if path in ("/cat.png", "/moved/cat.png", "/photo"):
        return httpx.Response(200, headers={"content-type": "image/png"}, content=png(64, 48))
    if path == "/moved":
        return httpx.Response(302, headers={"location": "/moved/cat.png"})
    if path == "/to-loopback":
        return httpx.Response(302, headers={"location": "http://127.0.0.1/gradio_api/file=cat.png"})
    if path == "/to-file":
        return httpx.Response(301, headers={"location": "file:///etc/passwd"})
    if path == "/loop":
        return httpx.Response(302, headers={"location": "/loop"})
    if path == "/page":
        return httpx.Response(200, headers={"content-type": "text/html; charset=utf-8"}, content=b"<html></html>")
    if path == "/forbidden.png":
        return httpx.Response(403)
    if path == "/busy.png":
        return httpx.Response(503)
    if path == "/declared-huge.png":
        return httpx.Response(200, headers={"content-type": "image/png", "content-length": str(2 * 2**20)})
    if path == "/streamed-huge.png":
        # No Content-Length: only counting the bytes as they come can stop it.
        return httpx.Response(200, headers={"content-type": "application/octet-stream"}, content=zeros(2 * 2**20 + 1))
    if path == "/slow.png":
        raise httpx.ReadTimeout("timed out", request=request)
    if path == "/down.png":
        raise httpx.ConnectError("connection refused", request=request)
    if path == "/cut.png":
        raise httpx.RemoteProtocolError("peer closed the connection", request=request)
    if path == "/speech.wav":
        return httpx.Response(200, headers={"content-type": "audio/x-wav"}, content=wav(1.0))
    return httpx.Response(404)


async def zeros(count: int, chunk: int = 2**16):
    for start in range(0, count, chunk):
        yield bytes(min(chunk, count - start))


@pytest.fixture
def file_servers(monkeypatch):
    monkeypatch.setattr(processing_utils, "async_transport", httpx.MockTransport(serve))


def error_of(client: Client, *args, api_name: str, **kwargs) -> str:
    with pytest.raises(Exception) as refused:
        client.predict(*args, api_name=api_name, **kwargs)
    return str(refused.value)


def assert_still_serving(client: Client, assets: Path) -> None:
    labels = client.predict(handle_file(str(assets / "tennis_ball.png")), api_name="/classify_image")
    assert len(labels["confidences"]) == 5


def mcp_calls(base: str, calls: list[tuple[str, dict]]) -> list:
    """Each (tool, arguments) called in one real MCP client session over streamable HTTP."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def run() -> list:
        async with (
            streamablehttp_client(base + "gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return [await session.call_tool(tool, arguments) for tool, arguments in calls]

    return asyncio.run(run())


# ---- Addresses refused before any request: gradio_client and MCP ----


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1:{port}", "localhost:{port}", "10.1.2.3", "169.254.169.254", "[::1]", "192.168.0.1:8080"],
    ids=["loopback", "localhost", "private", "cloud metadata", "IPv6 loopback", "LAN"],
)
def test_a_private_or_local_image_url_is_refused_with_its_reason(url_app, assets, address):
    base, client, _ = url_app
    url = f"http://{address.format(port=httpx.URL(base).port)}/gradio_api/file=cat.png"
    assert error_of(client, handle_file(url), api_name="/classify_image") == PRIVATE.format("image")
    assert_still_serving(client, assets)


def test_every_file_input_names_its_kind(url_app, assets, tmp_path):
    base, client, _ = url_app
    loopback = f"{base}cat.png"
    data = tmp_path / "data.csv"
    data.write_text(csv_rows(two_labels()), encoding="utf-8")
    cases = [
        ("image", {"image_path": handle_file(loopback)}, "/classify_image"),
        ("audio", {"audio_path": handle_file(loopback)}, "/transcribe"),
        ("video", {"audio_path": None, "video_path": handle_file(loopback)}, "/transcribe"),
        ("data file", {"data_file": handle_file(loopback)}, "/finetune"),
        ("data file", {"data_file": handle_file(str(data)), "validation_file": handle_file(UNRESOLVABLE)}, "/finetune"),
    ]
    told = [error_of(client, api_name=api, **inputs) for _, inputs, api in cases]
    assert told[:4] == [PRIVATE.format(kind) for kind, _, _ in cases[:4]]
    assert told[4] == HOST_NOT_FOUND.format("data file")
    assert_still_serving(client, assets)


@pytest.mark.parametrize("api_name, kind", [("/classify_image", "image"), ("/transcribe", "audio")])
def test_an_unresolvable_host_is_named(url_app, assets, api_name, kind):
    _, client, _ = url_app
    assert error_of(client, handle_file(UNRESOLVABLE), api_name=api_name) == HOST_NOT_FOUND.format(kind)
    assert_still_serving(client, assets)


def test_mcp_tool_calls_with_unusable_urls_say_why(url_app, assets):
    base, client, _ = url_app
    results = mcp_calls(
        base,
        [
            ("classify_image", {"image_path": f"{base}gradio_api/file=cat.png"}),
            ("classify_image", {"image_path": UNRESOLVABLE}),
            ("transcribe", {"audio_path": "http://localhost/speech.wav"}),
            ("classify_text", {"text": "a great movie"}),
        ],
    )
    told = [(result.isError, [c.text for c in result.content]) for result in results[:3]]
    assert told == [
        (True, [PRIVATE.format("image")]),
        (True, [HOST_NOT_FOUND.format("image")]),
        (True, [PRIVATE.format("audio")]),
    ]
    assert not results[3].isError, "the MCP server still answers after refusing"
    assert_still_serving(client, assets)


# ---- What a public server can answer (mock transport) ----


@pytest.mark.usefixtures("file_servers")
@pytest.mark.parametrize(
    "path, message",
    [
        ("/missing.png", NOT_FOUND.format("image")),
        ("/forbidden.png", NOT_PUBLIC),
        ("/busy.png", SERVER_ERROR),
        ("/page", WEB_PAGE.format("image", "an image")),
        ("/declared-huge.png", TOO_LARGE.format("image")),
        ("/streamed-huge.png", TOO_LARGE.format("image")),
        ("/slow.png", TIMED_OUT),
        ("/down.png", UNREACHABLE),
        ("/cut.png", BROKE_OFF),
        ("/loop", REDIRECT_LOOP),
        ("/to-loopback", PRIVATE.format("image")),
        ("/to-file", NOT_A_URL),
    ],
    ids=lambda value: value.strip("/") if value.startswith("/") else "",
)
def test_what_a_file_server_answers_is_told(url_app, assets, path, message):
    _, client, demo = url_app
    url = FILES + path
    assert error_of(client, handle_file(url), api_name="/classify_image") == message
    assert not _cached(demo, url), "nothing of a refused download is kept"
    assert_still_serving(client, assets)


@pytest.mark.usefixtures("file_servers")
def test_other_kinds_refuse_what_they_cannot_use(url_app, assets):
    _, client, _ = url_app
    told = [
        error_of(client, handle_file(FILES + "/page"), api_name="/transcribe"),
        error_of(client, handle_file(FILES + "/cat.png"), api_name="/transcribe"),
        error_of(client, None, video_path=handle_file(FILES + "/page"), api_name="/transcribe"),
        error_of(client, handle_file(FILES + "/cat.png"), api_name="/finetune"),
        error_of(client, handle_file(FILES + "/missing.csv"), api_name="/finetune"),
    ]
    assert told == [
        WEB_PAGE.format("audio", "audio"),
        "The audio URL does not point to audio (it sent image/png); give the address of the file itself or upload it.",
        WEB_PAGE.format("video", "a video"),
        "The data file URL does not point to a data file (it sent image/png); give the address of the file itself "
        "or upload it.",
        NOT_FOUND.format("data file"),
    ]
    assert_still_serving(client, assets)


@pytest.mark.usefixtures("file_servers")
def test_a_public_file_url_is_fetched_and_used(url_app):
    base, client, _ = url_app
    for url in (FILES + "/cat.png", FILES + "/moved", FILES + "/photo"):  # direct, redirected, no suffix
        labels = client.predict(handle_file(url), api_name="/classify_image")
        assert len(labels["confidences"]) == 5, url
    (result,) = mcp_calls(base, [("classify_image", {"image_path": FILES + "/cat.png"})])
    assert not result.isError, result.content
    transcript = client.predict(handle_file(FILES + "/speech.wav"), api_name="/transcribe")
    assert isinstance(transcript[0], str)


@pytest.mark.parametrize("url", ["http:///cat.png", "http://[::1/cat.png", "https://:443/cat.png"])
def test_a_malformed_url_is_told(url_app, assets, url):
    _, client, _ = url_app
    assert error_of(client, handle_file(url), api_name="/classify_image") == NOT_A_URL
    assert_still_serving(client, assets)


def _cached(demo, url: str) -> bool:
    """Whether any file of `url` is in the image input's cache folder."""
    import gradio as gr

    (image,) = [b for b in demo.blocks.values() if isinstance(b, gr.Image) and b.interactive is not False]
    folder = Path(image.GRADIO_CACHE) / processing_utils.hash_url(url)
    return folder.is_dir() and any(folder.iterdir())
