"""File inputs given as a URL (what gradio_client and MCP clients send): fetched with Gradio's own SSRF checks,
capped in size, checked for the kind of file, and every failure told in one sentence."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import mimetypes
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import gradio as gr
import httpx
import safehttpx
from gradio import processing_utils
from gradio_client import utils as client_utils

from studio.errors import UserError
from studio.i18n import error, language, say, word
from studio.ui import INTERNAL_ERROR

log = logging.getLogger(__name__)

TIMEOUT_S = 15
MAX_REDIRECTS = processing_utils.MAX_REDIRECTS

PRIVATE = (
    "The {kind} URL points to a private or local address, which this app does not fetch; "
    "upload the file itself or give a public http(s) URL."
)
HOST_NOT_FOUND = "The host in the {kind} URL ({host}) could not be found; check the address or upload the file itself."
UNREACHABLE = "The server of the {kind} URL ({host}) could not be reached; check the address or upload the file itself."
TIMED_OUT = (
    "The server of the {kind} URL did not answer within {seconds} seconds; try again later or upload the file itself."
)
NOT_PUBLIC = (
    "The {kind} URL answered {status}, so the file is not public; upload the file itself or give a URL anyone can open."
)
CLIENT_ERROR = "The {kind} URL answered {status}; check the address or upload the file itself."
SERVER_ERROR = "The {kind} URL answered {status}; try again later or upload the file itself."
TOO_MANY_REDIRECTS = (
    "The {kind} URL redirected more than {count} times; give the file's direct address or upload the file itself."
)
TOO_LARGE = "The file at the {kind} URL is larger than the {mb} MB limit; use a smaller file."
WRONG_TYPE = (
    "The {kind} URL does not point to {a_kind} (it sent {content_type}); "
    "give the address of the file itself or upload it."
)
BROKE_OFF = "The download from the {kind} URL broke off; try again or upload the file itself."
NOT_A_URL = "The {kind} URL is not a valid http(s) address; check it or upload the file itself."

# The kinds of file and these phrases are texts of the translation table.
A_KIND = {"image": "an image", "audio": "audio", "video": "a video", "data file": "a data file", "file": "a file"}
# What each kind accepts, by Content-Type prefix; a server that does not say (or says octet-stream) is believed
# here and the component's own decoding judges the bytes.
ACCEPTED = {
    "image": ("image/",),
    "audio": ("audio/", "video/", "application/ogg"),
    "video": ("video/", "audio/", "application/ogg"),
}
UNSAID = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
WEB_PAGE = ("text/html", "application/xhtml+xml")
MEDIA = ("image/", "audio/", "video/")
MIME_TYPE = re.compile(r"[a-z0-9.+_-]{1,40}/[a-z0-9.+_-]{1,80}")
# Types Python's mimetypes has no (or an odd) suffix for; a file component checks the suffix before anything else.
SUFFIXES = {
    "audio/wav": ".wav",
    "audio/wave": ".wav",
    "audio/x-m4a": ".m4a",
    "audio/x-flac": ".flac",
    "audio/webm": ".webm",
    "audio/ogg": ".ogg",
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "application/vnd.apache.parquet": ".parquet",
}


# Top-level names reserved never to resolve on the public internet (RFC 2606, RFC 6761): no lookup is made.
NEVER_RESOLVED = {"invalid", "test", "example"}


class UrlRefused(UserError):
    """A URL input that cannot be used; the message (a template of the translation table) says why and what to send
    instead."""


def guard_url_inputs(demo: gr.Blocks, max_upload_mb: int) -> None:
    """Make every input component of `demo` fetch URL values through `fetch`, with the upload size limit."""
    inputs = {id(block): block for fn in demo.fns.values() for block in fn.inputs}
    for component in inputs.values():
        _guard(component, input_kind(component), max_upload_mb)


def input_kind(component: Any) -> str:
    """What the user is asked for, as the messages name it: image, audio, video, data file or file."""
    for kind, cls in (("image", gr.Image), ("audio", gr.Audio), ("video", gr.Video)):
        if isinstance(component, cls):
            return kind
    file_types = getattr(component, "file_types", None) or []
    kinds = {_media_kind(file_type) for file_type in file_types}
    if len(kinds) == 1 and None not in kinds:
        return kinds.pop()
    return "data file" if file_types else "file"


def _media_kind(file_type: str) -> str | None:
    if file_type in ACCEPTED:
        return file_type
    guessed = mimetypes.guess_type(f"file{file_type}")[0] or ""
    return next((kind for kind in ACCEPTED if guessed.startswith(f"{kind}/")), None)


def _guard(component: Any, kind: str, max_upload_mb: int) -> None:
    move_to_cache = component.async_move_resource_to_block_cache

    async def fetched_or_moved(url_or_file_path: str | Path | None) -> str | None:
        if not (isinstance(url_or_file_path, str) and client_utils.is_http_url_like(url_or_file_path)):
            return await move_to_cache(url_or_file_path)
        try:
            path = await fetch(url_or_file_path, kind, component.GRADIO_CACHE, max_upload_mb)
        except UrlRefused as e:
            log.info("%s URL not used: %s", kind, e)
            raise error(e.in_language(language())) from None
        except Exception:
            log.exception("failed while fetching the URL given as the %s", kind)
            doing = say("fetching the {kind} URL", kind=word(kind))
            raise error(say(INTERNAL_ERROR, doing=doing)) from None
        component.temp_files.add(path)  # so the scheduled clean-up deletes it with the uploads
        return path

    # Gradio calls this for each file in an input before preprocess; for a URL it would download with no size or
    # type limit and fail with an exception the client sees only as "the upstream app raised an exception".
    component.async_move_resource_to_block_cache = fetched_or_moved


async def fetch(url: str, kind: str, cache_dir: str, max_upload_mb: int) -> str:
    """The file at `url` in the cache (fetched once per URL, as Gradio does), or UrlRefused saying why not."""
    folder = Path(cache_dir) / processing_utils.hash_url(url)
    if folder.is_dir():
        done = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
        if done:
            return str(done[0])
    async with contextlib.AsyncExitStack() as stack:
        response = await _get(url, kind, stack)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        _check_type(content_type, kind)
        max_bytes = max_upload_mb * 2**20
        too_large = UrlRefused(TOO_LARGE, kind=word(kind), mb=max_upload_mb)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise too_large
        folder.mkdir(parents=True, exist_ok=True)
        # A dot-name until it is whole, so a broken download is never taken for a cached one.
        handle, partial = tempfile.mkstemp(dir=folder, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as f:
                written = 0
                # Decoded bytes are counted, so a small gzip body cannot unpack past the limit.
                async for chunk in response.aiter_bytes():
                    written += len(chunk)
                    if written > max_bytes:
                        raise too_large
                    f.write(chunk)
            path = folder / _file_name(url, content_type)
            os.replace(partial, path)
        except httpx.TimeoutException:
            raise UrlRefused(TIMED_OUT, kind=word(kind), seconds=TIMEOUT_S) from None
        except httpx.HTTPError:
            raise UrlRefused(BROKE_OFF, kind=word(kind)) from None
        finally:
            Path(partial).unlink(missing_ok=True)
    return str(path)


async def _get(url: str, kind: str, stack: contextlib.AsyncExitStack) -> httpx.Response:
    """The final response's headers, the body unread, following redirects as processing_utils does: each hop's
    host is checked with safehttpx, as Gradio's own `async_ssrf_protected_get` does."""
    for _ in range(MAX_REDIRECTS + 1):
        transport = await _transport(url, kind)
        try:
            client = await stack.enter_async_context(httpx.AsyncClient(transport=transport, timeout=TIMEOUT_S))
            response = await client.send(client.build_request("GET", url), stream=True)
        except httpx.TimeoutException:
            raise UrlRefused(TIMED_OUT, kind=word(kind), seconds=TIMEOUT_S) from None
        except httpx.ConnectError:
            raise UrlRefused(UNREACHABLE, kind=word(kind), host=httpx.URL(url).host) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            raise UrlRefused(NOT_A_URL, kind=word(kind)) from None
        except httpx.HTTPError:
            raise UrlRefused(BROKE_OFF, kind=word(kind)) from None
        stack.push_async_callback(response.aclose)
        if not response.has_redirect_location:
            _check_status(response.status_code, kind)
            return response
        # Joined to the URL asked for: the response's own URL names the verified IP, not the host.
        url = urljoin(url, response.headers["Location"])
    raise UrlRefused(TOO_MANY_REDIRECTS, kind=word(kind), count=MAX_REDIRECTS)


async def _transport(url: str, kind: str) -> httpx.AsyncBaseTransport | None:
    """The transport safehttpx.get would use for this URL: pinned to a verified public IP unless the host is on
    Gradio's allow-list (or Gradio's module-level transport is set)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise UrlRefused(NOT_A_URL, kind=word(kind)) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UrlRefused(NOT_A_URL, kind=word(kind))
    # Refused here, without resolving: safehttpx would refuse them too, but only after asking dns.google.
    if _is_local(parsed.host):
        raise UrlRefused(PRIVATE, kind=word(kind))
    if processing_utils.async_transport:
        return processing_utils.async_transport
    if parsed.host.lower().rstrip(".").rsplit(".", 1)[-1] in NEVER_RESOLVED:
        raise UrlRefused(HOST_NOT_FOUND, kind=word(kind), host=parsed.host)
    if safehttpx.matches_domain_whitelist(parsed.host, processing_utils.PUBLIC_HOSTNAME_WHITELIST):
        return None
    try:
        verified_ip = await safehttpx.async_validate_url(parsed.host)
    except ValueError as e:
        if isinstance(e.__cause__, socket.gaierror):
            raise UrlRefused(HOST_NOT_FOUND, kind=word(kind), host=parsed.host) from None
        raise UrlRefused(PRIVATE, kind=word(kind)) from None
    return safehttpx.AsyncSecureTransport(verified_ip)


def _is_local(host: str) -> bool:
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return not safehttpx.is_public_ip(name)


def _check_status(status: int, kind: str) -> None:
    if status == 200:
        return
    said = f"{status} {httpx.codes.get_reason_phrase(status)}".strip()
    if status in (401, 403, 407):
        raise UrlRefused(NOT_PUBLIC, kind=word(kind), status=said)
    if status >= 500:
        raise UrlRefused(SERVER_ERROR, kind=word(kind), status=said)
    raise UrlRefused(CLIENT_ERROR, kind=word(kind), status=said)


def _check_type(content_type: str, kind: str) -> None:
    if content_type in UNSAID:
        return
    accepted = ACCEPTED.get(kind)
    if accepted is not None:
        wrong = not content_type.startswith(accepted)
    else:
        wrong = content_type in WEB_PAGE or (kind == "data file" and content_type.startswith(MEDIA))
    if wrong:
        # Echoed to the user (the page renders error messages as HTML): only a plain type/subtype.
        said = content_type if MIME_TYPE.fullmatch(content_type) else word("something else")
        raise UrlRefused(WRONG_TYPE, kind=word(kind), a_kind=word(A_KIND[kind]), content_type=said)


def _file_name(url: str, content_type: str) -> str:
    """Gradio's name for a downloaded file (the URL path's last part), with a suffix from the content type when
    the URL has none, since file components check the suffix."""
    name = client_utils.strip_invalid_filename_characters(Path(urlparse(url).path.rstrip("/")).name) or "file"
    if not Path(name).suffix and content_type not in UNSAID:
        suffix = SUFFIXES.get(content_type) or mimetypes.guess_extension(content_type, strict=False) or ""
        name += suffix
    return name
