"""Memory: the app's resident memory as each task's model loads, against the bare libraries, and under the LRU bound.

Three processes, the same five models in the same order: the app with room for all of them, a plain Python
process that loads them with the libraries directly, and the app with `max_loaded_models` set low, sent
round the five tasks twice, which must stay bounded (least-recently-used models are unloaded).

    .venv/bin/python -m bench memory [--bound 2]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from bench import common
from bench.common import API_NAMES, TASKS, Table, progress
from bench.startup import FIRST_INPUT, direct_first


def app_memory(config: Path, laps: int = 1) -> list[dict]:
    """RSS after start, then after each task's first request (and again on later laps), with models resident."""
    rows = []
    with common.AppServer(config) as app:
        client = common.gradio_client(app.url)
        time.sleep(1.0)
        rows.append({"step": "started", "rss": app.rss_mb(), "resident": 0})
        for lap in range(laps):
            for task in TASKS:
                progress(f"memory: lap {lap + 1}: {task}")
                client.predict(*common.client_args(task, FIRST_INPUT[task]), api_name=API_NAMES[task])
                time.sleep(0.5)
                log = app.log_text()
                resident = len(re.findall(r"loaded \S+ model", log)) - len(re.findall(r"evicted \S+ model", log))
                rows.append({"step": task, "lap": lap + 1, "rss": app.rss_mb(), "resident": resident})
    return rows


def direct_memory(refs: dict[str, str]) -> list[dict]:
    """In this (fresh) process: load and run each model with its library, keeping all of them; RSS after each."""
    import psutil

    rows = [{"step": "started", "rss": psutil.Process().memory_info().rss / 2**20}]
    for task in TASKS:
        direct_first(task, refs[task], keep=True)
        gc.collect()
        rows.append({"step": task, "rss": psutil.Process().memory_info().rss / 2**20})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench memory", description=__doc__.split("\n")[0])
    parser.add_argument("--bound", type=int, default=2, help="max_loaded_models for the bounded run")
    parser.add_argument("--direct", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    refs = common.build_models(progress)
    if args.direct:
        print(json.dumps(direct_memory(refs)), flush=True)
        return 0

    common.start_results("memory")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        roomy = common.write_config(Path(tmp) / "roomy.toml", refs, max_loaded_models=8)
        bounded = common.write_config(Path(tmp) / "bounded.toml", refs, max_loaded_models=args.bound)
        progress("memory: the app with room for every model")
        all_loaded = app_memory(roomy)
        progress("memory: the libraries directly, in one process")
        direct = common.run_json("bench.memory", "--direct")
        progress(f"memory: the app with max_loaded_models = {args.bound}, twice round the tasks")
        bounded_rows = app_memory(bounded, laps=2)
    report(all_loaded, direct, bounded_rows, args.bound)
    return 0


def report(all_loaded: list[dict], direct: list[dict], bounded: list[dict], bound: int) -> None:
    table = Table(
        "Resident memory (RSS, MiB) as each task's model loads: the app, the bare libraries, the app under its "
        "LRU bound",
        ["After", "App (room for all)", "Libraries directly", "App - libraries",
         f"App, bound {bound}: lap 1", "lap 2", "Models resident (bound)"],
    )  # fmt: skip
    laps = {(r.get("lap", 1), r["step"]): r for r in bounded}
    for i, step in enumerate(["started", *TASKS]):
        app_rss, lib_rss = all_loaded[i]["rss"], direct[i]["rss"]
        first = laps.get((1, step))
        second = laps.get((2, step))
        table.add(
            step if step == "started" else f"{step} loaded",
            f"{app_rss:,.0f}",
            f"{lib_rss:,.0f}",
            f"{app_rss - lib_rss:+,.0f}",
            f"{first['rss']:,.0f}" if first else "",
            f"{second['rss']:,.0f}" if second else "",
            f"{first['resident']} / {second['resident']}" if second else (str(first["resident"]) if first else ""),
        )
    peak_all = max(r["rss"] for r in all_loaded)
    lap1 = max(r["rss"] for r in bounded if r.get("lap") == 1)
    lap2 = max(r["rss"] for r in bounded if r.get("lap") == 2)
    most_resident = max(r["resident"] for r in bounded)
    table.note(
        f"All five models loaded: the app holds {all_loaded[-1]['rss']:,.0f} MiB, the bare libraries "
        f"{direct[-1]['rss']:,.0f} MiB (Gradio, its server and the app's own state are the difference)."
    )
    table.note(
        f"Bounded by the LRU setting: {common.mark(most_resident <= bound and lap2 <= lap1 * 1.10 and lap2 < peak_all)}"
        f" - at most {most_resident} models resident with max_loaded_models = {bound}; peak {lap1:,.0f} MiB on the "
        f"first lap and {lap2:,.0f} MiB on the second (no growth as models are unloaded and reloaded), against "
        f"{peak_all:,.0f} MiB with every model kept."
    )
    table.note(
        "Models: " + "; ".join(f"{task}: {common.STAND_INS[task]}" for task in TASKS) + ". RSS counts the app "
        f"process and any children; {os.cpu_count()} CPU cores, fp32 on CPU."
    )
    table.show("memory")


if __name__ == "__main__":
    sys.exit(main())
