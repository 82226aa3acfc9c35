"""Real labelled pictures for tests and the benchmark: Fashion-MNIST (Debian's dataset-fashion-mnist, MIT).

Writes an ImageFolder zip, one folder per class of 28×28 grey PNGs, sampled with a seed from the training or the
test set (disjoint, so a test-set zip is a fair held-out validation file for a training-set zip).
"""

from __future__ import annotations

import argparse
import gzip
import io
import random
import struct
import sys
import zipfile
from collections import Counter
from pathlib import Path

from studio.errors import UserError

SOURCE = Path("/usr/share/datasets/fashion-mnist")
INSTALL = "apt-get install dataset-fashion-mnist"
# Fashion-MNIST's own names, made folder-safe: "T-shirt/top" cannot be a folder name.
CLASSES = ("T-shirt or top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
FILES = {"train": "train", "test": "t10k"}
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


def fashion_mnist(
    per_class: int, split: str = "train", seed: int = 0, classes: list[str] | None = None, source: str | Path = SOURCE
) -> list[tuple[str, int, bytes]]:
    """(class name, index in the split, PNG bytes) for `per_class` pictures of each class, in a seeded random order."""
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, not {per_class}")
    wanted = list(classes or CLASSES)
    unknown = sorted(set(wanted) - set(CLASSES))
    if unknown:
        raise UserError(
            "Fashion-MNIST has no class {unknown}; the classes are {classes}.",
            unknown=", ".join(unknown),
            classes=", ".join(CLASSES),
        )
    pixels, labels = _read_split(Path(source), split)
    rng = random.Random(seed)
    picked: list[tuple[str, int]] = []
    for name in wanted:
        indices = [i for i, label in enumerate(labels) if CLASSES[label] == name]
        picked += [(name, i) for i in rng.sample(indices, min(per_class, len(indices)))]
    rng.shuffle(picked)
    return [(name, i, _png(pixels[i])) for name, i in picked]


def write_zip(path: str | Path, pictures: list[tuple[str, int, bytes]], top_folder: str = "fashion") -> Path:
    """An ImageFolder zip: top_folder/<class>/<index>.png."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, index, png in pictures:
            member = f"{top_folder}/{name}/{index:05d}.png" if top_folder else f"{name}/{index:05d}.png"
            # A fixed date: the same pictures give the same zip, byte for byte.
            info = zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, png, compress_type=zipfile.ZIP_DEFLATED)
    return path


def _read_split(source: Path, split: str) -> tuple[list[bytes], bytes]:
    """Each picture's 784 grey bytes, and each one's class number."""
    if split not in FILES:
        raise ValueError(f"split must be one of {', '.join(FILES)}, not {split!r}")
    images_path = source / f"{FILES[split]}-images-idx3-ubyte.gz"
    labels_path = source / f"{FILES[split]}-labels-idx1-ubyte.gz"
    if not images_path.is_file() or not labels_path.is_file():
        raise UserError(
            "Fashion-MNIST is not installed in {source}; install it with: {command}", source=source, command=INSTALL
        )
    images = gzip.decompress(images_path.read_bytes())
    labels = gzip.decompress(labels_path.read_bytes())
    magic, count, rows, cols = struct.unpack(">4I", images[:16])
    label_magic, label_count = struct.unpack(">2I", labels[:8])
    if magic != IMAGES_MAGIC or label_magic != LABELS_MAGIC or count != label_count:
        raise UserError(
            "The Fashion-MNIST files in {source} are not in the IDX format; reinstall: {command}",
            source=source,
            command=INSTALL,
        )
    size = rows * cols
    pixels = [images[16 + i * size : 16 + (i + 1) * size] for i in range(count)]
    return pixels, labels[8:]


def _png(grey: bytes, side: int = 28) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("L", (side, side), grey).save(out, format="PNG")
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write a zip sample of Fashion-MNIST."""
    parser = argparse.ArgumentParser(
        prog="python -m finetune.fashion_sample",
        description="Write an ImageFolder zip of Fashion-MNIST pictures (10 classes of clothes, 28x28 grey).",
    )
    parser.add_argument("--per-class", type=int, default=100, help="pictures per class")
    parser.add_argument("--split", choices=list(FILES), default="train", help="train (60,000) or test (10,000)")
    parser.add_argument("--classes", default="", help="comma-separated class names (default: all ten)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    parser.add_argument("--source", default=str(SOURCE), help="folder of the four .gz IDX files")
    parser.add_argument("--output", default="fashion.zip", help="the zip file to write")
    args = parser.parse_args(argv)
    if args.per_class < 1:
        parser.error("--per-class must be 1 or more")
    classes = [name.strip() for name in args.classes.split(",") if name.strip()] or None
    try:
        pictures = fashion_mnist(args.per_class, args.split, args.seed, classes, args.source)
    except UserError as error:
        print(error, file=sys.stderr)
        return 2
    write_zip(args.output, pictures)
    counts = Counter(name for name, _, _ in pictures)
    print(f"Wrote {len(pictures)} pictures to {args.output}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
