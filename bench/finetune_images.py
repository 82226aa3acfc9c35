"""Image fine-tuning, measured: accuracy of EfficientNet-Lite0 (offline pack) trained through the CLI on real clothes.

Fashion-MNIST (Debian's dataset-fashion-mnist): 2,000 training pictures (200 per class, from its training set) and
1,000 held-out pictures (100 per class, from its test set, passed as --validation). Each run is
`python -m finetune --task image ...` in a subprocess, at one image size, learning rate and number of epochs
("default" leaves the CLI's own value). The baseline, measured in the same run on the same pictures, is a logistic
regression on the raw 28x28 pixels.
Run from the repo root: `.venv/bin/python -m bench.finetune_images [--runs 96:default:default,128:3e-4:3]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# image size:learning rate:epochs
# image size "default": what the kind picks for these 28 px pictures (finetune.images.default_image_size)
RUNS = ("default:default:default", "64:default:default", "128:default:default")
HEADER = (
    "| image size | learning rate | epochs (best) | accuracy | macro F1 | accuracy per epoch | wall s | "
    "samples/s |\n|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated size:learning-rate:epochs")
    parser.add_argument("--model", default="pack:efficientnet-lite0")
    parser.add_argument("--train", type=int, default=2000, help="training pictures (a tenth of them per class)")
    parser.add_argument("--held-out", type=int, default=1000, help="held-out pictures (a tenth per class)")
    parser.add_argument("--batch-size", default="default", help="the CLI's --batch-size (default: its own)")
    parser.add_argument("--work", default=None, help="folder for the data and runs (default: a new temp folder)")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="finetune-images-"))
    work.mkdir(parents=True, exist_ok=True)
    train, held_out = _data(work, args.train // 10, args.held_out // 10)
    print(f"data and runs in {work}; base model {args.model}; {args.train} training, {args.held_out} held out\n")
    print(f"baseline, logistic regression on the raw pixels: accuracy {_baseline(train, held_out):.3f}\n")
    print(HEADER, flush=True)
    for i, run in enumerate(args.runs.split(",")):
        size, lr, epochs = run.split(":")
        output = work / f"run-{i}-{size}-{lr}-{epochs}"
        command = [sys.executable, "-m", "finetune", "--task", "image", "--model", args.model]
        command += ["--data", str(train), "--validation", str(held_out), "--output", str(output)]
        command += ["--progress", "jsonl"] + ([] if size == "default" else ["--image-size", size])
        command += [] if lr == "default" else ["--learning-rate", lr]
        command += [] if epochs == "default" else ["--epochs", epochs]
        command += [] if args.batch_size == "default" else ["--batch-size", args.batch_size]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=_env())
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(f"| {size} | {lr} | {epochs} | failed: {done.stderr.strip().splitlines()[-1:]} |", flush=True)
            continue
        print(_row(output, wall), flush=True)


def _data(work: Path, train_per_class: int, held_out_per_class: int) -> tuple[Path, Path]:
    from finetune.fashion_sample import fashion_mnist, write_zip

    train = write_zip(work / "fashion_train.zip", fashion_mnist(train_per_class, "train", seed=0))
    held_out = write_zip(work / "fashion_held_out.zip", fashion_mnist(held_out_per_class, "test", seed=0))
    return train, held_out


def _baseline(train: Path, held_out: Path) -> float:
    """Logistic regression on the 784 grey values: what the pictures give without any pretrained model."""
    from sklearn.linear_model import LogisticRegression

    x_train, y_train = _pixels(train)
    x_test, y_test = _pixels(held_out)
    model = LogisticRegression(max_iter=2000, C=0.05).fit(x_train, y_train)
    return float(model.score(x_test, y_test))


def _pixels(path: Path) -> tuple[list, list[str]]:
    import io

    import numpy as np
    from PIL import Image

    rows, labels = [], []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            grey = Image.open(io.BytesIO(archive.read(name))).convert("L")
            rows.append(np.asarray(grey, dtype=np.float32).ravel() / 255)
            labels.append(name.split("/")[-2])
    return rows, labels


def _row(output: Path, wall: float) -> str:
    result = json.loads((output / "metrics.json").read_text())
    m = result["metrics"]
    events = [json.loads(line) for line in (output / "training_log.jsonl").read_text().splitlines()]
    evals = [e for e in events if e["event"] == "eval"]
    best = min(evals, key=lambda e: e["val_loss"])["epoch"] if evals else "-"
    per_epoch = " / ".join(f"{e['accuracy']:.3f}" for e in evals)
    lr, size = result["config"]["learning_rate"], result["config"]["image_size"]
    return (
        f"| {size} | {lr:g} | {len(evals)} ({best}) | {m['accuracy']:.3f} | {m['macro']['f1']:.3f} | {per_epoch} | "
        f"{wall:.0f} | {result['samples_per_second']:.1f} |"
    )


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


if __name__ == "__main__":
    main()
