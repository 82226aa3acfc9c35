"""Fine-tuned runs on disk: which there are and the tab each serves in.

A run is a folder in runs_dir that fine-tuning wrote (finetune/report.py); a faster CPU copy of one is a folder
beside it, `<run>-int8`, whose metrics.json names the run it was made from. Fine-tuning makes them; the tabs serve
them; batch runs read them: so what they are lives here, on the floor all three stand on.
"""

from __future__ import annotations

import json
from pathlib import Path

COMPLETE_MARKER = "metrics.json"  # written last inside the folder, which is itself renamed into place
# The tab each kind of run is served in.
SERVED_IN = {"text": "text_classification", "image": "image_classification", "entities": "ner"}


def list_runs(runs_dir: Path) -> dict[str, Path]:
    """Complete runs (and their faster CPU copies) in `runs_dir`, newest first, by folder name; partial or broken
    folders are skipped."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return {}
    complete = [
        path
        for path in runs_dir.iterdir()
        if path.is_dir()
        and not path.name.startswith(".")
        and (path / COMPLETE_MARKER).is_file()
        and (path / "config.json").is_file()
        and ((path / "model.safetensors").is_file() or (path / "model.onnx").is_file())  # a run or its faster copy
    ]
    complete.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return {path.name: path for path in complete}


def run_metadata(run: Path) -> dict:
    try:
        return json.loads((run / COMPLETE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def run_task(run: Path) -> str:
    """The kind of model a run folder holds ("text" for runs from before there were other kinds)."""
    return run_metadata(run).get("task", "text")


def run_label(run: Path) -> str:
    """What the dropdowns call a run: its folder's name, or "<run> (int8)" for a faster CPU copy."""
    return run_metadata(run).get("label") or run.name
