"""Speech that keeps up: silence and music skipped, live captions piece by piece, offline with the pack's Whisper."""

from __future__ import annotations

import threading
import time
from concurrent import futures
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from studio.errors import UserError
from tasks import live_captions, speech, voice_activity
from tests import speech_clips
from tests.conftest import ROOT, free_port
from tests.speech_clips import RATE, RECORDINGS, voice, wer, words, write_wav
from tests.test_speech import assert_in_order, parse_srt, parse_vtt

JFK, HARVARD = (RECORDINGS[name][1] for name in ("jfk", "harvard"))
MUSIC_SECONDS, HISS_SECONDS = 30, 40


@pytest.fixture(scope="module")
def talk_with_music_and_hiss() -> tuple[np.ndarray, float, float]:
    return speech_clips.talk_with_music_and_hiss(MUSIC_SECONDS, HISS_SECONDS)


@pytest.fixture(scope="module")
def whisper_base() -> dict[str, speech.SpeechModel]:
    return {engine: speech.load("pack:whisper-base", "cpu", backend=engine) for engine in speech.ENGINES}


@pytest.mark.parametrize("engine", speech.ENGINES)
def test_skipping_silence_invents_nothing_over_music_and_hiss(talk_with_music_and_hiss, whisper_base, engine):
    audio, sentences_at, hiss_at = talk_with_music_and_hiss
    reference = f"{JFK} {HARVARD}"
    heard = speech.predict(whisper_base[engine], audio, word_timestamps=True, skip_silence=False)
    skipped = speech.predict(whisper_base[engine], audio, word_timestamps=True)
    over_speech = " ".join(s["text"] for s in heard["segments"] if s["start"] < hiss_at)
    print(
        f"{engine}: {len(words(reference))} words said; without skipping {len(words(heard['text']))} heard "
        f"(WER {wer(reference, heard['text']):.3f}, {wer(reference, over_speech):.3f} over the speech); "
        f"skipping silence {len(words(skipped['text']))} (WER {wer(reference, skipped['text']):.3f})"
    )
    assert len(words(heard["text"])) > len(words(reference))  # what the option is for: Whisper invents over hiss
    assert len(words(skipped["text"])) <= len(words(reference))
    assert wer(reference, skipped["text"]) <= wer(reference, over_speech)
    cues = skipped["segments"]
    assert all(cue["end"] <= hiss_at + 0.5 for cue in cues)
    # Timed on the recording's clock, not on the speech's: the sentences start after the music, where they are.
    first_sentence = next(cue for cue in cues if "canoe" in cue["text"])
    assert abs(first_sentence["start"] - (sentences_at + 0.3)) < 0.6, (sentences_at, first_sentence)
    assert_in_order([(c["start"], c["end"], c["text"]) for c in cues], len(audio) / RATE)


def test_the_detector_hears_the_voices_and_not_the_music_or_the_hiss(talk_with_music_and_hiss):
    audio, sentences_at, hiss_at = talk_with_music_and_hiss
    regions = voice_activity.speech_regions(audio)
    kennedy_ends = 1 + len(voice("jfk")) / RATE
    assert [(round(a / RATE), round(b / RATE)) for a, b in regions.spans] == [
        (1, round(kennedy_ends)),
        (round(sentences_at), round(hiss_at)),
    ]
    assert regions.original_time(0.0) == regions.spans[0][0] / RATE
    seam = (regions.spans[0][1] - regions.spans[0][0]) / RATE
    assert regions.original_time(seam, is_end=True) == regions.spans[0][1] / RATE
    assert regions.original_time(seam) == regions.spans[1][0] / RATE


def test_the_detector_heard_chunk_by_chunk_hears_what_it_hears_at_once(talk_with_music_and_hiss):
    """Live captions read each chunk once, with Silero's memory carried on: the probabilities are those of the whole
    recording read at once, whatever the chunks, and the cuts are faster-whisper's own for any settings."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    audio = talk_with_music_and_hiss[0][: 45 * RATE]
    whole = voice_activity.SpeechDetector()
    at_once = np.concatenate([whole.hear(audio), whole.finish()])
    chunked, rng = voice_activity.SpeechDetector(), np.random.default_rng(0)
    cuts = np.sort(rng.integers(0, len(audio), 300))
    heard = [chunked.hear(piece) for piece in np.split(audio, cuts)] + [chunked.finish()]
    assert np.array_equal(np.concatenate(heard), at_once) and len(at_once) == -(-len(audio) // 512)
    for threshold, silence, pad, longest in [(0.5, 2.0, 0.4, 30.0), (0.5, 0.6, 0.2, 12.0), (0.35, 0.1, 0.0, 3.0)]:
        options = VadOptions(
            threshold=threshold,
            min_silence_duration_ms=round(silence * 1000),
            speech_pad_ms=round(pad * 1000),
            max_speech_duration_s=longest,
        )
        theirs = [(s["start"], s["end"]) for s in get_speech_timestamps(audio, options) if s["end"] > s["start"]]
        ours = voice_activity.regions_from_probabilities(at_once, len(audio), threshold, silence, pad, longest)
        assert ours.spans == theirs and len(theirs) >= 2


@pytest.mark.parametrize(
    "options, message",
    [
        ({"speech_threshold": 1.5}, "The speech threshold must be a number from 0.05 to 0.95"),
        ({"min_silence": 0}, "The shortest silence to skip must be from 0.1 to 10 seconds"),
        ({"line_chars": 3}, "A subtitle line must hold from 16 to 120 characters"),
        ({"cue_lines": 2.5}, "A subtitle may have from 1 to 4 lines"),
    ],
)
def test_silence_and_subtitle_settings_out_of_range_are_refused(client, options, message):
    path, _ = RECORDINGS["jfk"]
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(path)), api_name="/transcribe", **options)


# Live captions: a client sends the sound in half-second pieces, as the browser's microphone does.


@pytest.fixture(scope="module")
def offline_app(tmp_path_factory):
    """The app as `make run` starts it (its launch options too), offline: its Speech tab runs the pack's Whisper
    base."""
    import app
    from studio.config import load_config

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("WHISPER_CACHE", str(tmp_path_factory.mktemp("whisper-cache")))
        config = load_config(ROOT / "models.toml")
        demo, _ = app.build_app(config)
        args = app.parse_args(["--host", "127.0.0.1", "--port", str(free_port())])
        args.auth = None
        demo.launch(**app.launch_options(args, config), prevent_thread_lock=True, quiet=True)
        yield demo.local_url
        demo.close()


def pieces(samples: np.ndarray, rate: int, seconds: float, folder: Path) -> list[Path]:
    """The recording cut into pieces of `seconds`, each a WAV file, as a streaming client would send it."""
    step = round(seconds * rate)
    return [
        write_wav(folder / f"piece-{i:04d}.wav", samples[start : start + step], rate)
        for i, start in enumerate(range(0, len(samples), step))
    ]


def test_live_captions_over_http_write_each_sentence_once_and_end_with_subtitles(offline_app, tmp_path):
    pause = np.zeros(RATE, np.int16)
    talk = np.concatenate([pause, (voice("jfk") * 32767).astype(np.int16), pause])
    talk = np.concatenate([talk, (voice("harvard") * 32767).astype(np.int16), pause, pause])
    reference = f"{JFK} {HARVARD}"
    client = Client(offline_app, verbose=False)
    file_text = client.predict(handle_file(str(write_wav(tmp_path / "talk.wav", talk))), api_name="/transcribe")[0]
    seen = []
    for piece in pieces(talk, RATE, speech.LIVE_CHUNK_SECONDS, tmp_path):
        seen.append(client.predict(handle_file(str(piece)), api_name="/live_captions"))
    while_speaking = seen[round(20 / speech.LIVE_CHUNK_SECONDS)]  # 20 s in: the last sentence is still to come
    assert "fellow Americans" in while_speaking and "faced us" not in while_speaking
    assert all(later.startswith(earlier) for earlier, later in zip(seen, seen[1:]))  # lines are added, never redone
    text, srt, vtt, txt, word_json = client.predict(api_name="/live_captions_end")
    print(f"live captions: WER {wer(reference, text):.3f}; the file at once: {wer(reference, file_text):.3f}")
    assert wer(reference, text) <= wer(reference, file_text) + 0.03
    duration = len(talk) / RATE
    for cues in (parse_srt(Path(srt).read_text()), parse_vtt(Path(vtt).read_text())):
        assert_in_order(cues, duration)
        assert wer(reference, " ".join(cue[2] for cue in cues)) == wer(reference, text)
        assert 0.5 < cues[0][0] < 1.5  # Kennedy starts 1 s in: timed on the session's clock
    assert Path(txt).read_text().split() == text.split()
    assert "fellow" in Path(word_json).read_text()
    # A new session starts empty; ending one that heard nothing says so.
    with pytest.raises(AppError, match="Nothing was heard yet; start the microphone"):
        Client(offline_app, verbose=False).predict(api_name="/live_captions_end")


def microphone_stream(url: str) -> tuple[int, int, list]:
    """The microphone's stream event in the page's config: its id, the microphone's, and the values the page sends
    with each chunk after the chunk itself (the captions' state, then the tab's model, language, task, threshold)."""
    config = httpx.get(f"{url}config", timeout=30).json()
    components = {c["id"]: c for c in config["components"]}
    for event in config["dependencies"]:
        for target, trigger in event["targets"]:
            if trigger != "stream" or "Microphone" not in str(components[target]["props"].get("label")):
                continue
            values = [components[i]["props"].get("value") for i in event["inputs"][1:]]
            return event["id"], target, [None, *values[1:]]
    raise AssertionError("no microphone stream in the page")


def test_every_chunk_the_microphone_streams_reaches_the_captions_in_order(offline_app, monkeypatch, tmp_path):
    """The page uploads each tenth of a second and posts it to the stream; Gradio keeps only the newest post for a
    call that is busy. Eight chunks posted while the first call is still working all reach the captions, in turn."""
    event, microphone, values = microphone_stream(offline_app)
    heard, first_call = [], threading.Event()
    listen = live_captions.listen

    def slow_listening(captions, rate, chunk, *rest, **options):
        heard.append(int(np.asarray(chunk).reshape(-1)[0]))
        if len(heard) == 1:
            first_call.set()
            threading.Event().wait(1.0)  # busy, as a call on a loaded machine is, while the next chunks arrive
        return listen(captions, rate, chunk, *rest, **options)

    monkeypatch.setattr(live_captions, "listen", slow_listening)
    session = "chunks-in-order"
    with httpx.Client(base_url=f"{offline_app}gradio_api", timeout=30) as http:

        def chunk(number: int) -> dict:
            path = write_wav(tmp_path / f"{number}.wav", np.full(RATE // 10, 100 * number, np.int16))
            uploaded = http.post("/upload", files={"files": ("audio.wav", path.read_bytes(), "audio/wav")}).json()[0]
            file = {"path": uploaded, "orig_name": "audio.wav", "meta": {"_type": "gradio.FileData"}}
            return {"data": [file, *values], "fn_index": event, "trigger_id": microphone, "session_hash": session}

        chunks = [chunk(number) for number in range(1, 10)]
        event_id = http.post("/queue/join", json=chunks[0]).json()["event_id"]
        assert first_call.wait(30)
        for body in chunks[1:]:
            assert http.post(f"/stream/{event_id}", json=body).json() == {"msg": "success"}
        deadline = time.monotonic() + 20
        while len(heard) < len(chunks) and time.monotonic() < deadline:
            time.sleep(0.1)
        http.post(f"/stream/{event_id}/close")
    assert heard == [100 * number for number in range(1, 10)]


def test_a_short_stretch_waits_for_the_speech_after_it_unless_the_pause_is_long():
    """Two words between two pauses ("ask not") are transcribed with the sentence that follows them; alone, Whisper
    base misheard them in two browser runs of three. A short stretch the speaker ends with a long pause is its own."""
    second = RATE
    ask_not, what_your_country = (9 * second, 10 * second + 4_000), (11 * second, 16 * second)
    pause = round(live_captions.PAUSE_SECONDS * second)
    # The short stretch alone has been closed by an ordinary pause: it waits.
    assert live_captions._closed([ask_not], ask_not[1] + pause) == []
    # The next sentence came within a long pause: the two go together once that one is closed.
    assert live_captions._closed([ask_not, what_your_country], what_your_country[1]) == []
    assert live_captions._closed([ask_not, what_your_country], what_your_country[1] + pause) == [
        (9 * second, 16 * second)
    ]
    # Nothing followed it for a long pause: it is closed on its own.
    long_pause = round(live_captions.LONG_PAUSE_SECONDS * second)
    assert live_captions._closed([ask_not], ask_not[1] + long_pause) == [ask_not]
    # A long stretch is closed by an ordinary pause, and what follows it is its own.
    assert live_captions._closed([what_your_country, ask_not], ask_not[0] + second) == [what_your_country]


def test_captions_keep_only_the_sound_not_yet_captioned():
    """However long one talks, the buffer holds only the stretch in progress: the cost per chunk stays flat."""
    said = []

    def transcribe(audio: np.ndarray, language: str | None) -> dict:
        said.append(len(audio) / RATE)
        return {"language": "en", "segments": [{"start": 0.0, "end": len(audio) / RATE, "text": " words"}]}

    captions = live_captions.Captions()
    talk = np.concatenate([voice("jfk"), np.zeros(RATE, np.float32)] * 6)
    at_48k = np.repeat(talk, 3)  # 48 kHz, as browsers record
    longest = 0.0
    for start in range(0, len(at_48k), 24_000):
        live_captions.listen(captions, 48_000, at_48k[start : start + 24_000], transcribe, 0.5)
        longest = max(longest, captions.buffered_seconds)
    captions.wait()
    assert longest <= live_captions.LONGEST_STRETCH_SECONDS + 2 * live_captions.PAUSE_SECONDS + 0.5
    assert 6 <= len(said) <= 18 and sum(said) < 1.2 * len(talk) / RATE  # each stretch transcribed once
    assert captions.offset > 60  # what was captioned has left the buffer


def test_listening_does_not_wait_for_a_stretch_to_be_transcribed():
    """The stream's call hands a closed stretch to the worker and answers at once: Gradio drops the chunks that arrive
    while a call is busy, so a call that waited for Whisper would lose the words said meanwhile."""
    started, release = threading.Event(), threading.Event()

    def transcribe(audio: np.ndarray, language: str | None) -> dict:
        started.set()
        release.wait(30)
        return {"language": "en", "segments": [{"start": 0.0, "end": len(audio) / RATE, "text": " Ask not."}]}

    captions = live_captions.Captions()
    talk = np.concatenate([np.zeros(RATE // 2, np.float32), voice("jfk"), np.zeros(RATE, np.float32)])
    for start in range(0, len(talk), RATE // 2):
        live_captions.listen(captions, RATE, talk[start : start + RATE // 2], transcribe, 0.5)
    assert started.wait(30)  # a stretch was closed and is being transcribed...
    assert captions.text == "" and captions.work  # ...while the calls that heard it have all answered
    release.set()
    live_captions.finish(captions, transcribe, 0.5)
    assert captions.text.startswith("Ask not.") and not captions.work


def test_a_failed_stretch_is_told_by_the_next_call():
    release = threading.Event()

    def transcribe(audio: np.ndarray, language: str | None) -> dict:
        release.wait(30)
        raise UserError("The model could not be loaded.")

    captions = live_captions.Captions()
    talk = np.concatenate([voice("jfk"), np.zeros(RATE, np.float32)])
    for start in range(0, len(talk), RATE // 2):  # the calls that hand the stretch over answer as usual
        live_captions.listen(captions, RATE, talk[start : start + RATE // 2], transcribe, 0.5)
    assert captions.work
    release.set()
    futures.wait(captions.work)
    with pytest.raises(UserError, match="could not be loaded"):
        live_captions.listen(captions, RATE, np.zeros(RATE // 2, np.float32), transcribe, 0.5)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("notes.wav", b"just some text, not sound", "could not be read as audio"),
        ("empty.wav", b"", "could not be read as audio"),
    ],
)
def test_a_piece_that_is_not_sound_gets_one_sentence(client, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(path)), api_name="/live_captions")
