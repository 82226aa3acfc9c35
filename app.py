"""Model Studio: try strong pretrained models on your own inputs, one tab per task."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import time
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

import tasks
from batch.specs import SPECS as BATCH_SPECS
from batch.ui import batch_section
from finetune import tab as finetune_tab
from studio.config import Config, load_config
from studio.i18n import gradio_i18n, speak_each_requests_language, ui
from studio.runtime import Studio, use_own_file_cache
from studio.streams import CHUNKS_IN_ORDER, KeepStreamedChunks
from studio.urls import guard_url_inputs

TITLE = "Model Studio"
INTRO = (
    "Try strong pretrained models on your own text, audio and images, and fine-tune text classifiers, entity "
    "recognisers and image classifiers on your own data to use here at once. Models load on first use; every tab "
    "is also an API endpoint (**Use via API**, at the bottom)."
)
HEADER = f"# {TITLE}\n{INTRO}"
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="blue")
# Theme variables, not fixed colours, so that dark mode stays readable.
CSS = """
#studio-header h1 { margin-bottom: 0.2rem; }
#studio-header p { margin-top: 0; }
.status-line p { font-size: 0.85rem; color: var(--body-text-color); margin: 0; }
"""
AUTH_ENV = "STUDIO_AUTH"


def build_app(config: Config, device: str | None = None) -> tuple[gr.Blocks, Studio]:
    """The whole app, one tab per task; nothing is loaded until a request needs it."""
    use_own_file_cache()  # before any component is made: each takes its cache folder when created
    studio = Studio(config=config, device_override=device)
    finetune_tab.register_runs(studio)
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(ui(HEADER), elem_id="studio-header")
        built = {}
        for task in tasks.TASKS:
            with gr.Tab(ui(task.TITLE), id=task.TASK):
                built[task.TASK] = task.build_tab(studio)
                if task.TASK in BATCH_SPECS:  # "Run on a file": the tab's model over a whole file
                    batch_section(studio, BATCH_SPECS[task.TASK], built[task.TASK])
        with gr.Tab(ui(finetune_tab.TITLE), id="finetune"):
            finetune_tab.build_tab(studio, model_dropdowns=built, demo=demo)
    limits = config.limits
    guard_url_inputs(demo, limits.max_upload_mb)
    speak_each_requests_language(demo)
    # Beyond queue_size waiting requests Gradio answers at once: "This application is currently busy.
    # Please try again." in the page, "Queue is full! Please try again." in gradio_client (HTTP 503).
    demo.queue(default_concurrency_limit=limits.concurrency_per_task, max_size=limits.queue_size)
    # Uploads and outputs are deleted on a schedule (and all of them when the server stops); a training
    # job works on its own copy of its data (finetune/jobs.py), so no deletion can pull a file from under it.
    demo.delete_cache = (limits.delete_files_every_s, limits.delete_files_after_s)
    return demo, studio


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--config", default=None, help="a models.toml (default: $STUDIO_CONFIG, else ./models.toml)")
    parser.add_argument("--share", action="store_true", help="also serve on a public gradio.live link for 1 week")
    parser.add_argument(
        "--auth",
        action="append",
        type=_user_password,
        metavar="USER:PASSWORD",
        help=f"ask for this login before anything else (repeat for more users; default: ${AUTH_ENV})",
    )
    parser.add_argument(
        "--mcp", action="store_true", help="also serve the tasks as MCP tools at /gradio_api/mcp/ (needs `mcp`)"
    )
    args = parser.parse_args(argv)
    if not args.auth and os.environ.get(AUTH_ENV):
        try:
            args.auth = [_user_password(login) for login in os.environ[AUTH_ENV].split(",")]
        except argparse.ArgumentTypeError as e:
            parser.error(f"${AUTH_ENV}: {e}")
    if args.mcp and importlib.util.find_spec("mcp") is None:
        parser.error("--mcp needs the `mcp` package: pip install 'mcp>=1.21,<2' (it is in requirements.txt)")
    if args.mcp and args.auth:
        # Gradio's MCP server does not log in: behind a login its tools are listed but every call fails.
        parser.error("--mcp does not work behind a login; leave out --auth (and $STUDIO_AUTH) to serve MCP tools")
    return args


def _user_password(login: str) -> tuple[str, str]:
    user, _, password = login.strip().partition(":")
    if not user or not password:
        # The value is not echoed: it may hold a password.
        raise argparse.ArgumentTypeError("a login is USER:PASSWORD, both non-empty")
    return user, password


# Browsers treat a microphone as a call's: echo cancellation, noise suppression and automatic gain reshape the voice,
# and Whisper, trained on recordings as they are, mishears it (the live-captions browser test: WER 8-11% with them,
# 1-10% without). Every microphone in the page is asked for its sound as it is.
RAW_MICROPHONE = """<script>
(() => {
  const devices = navigator.mediaDevices;
  if (!devices || !devices.getUserMedia) return;
  const ask = devices.getUserMedia.bind(devices);
  const raw = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
  // Also when a microphone was chosen ({ audio: { deviceId } }): the choice stays, the processing goes.
  devices.getUserMedia = (constraints) => {
    const audio = constraints && constraints.audio;
    if (!audio) return ask(constraints);
    return ask({ ...constraints, audio: audio === true ? raw : { ...raw, ...audio } });
  };
})();
</script>"""


def launch_options(args: argparse.Namespace, config: Config) -> dict[str, Any]:
    """`demo.launch()`'s keyword arguments for these flags: where to serve, sharing, login, MCP and the look."""
    return {
        "server_name": args.host,
        "server_port": args.port,
        # None, not False, so Gradio's own GRADIO_SHARE / GRADIO_MCP_SERVER still work as documented.
        "share": True if args.share else None,
        "auth": args.auth or None,
        "auth_message": f"{TITLE}: log in with the user name and password you were given." if args.auth else None,
        "mcp_server": True if args.mcp else None,
        "max_file_size": f"{config.limits.max_upload_mb}mb",
        "theme": THEME,
        "i18n": gradio_i18n(),
        "css": CSS,
        # Every chunk the microphone streams reaches the live captions, in order, not only the newest (studio/streams).
        "head": RAW_MICROPHONE + CHUNKS_IN_ORDER,
        "app_kwargs": {"middleware": [Middleware(KeepStreamedChunks)]},
    }


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config(args.config)
    demo, _ = build_app(config)
    logging.getLogger("studio").info("built in %.1f s; models load on first use", time.perf_counter() - started)
    demo.launch(**launch_options(args, config))


if __name__ == "__main__":
    main()
