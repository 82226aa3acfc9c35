"""Every chunk a page streams to an event, kept in order until the event's handler takes it.

Gradio answers each chunk a stream posts (`POST /gradio_api/stream/{event_id}`) by replacing the event's data, and
its queue hands the handler whatever is there when the previous call returns: chunks that arrive during a call, or
two that arrive together, are lost. The page's microphone uploads each tenth of a second as a file before it posts
it, so on a busy machine one upload overtakes another and the two posts land together; live captions lost 2-5% of
the sound that way on 2 cores, 16% on a loaded one, which is words missing from the captions.

Two halves mend it. In the page, `CHUNKS_IN_ORDER` makes the microphone's uploads, and the posts that follow them,
leave one after another: two at once could also arrive swapped, a tenth of a second of speech played out of turn,
which Whisper hears as nonsense ("what your country" became "why do you have 100 feet"). On the server,
`KeepStreamedChunks`, an ASGI middleware, reads each post (and the call that opens the stream) as it passes, and
`STREAMED` keeps the file of every chunk of a watched event for its session; the handler takes all that came since
its last call, in the order they came. An app served without them (a `demo.launch()` of one's own) still works,
with Gradio's losses: `take` says so by returning None.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any

# For `launch(head=...)`. The page's Gradio client calls the global fetch for each request, so wrapping it here,
# before the app's scripts run, puts the microphone's chunks in a queue: each upload of a chunk ("audio.wav") waits
# for the one before it, and so does each post to a stream. A failed request lets the next go.
CHUNKS_IN_ORDER = r"""<script>
(() => {
  const send = window.fetch.bind(window);
  const queues = { upload: Promise.resolve(), post: Promise.resolve() };
  const isChunk = (body) =>
    body instanceof FormData && body.getAll("files").some((file) => file && file.name === "audio.wav");
  window.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input), location.href).pathname;
    const posting = ((init && init.method) || "GET").toUpperCase() === "POST";
    const queue = !posting ? null
      : url.endsWith("/gradio_api/upload") && isChunk(init.body) ? "upload"
      : /\/gradio_api\/stream\/[^/]+$/.test(url) ? "post" : null;
    if (!queue) return send(input, init);
    const answer = queues[queue].then(() => send(input, init));
    queues[queue] = answer.catch(() => {});
    return answer;
  };
})();
</script>"""
# The post that opens an event (its first chunk) and those that follow it, under whatever root the app is served at.
STREAM_POST = re.compile(r"/gradio_api/(queue/join|stream/[^/]+)$")
LARGEST_BODY = 64 * 1024  # a chunk's post names its file; one larger than this is not a microphone's
SESSIONS = 256  # the sessions kept, the least recently heard forgotten first
CHUNKS_PER_SESSION = 3_000  # five minutes of tenth-of-a-second chunks that no call has taken


class StreamedChunks:
    """The files of the chunks posted to watched stream events, per session, not yet taken by the handler."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: set[int] = set()
        self._sessions: OrderedDict[str, deque[str]] = OrderedDict()

    def watch(self, event_id: int) -> None:
        """Keep the chunks posted to this event (the `id` of the Dependency that `.stream()` returned)."""
        self._watched.add(event_id)

    def heard(self, body: bytes) -> None:
        """A post's body, as it passed: its chunk is kept if it is a watched event's and names an uploaded file."""
        if not self._watched:
            return
        try:
            call = json.loads(body)
            event, session, chunk = call.get("fn_index"), call.get("session_hash"), call.get("data", [None])[0]
        except (ValueError, AttributeError, TypeError, IndexError):
            return  # not ours to judge: Gradio answers a malformed call itself
        if event not in self._watched or not isinstance(session, str) or not isinstance(chunk, dict):
            return
        path = uploaded_file(chunk.get("path"))
        if path is None:
            return
        with self._lock:
            chunks = self._sessions.pop(session, None) or deque(maxlen=CHUNKS_PER_SESSION)
            chunks.append(path)
            self._sessions[session] = chunks
            while len(self._sessions) > SESSIONS:
                self._sessions.popitem(last=False)

    def take(self, session: str | None) -> list[str] | None:
        """The files of the chunks that came for this session since the last call, oldest first; None where none
        were ever kept for it (served without the middleware: the handler has only the chunk Gradio gave it)."""
        with self._lock:
            chunks = self._sessions.get(session or "")
            if chunks is None:
                return None
            taken = list(chunks)
            chunks.clear()
            return taken

    def forget(self, session: str | None) -> None:
        """The session's stream has ended."""
        with self._lock:
            self._sessions.pop(session or "", None)


STREAMED = StreamedChunks()


def uploaded_file(path: Any) -> str | None:
    """`path` if it lies in Gradio's upload folder (where Gradio itself takes an uploaded file from), else None: the
    body of a post is the sender's word, and a handler reads these files."""
    from gradio.utils import get_upload_folder

    if not isinstance(path, str) or not path:
        return None
    try:
        resolved = Path(path).resolve()
        folder = Path(get_upload_folder()).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    return str(resolved) if resolved.is_relative_to(folder) and resolved != folder else None


class KeepStreamedChunks:
    """ASGI middleware: the body of each stream post goes on to Gradio unchanged, and to `STREAMED` as it passes."""

    def __init__(self, app: Any, chunks: StreamedChunks = STREAMED) -> None:
        self.app = app
        self.chunks = chunks

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not STREAM_POST.search(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def receiving() -> dict:
            message = await receive()
            if message["type"] == "http.request" and len(body) <= LARGEST_BODY:
                body.extend(message.get("body", b""))
                if not message.get("more_body") and len(body) <= LARGEST_BODY:
                    self.chunks.heard(bytes(body))
            return message

        await self.app(scope, receiving, send)
