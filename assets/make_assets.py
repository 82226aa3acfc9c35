"""Recreate the example inputs in this folder: pictures drawn with Pillow and speech spoken by espeak-ng.

Run from the repo root: `python assets/make_assets.py`. Needs espeak-ng and ffmpeg on the PATH.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SPEECH = {
    "speech_weather.wav": (
        "The weather today will be sunny with a light breeze, and temperatures will reach twenty degrees."
    ),
    "speech_library.wav": "The library opens at nine in the morning and closes at six in the evening.",
}


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


def speak(text: str, path: Path) -> None:
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), text], check=True)
    # 16 kHz mono is what Whisper reads, and keeps the files small.
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-i", str(raw), "-ar", "16000", "-ac", "1", str(path)], check=True
    )
    raw.unlink()


if __name__ == "__main__":
    draw_traffic_light(HERE / "traffic_light.png")
    draw_crossword(HERE / "crossword.png")
    draw_tennis_ball(HERE / "tennis_ball.png")
    for name, text in SPEECH.items():
        speak(text, HERE / name)
