"""Model Studio: try strong pretrained models on your own inputs, one tab per task."""

from __future__ import annotations

import argparse
import logging
import os
import time

import gradio as gr

import tasks
from finetune import tab as finetune_tab
from studio.config import Config, load_config
from studio.runtime import Studio

TITLE = "Model Studio"
INTRO = (
    "Try strong pretrained models on your own text, audio and images: classify text, find named entities, "
    "translate, transcribe speech and name what is in a picture. Every tab is also an API endpoint."
)
CSS = """
.status-line p { font-size: 0.85rem; opacity: 0.8; margin: 0; }
"""


def build_app(config: Config, device: str | None = None) -> tuple[gr.Blocks, Studio]:
    """The whole app, one tab per task; nothing is loaded until a request needs it."""
    studio = Studio(config=config, device_override=device)
    finetune_tab.register_runs(studio)
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        built = {}
        for task in tasks.TASKS:
            with gr.Tab(task.TITLE, id=task.TASK):
                built[task.TASK] = task.build_tab(studio)
        with gr.Tab(finetune_tab.TITLE, id="finetune"):
            finetune_tab.build_tab(studio, classifier_dropdown=built["text_classification"], demo=demo)
    demo.queue(default_concurrency_limit=2)
    return demo, studio


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--config", default=None, help="a models.toml (default: $STUDIO_CONFIG, else ./models.toml)")
    parser.add_argument("--share", action="store_true", help="also serve on a public gradio.live link")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    started = time.perf_counter()
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config(args.config)
    demo, _ = build_app(config)
    logging.getLogger("studio").info("built in %.1f s; models load on first use", time.perf_counter() - started)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        max_file_size=f"{config.limits.max_upload_mb}mb",
        theme=gr.themes.Soft(),
        css=CSS,
    )


if __name__ == "__main__":
    main()
