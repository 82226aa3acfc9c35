"""python -m bench [NAME ...]: run the benchmarks and print their tables (all of them when no name is given).

Each benchmark compares the app with its raw-library baseline in the same run, on the same inputs, so its
ratios hold on a busy machine even when its absolute times do not. Tables are also written, as Markdown,
to bench/results/<name>.md. Extra arguments after `--` go to a single named benchmark:

    .venv/bin/python -m bench                      # everything, in this order
    .venv/bin/python -m bench latency throughput
    .venv/bin/python -m bench latency -- --tasks ner --seconds 10
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import time
import traceback

# name -> module; speech is another script's (bench/speech.py) and runs when it is there.
BENCHMARKS = {
    "latency": "bench.latency",
    "throughput": "bench.throughput",
    "finetune": "bench.finetune_speed",
    "speech": "bench.speech",
    "startup": "bench.startup",
    "memory": "bench.memory",
    "zero_shot": "bench.zero_shot",
    "chinese_entities": "bench.chinese_entities",
    "batch": "bench.batch",
    "optimise": "bench.optimise",
    "bergamot_threads": "bench.bergamot_threads",
    "chinese": "bench.chinese",
    "label_check": "bench.label_check",
    "search": "bench.search",
    "multilabel": "bench.multilabel",
    "live_speech": "bench.live_speech",
    "job_start": "bench.job_start",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    if any(a in {"-h", "--help"} for a in argv):
        print(__doc__)
        print("Benchmarks: " + ", ".join(BENCHMARKS))
        return 0
    unknown = [a for a in argv if a not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    names = argv or list(BENCHMARKS)
    if extra and len(names) != 1:
        print("arguments after -- need exactly one benchmark name", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        module_name = BENCHMARKS[name]
        if importlib.util.find_spec(module_name) is None:
            print(f"\n[bench] {name}: {module_name} is not there yet; skipped", file=sys.stderr, flush=True)
            continue
        print(f"\n[bench] {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            run = importlib.import_module(module_name).main
            code = run(extra) if inspect.signature(run).parameters else run()
        except Exception:  # one broken benchmark must not hide the others' tables
            traceback.print_exc()
            code = 1
        print(f"[bench] {name} took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"[bench] failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
