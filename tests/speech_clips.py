"""Speech clips for the tests and the benchmark: two real voices, and public-domain texts read by espeak-ng."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import numpy as np

RATE = 16_000
ASSETS = Path(__file__).resolve().parent.parent / "assets"
# The Speech tab's examples, people speaking (assets/make_assets.py says where they come from), and their words.
JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
HARVARD = (
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
    "It's easy to tell the depth of a well. Four hours of steady work faced us."
)
RECORDINGS = {"jfk": (ASSETS / "speech_jfk.wav", JFK), "harvard": (ASSETS / "speech_sentences.wav", HARVARD)}
# Robert Frost, "The Road Not Taken" (1916), in the public domain.
POEM = """Two roads diverged in a yellow wood,
And sorry I could not travel both
And be one traveler, long I stood
And looked down one as far as I could
To where it bent in the undergrowth;

Then took the other, as just as fair,
And having perhaps the better claim,
Because it was grassy and wanted wear;
Though as for that the passing there
Had worn them really about the same,

And both that morning equally lay
In leaves no step had trodden black.
Oh, I kept the first for another day!
Yet knowing how way leads on to way,
I doubted if I should ever come back.

I shall be telling this with a sigh
Somewhere ages and ages hence:
Two roads diverged in a wood, and I—
I took the one less traveled by,
And that has made all the difference."""
POEM_SECONDS = 53.0
# Abraham Lincoln, the Gettysburg Address (1863), each part after a pause of its own length in seconds: long
# silences are where Whisper invents text, loses its timestamps or starts repeating itself.
PAUSES = (1, 2, 8, 1, 35, 2, 1, 15, 3, 1, 4)
ADDRESS = """\
Four score and seven years ago our fathers brought forth on this continent a new nation, conceived in liberty,
and dedicated to the proposition that all men are created equal.

Now we are engaged in a great civil war, testing whether that nation, or any nation so conceived and so
dedicated, can long endure.

We are met on a great battlefield of that war. We have come to dedicate a portion of that field, as a final
resting place for those who here gave their lives that that nation might live.

It is altogether fitting and proper that we should do this.

But, in a larger sense, we can not dedicate, we can not consecrate, we can not hallow this ground.

The brave men, living and dead, who struggled here, have consecrated it, far above our poor power to add or
detract.

The world will little note, nor long remember what we say here, but it can never forget what they did here.

It is for us the living, rather, to be dedicated here to the unfinished work which they who fought here have
thus far so nobly advanced.

It is rather for us to be here dedicated to the great task remaining before us.

That from these honored dead we take increased devotion to that cause for which they gave the last full
measure of devotion.

That we here highly resolve that these dead shall not have died in vain, that this nation, under God, shall
have a new birth of freedom, and that government of the people, by the people, for the people, shall not
perish from the earth."""
# Read by espeak-ng, this one is heard word for word even by Whisper tiny.en, even at 8 kHz.
SENTENCE = "Good morning, everyone. Please send the report to the office before the end of the week."


def address_parts() -> list[str]:
    """The address's parts, one per pause."""
    return [" ".join(part.split()) for part in ADDRESS.split("\n\n")]


def speak(text: str, rate: int = 150) -> np.ndarray:
    """espeak-ng's reading of the text as 16 kHz mono int16 samples."""
    wav = subprocess.run(["espeak-ng", "-s", str(rate), "--stdout", text], capture_output=True, check=True).stdout
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", "-", "-ar", str(RATE), "-ac", "1", "-f", "s16le", "-"],
        input=wav,
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(pcm, np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype(np.int16).tobytes())
    return path


def read_wav(path: Path) -> np.ndarray:
    """A 16 kHz mono 16-bit wav's samples."""
    with wave.open(str(path), "rb") as source:
        assert (source.getframerate(), source.getnchannels(), source.getsampwidth()) == (RATE, 1, 2), path
        return np.frombuffer(source.readframes(source.getnframes()), np.int16)


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as source:
        return source.getnframes() / source.getframerate()


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-v", "error", *args], check=True)


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, as the word error rate compares them."""
    text = text.lower().replace("—", " ").replace("cannot", "can not")
    return re.sub(r"[^a-z0-9' ]+", " ", text).split()


def wer(reference: str, hypothesis: str) -> float:
    """The word error rate of the hypothesis against the reference."""
    import jiwer

    return jiwer.wer(" ".join(words(reference)), " ".join(words(hypothesis)))


def poem_clip() -> np.ndarray:
    """The poem read in 53 seconds: 0.7 s of silence, the reading (about 51.6 s), silence to the end."""
    reading = speak(POEM, rate=140)
    lead = silence(0.7)
    return np.concatenate([lead, reading, silence(max(0.0, POEM_SECONDS - len(lead) / RATE - len(reading) / RATE))])


def address_clip() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The address with its pauses, about three minutes, and where each spoken part starts and ends."""
    parts, spans, at = [], [], 0.0
    for pause, text in zip(PAUSES, address_parts(), strict=True):
        spoken = speak(text)
        parts += [silence(pause), spoken]
        at += pause
        spans.append((at, at + len(spoken) / RATE))
        at += len(spoken) / RATE
    parts.append(silence(5))
    return np.concatenate(parts), spans


def tones(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A tune of plucked notes with an octave above each, as float samples: music without words."""
    beat = int(0.4 * RATE)
    t = np.arange(beat) / RATE
    notes = [
        0.2 * np.exp(-3 * t / t[-1]) * (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(4 * np.pi * f * t))
        for f in rng.choice([220, 262, 330, 392, 440, 523], size=round(seconds * RATE / beat))
    ]
    return np.concatenate(notes).astype(np.float32)


def voice(name: str) -> np.ndarray:
    """One of the real voices (RECORDINGS) as float samples."""
    return read_wav(RECORDINGS[name][0]).astype(np.float32) / 32768


def talk_with_music_and_hiss(music_seconds: float = 30, hiss_seconds: float = 40) -> tuple[np.ndarray, float, float]:
    """Kennedy, half a minute of music, the Harvard sentences, then 40 s of faint hiss (about -50 dBFS), as float
    samples; and where the sentences start and where the hiss starts, in seconds. Said: JFK, then HARVARD."""
    rng = np.random.default_rng(0)
    pause = np.zeros(RATE, np.float32)
    before = [pause, voice("jfk"), pause, tones(music_seconds, rng), pause]
    sentences_at = sum(len(part) for part in before) / RATE
    spoken = np.concatenate([*before, voice("harvard")])
    hiss = rng.normal(0, 0.003, round(hiss_seconds * RATE)).astype(np.float32)
    return np.concatenate([spoken, hiss]), sentences_at, len(spoken) / RATE


def conversation(minutes: float, pause_seconds: float = 1.5) -> tuple[np.ndarray, str]:
    """The two real voices taking turns, with pauses, for at least `minutes`, as int16 samples; and what is said."""
    pause = np.zeros(round(pause_seconds * RATE), np.int16)
    parts, said = [pause], []
    while sum(len(p) for p in parts) < minutes * 60 * RATE:
        for name in ("jfk", "harvard"):
            parts += [read_wav(RECORDINGS[name][0]), pause]
            said.append(RECORDINGS[name][1])
    return np.concatenate(parts), " ".join(said)
