"""Speech recognition with Whisper: any audio or video ffmpeg reads, in 99 languages or translated to English."""

from __future__ import annotations

import collections
import contextlib
import functools
import importlib
import importlib.util
import json
import logging
import os
import pickle
import re
import shutil
import subprocess
import tempfile
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from studio import compute, pack, streams
from studio.device import return_freed_heap
from studio.errors import ModelUnavailableError, UserError
from studio.files.rows import Rows
from studio.i18n import inform, say, ui, word
from studio.runtime import Studio
from tasks import live_captions, subtitles, voice_activity

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

TASK = "speech"
TITLE = "Speech recognition"
DESCRIPTION = (
    "Transcribe speech from a recording, a video or your microphone, detect its language, or translate it to "
    "English; download the transcript as SRT or WebVTT subtitles."
)
ASSETS = Path(__file__).resolve().parent.parent / "assets"
SAMPLE_RATE = 16_000
# Below this peak amplitude (about -80 dBFS) a recording holds nothing Whisper could hear.
SILENCE_PEAK = 1e-4
WHISPER_HOST = "openaipublic.azureedge.net"
ENGINES = ("faster-whisper", "openai-whisper")
BACKENDS = ("auto", *ENGINES)
# A Hugging Face Hub id ("Systran/faster-whisper-small"), which only faster-whisper loads.
HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")
# An uploaded playlist (.m3u8, .sdp…) must not make ffmpeg fetch from the network.
LOCAL_FILES_ONLY = ("-protocol_whitelist", "file")
UNREADABLE = (
    "The file could not be read as audio; upload a sound or video file with an audio track "
    "(wav, mp3, m4a, ogg, flac, webm, mp4)."
)
GONE = "The file is no longer on the server; upload it again."
# The end of a decoder's stderr that goes to the log: a corrupt stream can make it write a line per packet.
STDERR_CHARS = 4000
# ffprobe reads only the header; this is for a server so loaded that even that stalls.
PROBE_TIMEOUT_S = 30
# Exit statuses of a program that never ran (the shell's "cannot execute", the dynamic loader's "library missing").
DID_NOT_RUN = (126, 127)

# Whisper's own decoding recipe, the same for both engines so that they give the same words: greedy decoding,
# falling back to sampling at rising temperatures when the text repeats itself (gzip compression ratio) or is
# unlikely (average log-probability), and a window counted as silence when no-speech is likely.
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
COMPRESSION_RATIO_THRESHOLD = 2.4
LOGPROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
BEST_OF = 5
# Beams searched at temperature 0: 1 is greedy, the fastest; 5 is what Whisper's own command line uses.
BEAM_SIZE = 5
# Whisper writes Mandarin in either script, often Traditional whatever the speaker's region; OpenCC's
# character conversions give the script the user asked for, in the transcript, its segments, words and subtitles.
CHINESE_SCRIPTS = {"simplified": "t2s", "traditional": "s2t", "as-written": None}
CHINESE_SCRIPT = "simplified"
MAX_BEAM_SIZE = 10
# Subtitle lines narrower than this break most words; wider than this, no screen shows them on one line.
MIN_LINE_CHARS, MAX_LINE_CHARS, MAX_CUE_LINES = 16, 120, 4
# The previous window's text as a prompt keeps names and style consistent, but it is also how one bad window
# turns into a repetition loop; both engines drop it after a window needed a temperature above 0.5. Measured on
# the tests' three-minute address with long pauses: no loop either way, and the same WER (base: 11.4% with it,
# 11.1% without), so it stays on where it helps, for consistency across windows.
CONDITION_ON_PREVIOUS_TEXT = True
# With word timings, a silence longer than this around a doubtful segment is skipped instead of transcribed.
HALLUCINATION_SILENCE_SECONDS = 2.0
# Language detection reads 30 seconds from where the speech starts, not from a leading silence.
ONSET_FRAME_SECONDS = 0.02
ONSET_RELATIVE_LEVEL = 0.1

# Silence is skipped in recordings longer than one of Whisper's windows: over a shorter one its own no-speech test
# is enough, and a clip cut down to its speech could lose a quiet first or last word for nothing.
SKIP_SILENCE_FROM_SECONDS = 30.0

# Live captions: each stretch is decoded greedily (a beam of 5 costs twice the time for the same words on the tests'
# voices), so a line comes soon after its sentence ends, with the same fallback to sampling as a file: greedy
# decoding alone once wrote "ask not" (1.4 s) as "L.S.K.K.K.K..." to the end of its tokens in the browser test.
# The page's microphone sends a tenth of a second at a time (Gradio's audio component sets that, whatever the
# event's stream_every says); a script's pieces, and the bench's, hold this much.
LIVE_CHUNK_SECONDS = 0.3
LIVE_BEAM_SIZE = 1
LIVE_TEMPERATURES = TEMPERATURES
LIVE_DESCRIPTION = (
    "Speak, and each sentence is written here a moment after you finish it; stop the microphone for the whole "
    "text and its subtitles. The model, language, task and speech threshold above are used."
)

# Gradio copies each output file into its own cache, so a request's subtitle folder can go once it is this old.
SUBTITLE_FOLDER_SECONDS = 3600

# The callback of this thread's openai-whisper transcription, for its progress.
_whisper_progress = threading.local()
_subtitle_folders: collections.deque[tuple[float, Path]] = collections.deque()
_subtitle_folders_lock = threading.Lock()


@dataclass
class SpeechModel:
    """A Whisper model and the engine that runs it."""

    engine: str
    model: Any
    multilingual: bool
    # openai-whisper keeps its key/value cache in hooks on the shared modules: one decode at a time per model.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def load(model_ref: str, device: str, backend: str = "auto") -> SpeechModel:
    """A Whisper model from a known name ("base", "large-v3"…), a checkpoint, a CTranslate2 folder, or a pack name."""
    if choose_engine(model_ref, device, backend) == "faster-whisper":
        return _load_faster_whisper(model_ref, device)
    return _load_openai_whisper(model_ref, device)


def choose_engine(model_ref: str, device: str, backend: str = "auto") -> str:
    """The engine for `model_ref`: the one asked for, or with "auto" faster-whisper where it can run the model."""
    if backend not in BACKENDS:
        raise UserError(
            "The speech backend '{backend}' is unknown; set it to one of {choices}.",
            backend=backend,
            choices=", ".join(BACKENDS),
        )
    checkpoint = Path(model_ref).is_file()
    ct2_folder = (Path(model_ref) / "model.bin").is_file()
    hub_repo = HUB_ID.fullmatch(model_ref) is not None and not Path(model_ref).exists()
    if backend == "openai-whisper" and (ct2_folder or hub_repo):
        raise UserError(
            "'{model}' is a CTranslate2 model, which only faster-whisper runs; set backend to it.", model=model_ref
        )
    if backend == "faster-whisper" and checkpoint:
        raise UserError(
            "'{model}' is an openai-whisper checkpoint; set the speech backend to openai-whisper.", model=model_ref
        )
    installed = importlib.util.find_spec("faster_whisper") is not None
    if backend == "faster-whisper" or ct2_folder or hub_repo:
        if not installed:
            raise UserError("faster-whisper is not installed; run `pip install faster-whisper` to use it.")
        return "faster-whisper"
    if backend == "openai-whisper" or checkpoint:
        return "openai-whisper"
    # CTranslate2 runs on CPUs and CUDA only; on Apple's MPS openai-whisper is the faster one.
    return "faster-whisper" if installed and device.split(":")[0] in {"cpu", "cuda"} else "openai-whisper"


def _load_openai_whisper(model_ref: str, device: str) -> SpeechModel:
    import whisper

    from studio.hub import offline_mode, reachable

    if pack.is_pack_ref(model_ref):
        name = pack.pack_name(model_ref)
        model = whisper.load_model(str(pack.resolve(name)), device=device)
        model.set_alignment_heads(pack.alignment_heads(name))  # for word timestamps; a path load sets none
        return SpeechModel("openai-whisper", model, model.is_multilingual)
    if Path(model_ref).is_file():
        try:
            model = whisper.load_model(model_ref, device=device)
        except (pickle.UnpicklingError, RuntimeError, KeyError, TypeError, EOFError, ValueError) as e:
            log.info("not a Whisper checkpoint: %s", model_ref, exc_info=True)
            raise UserError(
                "'{file}' is not an openai-whisper checkpoint (a .pt holding `dims` and "
                "`model_state_dict`); point the config at one.",
                file=Path(model_ref).name,
            ) from e
        return SpeechModel("openai-whisper", model, model.is_multilingual)
    if model_ref not in whisper.available_models():
        raise UserError(
            "'{model}' is neither a Whisper model name nor a checkpoint file; pick one from the list.", model=model_ref
        )
    download_root = os.environ.get("WHISPER_CACHE", os.path.join(Path.home(), ".cache", "whisper"))
    cached = Path(download_root) / os.path.basename(whisper._MODELS[model_ref])
    # Offline mode means no network at all, though Whisper's own checkpoints come from elsewhere than the Hub.
    if not cached.is_file() and (offline_mode() or not reachable(WHISPER_HOST)):
        raise ModelUnavailableError(
            "Whisper '{model}' is not cached here and its download server cannot be reached; "
            "connect once to download it, or choose an offline-pack model.",
            model=model_ref,
        )
    model = whisper.load_model(model_ref, device=device, download_root=download_root)
    return SpeechModel("openai-whisper", model, model.is_multilingual)


def _load_faster_whisper(model_ref: str, device: str) -> SpeechModel:
    from faster_whisper import WhisperModel

    if pack.is_pack_ref(model_ref):
        path = str(pack.ct2_path(pack.pack_name(model_ref)))
    elif Path(model_ref).is_dir():
        path = model_ref
    else:
        path = _ct2_download(model_ref)
    kind, _, index = device.partition(":")
    if kind == "cuda":
        model = WhisperModel(path, device="cuda", device_index=int(index or 0), compute_type="float16")
    else:
        model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 0)
    return SpeechModel("faster-whisper", model, model.model.is_multilingual)


def _ct2_download(model_ref: str) -> str:
    """The local folder of a faster-whisper model named by size ("base") or Hub id, downloaded when online."""
    from faster_whisper.utils import available_models, download_model
    from huggingface_hub.errors import LocalEntryNotFoundError

    from studio.hub import hub_offline

    if model_ref not in available_models() and not HUB_ID.fullmatch(model_ref):
        raise UserError(
            "'{model}' is neither a Whisper model name nor a model folder; pick one from the list.", model=model_ref
        )
    try:
        return download_model(model_ref, local_files_only=True)
    except LocalEntryNotFoundError:
        if hub_offline():
            raise ModelUnavailableError(
                "Whisper '{model}' is not cached here and the Hugging Face Hub cannot be reached; "
                "connect once to download it, or choose an offline-pack model.",
                model=model_ref,
            ) from None
    return download_model(model_ref)


def load_audio(path: str, max_seconds: float, silence_allowed: bool = False) -> Any:
    """The recording (or a video's sound) as 16 kHz mono float32, after checking it has audio and is not too long
    (and, unless `silence_allowed`, that it is not silent: a piece of a live stream may be)."""
    import numpy as np

    info = probe(path)
    if not any(stream.get("codec_type") == "audio" for stream in info.get("streams", [])):
        raise UserError("The file has no audio track; upload a recording, or a video with sound.")
    duration = _float(info.get("format", {}).get("duration"))
    limit = round(max_seconds / 60)  # in whole minutes: "1 minute", "30 minutes"
    if duration is not None and duration > max_seconds:
        if limit == 1:
            raise UserError(
                "The recording is {minutes:.1f} minutes long; the limit is {limit} minute, "
                "so cut it into shorter parts.",
                minutes=duration / 60,
                limit=limit,
            )
        raise UserError(
            "The recording is {minutes:.1f} minutes long; the limit is {limit} minutes, so cut it into shorter parts.",
            minutes=duration / 60,
            limit=limit,
        )
    # Decoding stops just past the limit, so a file that hides its length cannot fill the memory.
    command = ["ffmpeg", "-nostdin", "-v", "error", "-threads", "0", *LOCAL_FILES_ONLY, "-i", path, "-map", "0:a:0"]
    command += ["-t", f"{max_seconds + 1:.0f}", "-f", "s16le", "-ac", "1", "-acodec", "pcm_s16le", "-ar", "16000", "-"]
    decoded = subprocess.run(command, capture_output=True, check=False)
    if decoded.returncode != 0 and not decoded.stdout:
        refuse(path, decoded)
    audio = np.frombuffer(decoded.stdout, np.int16).astype(np.float32) / 32768.0
    if audio.size == 0:
        raise UserError("The file has no audio in it; upload a recording with sound.")
    if len(audio) / SAMPLE_RATE > max_seconds:
        if limit == 1:
            raise UserError(
                "The recording is longer than the limit of {limit} minute; cut it into shorter parts.", limit=limit
            )
        raise UserError(
            "The recording is longer than the limit of {limit} minutes; cut it into shorter parts.", limit=limit
        )
    if not silence_allowed and float(abs(audio).max()) < SILENCE_PEAK:
        raise UserError("The recording is silent; check the microphone or upload a recording with speech.")
    return audio


def probe(path: str) -> dict:
    """What ffprobe reads from the file's header: its streams and duration."""
    # A timeout, a missing ffprobe or output that is not JSON is the server's failure, not the file's: raised.
    result = subprocess.run(
        ["ffprobe", "-v", "error", *LOCAL_FILES_ONLY, "-show_entries", "format=duration:stream=codec_type"]
        + ["-of", "json", "--", path],
        capture_output=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    info = json.loads(result.stdout) if result.returncode == 0 else {}
    if not info.get("format"):  # empty too when ffprobe finds no container to read, as in a picture
        refuse(path, result)
    return info


def refuse(path: str, result: subprocess.CompletedProcess) -> NoReturn:
    """UNREADABLE for a file the decoder read and rejected, with its own words in the log.

    Only that: a file that is not there (any more) gets a sentence of its own, and a decoder that was killed, never
    started or was not let read the file is the server's failure, raised with the decoder's words.
    """
    decoder = result.args[0]
    stderr = result.stderr.decode("utf-8", "replace").strip()[-STDERR_CHARS:] or "(nothing on stderr)"
    if result.returncode < 0 or result.returncode in DID_NOT_RUN:
        raise RuntimeError(f"{decoder} failed on {path} with exit status {result.returncode}: {stderr}")
    if not os.path.isfile(path):
        log.warning("%s found no file at %s: %s", decoder, path, stderr)
        raise UserError(GONE)
    if not os.access(path, os.R_OK):
        raise RuntimeError(f"{decoder} may not read {path}: {stderr}")
    log.warning("%s refused %s (exit status %d): %s", decoder, path, result.returncode, stderr)
    raise UserError(UNREADABLE)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def speech_onset(audio: Any) -> int:
    """The sample, half a second before the first loud moment, from which speech probably starts."""
    import numpy as np

    frame = int(SAMPLE_RATE * ONSET_FRAME_SECONDS)
    frames = len(audio) // frame
    if frames == 0:
        return 0
    level = np.sqrt(np.mean(np.square(audio[: frames * frame].reshape(frames, frame)), axis=1))
    loud = np.flatnonzero(level >= ONSET_RELATIVE_LEVEL * level.max())
    return max(0, int(loud[0]) * frame - SAMPLE_RATE // 2)


def detect_language(model: SpeechModel, audio: Any) -> tuple[str, float]:
    """The spoken language of 30 seconds from where the speech starts, and its probability."""
    if not model.multilingual:
        return "en", 1.0
    window = audio[speech_onset(audio) :][: 30 * SAMPLE_RATE]
    if model.engine == "faster-whisper":
        language, probability, _ = model.model.detect_language(audio=window)
        return language, float(probability)
    probs = compute.run(_language_probabilities, model, window)
    language = max(probs, key=probs.get)
    return language, float(probs[language])


def _language_probabilities(model: SpeechModel, window: Any) -> dict[str, float]:
    import torch
    import whisper

    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(window), n_mels=model.model.dims.n_mels)
    with model.lock, torch.inference_mode():
        return model.model.detect_language(mel.to(model.model.device))[1]


def predict(
    model: SpeechModel,
    audio: Any,
    language: str | None = None,
    task: str = "transcribe",
    timestamps: bool = True,
    word_timestamps: bool = False,
    beam_size: int = BEAM_SIZE,
    progress: Callable[[float, float], None] | None = None,
    chinese_script: str = CHINESE_SCRIPT,
    skip_silence: bool = True,
    vad_threshold: float = voice_activity.THRESHOLD,
    min_silence_seconds: float = voice_activity.MIN_SILENCE_SECONDS,
    line_chars: int = subtitles.LINE_CHARS,
    cue_lines: int = subtitles.CUE_LINES,
    temperatures: tuple[float, ...] = TEMPERATURES,
) -> dict:
    """The transcript (or English translation) of 16 kHz audio, with its language and timed segments.

    `progress(seconds_done, total_seconds)` is called as the transcription advances; an exception it raises stops
    the transcription. With `timestamps` off, Whisper writes plain text and each segment is a 30-second window.
    A Chinese transcript comes in `chinese_script` (CHINESE_SCRIPTS). With `skip_silence`, a recording longer than
    SKIP_SILENCE_FROM_SECONDS is transcribed where the voice-activity detector hears speech, timed on its own clock.
    The segments are subtitle cues of at most `cue_lines` lines of `line_chars` characters.
    """
    check_options(task, timestamps, word_timestamps, beam_size, chinese_script)
    check_silence_options(vad_threshold, min_silence_seconds)
    check_subtitle_options(line_chars, cue_lines)
    language = language_code(language)
    if not model.multilingual and language and language != "en":
        raise UserError("This Whisper model understands English only; choose a multilingual model for other languages.")
    if not model.multilingual and task == "translate":
        raise UserError("This Whisper model knows English only, so it cannot translate; choose a multilingual model.")
    total = len(audio) / SAMPLE_RATE
    if progress:
        progress(0.0, total)
    regions = None
    if skip_silence and total > SKIP_SILENCE_FROM_SECONDS:
        regions = voice_activity.speech_regions(audio, vad_threshold, min_silence_seconds)
        if not regions:
            if progress:
                progress(total, total)
            return {"text": "", "language": language, "language_probability": None, "segments": []}
        audio = voice_activity.speech_only(audio, regions)
    if language:
        probability = None
    else:
        language, probability = detect_language(model, audio)
    options = decoding_options(timestamps, beam_size, temperatures)
    # The engines count seconds of what they hear; the user, of the recording.
    heard = progress and (lambda done, _: progress(regions.original_time(done) if regions else done, total))
    if model.engine == "faster-whisper":  # CTranslate2 runs on its own threads
        raw = _transcribe_faster_whisper(model, audio, language, task, options, heard)
    else:
        # Not on the compute thread, which every tab's forward passes share: an hour of audio would hold them all up.
        raw = compute.in_own_thread(_transcribe_openai_whisper, model, audio, language, task, options, heard)
    if regions:
        raw = voice_activity.on_recording_clock(raw, regions)
    if progress:
        progress(total, total)
    segments = subtitles.subtitle_segments(raw, total, int(line_chars), int(cue_lines))
    if not word_timestamps:
        segments = [{key: value for key, value in s.items() if key != "words"} for s in segments]
    result = {
        "text": "".join(s["text"] for s in raw).strip(),
        "language": language,
        "language_probability": probability,
        "segments": segments,
    }
    return in_chinese_script(result, chinese_script) if language == "zh" and task == "transcribe" else result


def in_chinese_script(result: dict, script: str) -> dict:
    """A Chinese transcript's text, segments and words written in `script` ("simplified", "traditional" or
    "as-written"); conversion is by character and phrase, so timings and the number of segments stay as they were."""
    conversion = CHINESE_SCRIPTS[script]
    if conversion is None:
        return result
    convert = _opencc(conversion).convert
    segments = [
        {
            **segment,
            "text": convert(segment["text"]),
            **({"words": [{**w, "word": convert(w["word"])} for w in segment["words"]]} if "words" in segment else {}),
        }
        for segment in result["segments"]
    ]
    return {**result, "text": convert(result["text"]), "segments": segments}


@functools.cache
def _opencc(conversion: str) -> Any:
    import opencc

    return opencc.OpenCC(conversion)


def decoding_options(
    timestamps: bool, beam_size: int = BEAM_SIZE, temperatures: tuple[float, ...] = TEMPERATURES
) -> dict[str, Any]:
    """The decoding both engines use, in openai-whisper's argument names."""
    return {
        "temperature": temperatures,
        # The beam searches at temperature 0 and best_of samples above it. openai-whisper is greedy only without a
        # beam size: a beam of one would run its slower beam search for the same words.
        "beam_size": int(beam_size) if beam_size > 1 else None,
        "best_of": BEST_OF,
        "compression_ratio_threshold": COMPRESSION_RATIO_THRESHOLD,
        "logprob_threshold": LOGPROB_THRESHOLD,
        "no_speech_threshold": NO_SPEECH_THRESHOLD,
        "condition_on_previous_text": CONDITION_ON_PREVIOUS_TEXT,
        # Word timings also pin each segment's start and end to its speech, even after a long silence.
        "word_timestamps": timestamps,
        "hallucination_silence_threshold": HALLUCINATION_SILENCE_SECONDS if timestamps else None,
        "without_timestamps": not timestamps,
    }


def _transcribe_openai_whisper(
    model: SpeechModel, audio: Any, language: str, task: str, options: dict[str, Any], progress: Callable | None
) -> list[dict]:
    import torch
    import whisper

    total = len(audio) / SAMPLE_RATE
    report = (lambda done, _: progress(min(done, total), total)) if progress else None
    with model.lock, _reporting_whisper_progress(report), torch.inference_mode():
        result = whisper.transcribe(
            model.model,
            audio,
            language=language,
            task=task,
            **options,
            fp16=model.model.device.type == "cuda",
            verbose=None,
        )
    segments = []
    for s in result["segments"]:
        words = [(w["start"], w["end"], w["word"], w["probability"]) for w in s.get("words", [])]
        segments.append(_segment(s["start"], s["end"], s["text"], words))
    return segments


def _transcribe_faster_whisper(
    model: SpeechModel, audio: Any, language: str, task: str, options: dict[str, Any], progress: Callable | None
) -> list[dict]:
    options = dict(options)
    options["log_prob_threshold"] = options.pop("logprob_threshold")  # faster-whisper's spelling
    options["temperature"] = list(options["temperature"])
    options["beam_size"] = options["beam_size"] or 1  # its greedy decoding is a beam of one
    pieces, _ = model.model.transcribe(audio, language=language, task=task, vad_filter=False, **options)
    total, done = len(audio) / SAMPLE_RATE, 0.0
    segments = []
    for s in pieces:  # a generator: each segment is decoded as it is asked for
        words = [(w.start, w.end, w.word, w.probability) for w in s.words or []]
        segments.append(_segment(s.start, s.end, s.text, words))
        done = max(done, min(float(s.end), total))
        if progress:
            progress(done, total)
    return segments


def _segment(start: float, end: float, text: str, words: list[tuple[float, float, str, float]]) -> dict:
    """One engine's segment in plain Python types, its words as start, end, word, probability."""
    return {
        "start": float(start),
        "end": float(end),
        "text": text,
        "words": [
            {"start": float(s), "end": float(e), "word": word, "probability": round(float(p), 3)}
            for s, e, word, p in words
        ],
    }


class _WindowProgress:
    """Stands in for the tqdm bar of whisper.transcribe, passing each decoded window to this thread's callback."""

    def __init__(self, total: int, **_: Any):
        self.total = total
        self.done = 0

    def __enter__(self) -> _WindowProgress:
        return self

    def __exit__(self, *_: Any) -> None:
        return None

    def update(self, frames: int) -> None:
        self.done += frames
        callback = getattr(_whisper_progress, "callback", None)
        if callback:
            callback(self.done / 100, self.total / 100)  # 100 mel frames a second


@contextlib.contextmanager
def _reporting_whisper_progress(callback: Callable | None) -> Iterator[None]:
    """Route whisper.transcribe's progress to `callback` while the block runs in this thread."""
    # whisper.transcribe reports progress only to a tqdm bar of its module's `tqdm`; it offers no callback.
    module = importlib.import_module("whisper.transcribe")
    if not isinstance(module.tqdm, types.SimpleNamespace):
        module.tqdm = types.SimpleNamespace(tqdm=_WindowProgress)
    _whisper_progress.callback = callback
    try:
        yield
    finally:
        _whisper_progress.callback = None


@functools.cache
def whisper_languages() -> dict[str, str]:
    """Whisper's language codes and names, read without importing whisper (whose import loads torch)."""
    package = importlib.util.find_spec("whisper")
    path = Path(package.submodule_search_locations[0]) / "tokenizer.py"
    spec = importlib.util.spec_from_file_location("_whisper_tokenizer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.LANGUAGES)


def check_options(
    task: str,
    timestamps: bool,
    word_timestamps: bool,
    beam_size: Any = BEAM_SIZE,
    chinese_script: Any = CHINESE_SCRIPT,
) -> None:
    """The checks that need no model, so that a request can fail before its audio is decoded."""
    if task not in {"transcribe", "translate"}:
        raise UserError("The task '{task}' is unknown; choose 'transcribe' or 'translate'.", task=task)
    if chinese_script not in CHINESE_SCRIPTS:
        raise UserError(
            "The Chinese script '{script}' is unknown; choose one of {choices}.",
            script=str(chinese_script)[:40],
            choices=", ".join(CHINESE_SCRIPTS),
        )
    if word_timestamps and not timestamps:
        raise UserError("Word timestamps need timestamps; turn timestamps on, or word timestamps off.")
    if not _whole(beam_size) or not 1 <= beam_size <= MAX_BEAM_SIZE:
        raise UserError(
            "The beam size must be a whole number from 1 to {largest}; choose 1 for the fastest decoding "
            "or 5 for Whisper's default.",
            largest=MAX_BEAM_SIZE,
        )


def check_silence_options(threshold: Any, min_silence_seconds: Any) -> None:
    """The voice-activity detector's settings: a probability, and a pause in seconds."""
    number = lambda value: isinstance(value, int | float) and not isinstance(value, bool)  # noqa: E731
    if not number(threshold) or not 0.05 <= threshold <= 0.95:
        raise UserError("The speech threshold must be a number from 0.05 to 0.95; 0.5 suits most recordings.")
    if not number(min_silence_seconds) or not 0.1 <= min_silence_seconds <= 10:
        raise UserError("The shortest silence to skip must be from 0.1 to 10 seconds; 2 seconds keeps sentences whole.")


def check_subtitle_options(line_chars: Any, cue_lines: Any) -> None:
    """A subtitle line's width and a cue's height, in whole characters and lines."""
    if not _whole(line_chars) or not MIN_LINE_CHARS <= line_chars <= MAX_LINE_CHARS:
        raise UserError(
            "A subtitle line must hold from {least} to {most} characters; 42 is the broadcast rule.",
            least=MIN_LINE_CHARS,
            most=MAX_LINE_CHARS,
        )
    if not _whole(cue_lines) or not 1 <= cue_lines <= MAX_CUE_LINES:
        raise UserError("A subtitle may have from 1 to {most} lines; 2 is the broadcast rule.", most=MAX_CUE_LINES)


def _whole(value: Any) -> bool:
    """A whole number, as an API call may send it (5 or 5.0), and not True or False."""
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()


def language_code(language: str | None) -> str | None:
    """A Whisper language code from a code or a name in any case ("fr", "French"); None for automatic."""
    language = (language or "").strip().lower()
    if not language:
        return None
    languages = whisper_languages()
    if language in languages:
        return language
    by_name = {name: code for code, name in languages.items()}
    if language in by_name:
        return by_name[language]
    raise UserError(
        "'{language}' is not a language Whisper knows; pick one from the list or leave it on automatic.",
        language=language[:40],
    )


def language_choices() -> list[tuple[Any, str]]:
    """The language dropdown's choices: each language's name as the page shows it, and its code (the value)."""
    names = sorted((name.title(), code) for code, name in whisper_languages().items())
    return [(ui("Detect automatically"), "")] + [(ui(name), code) for name, code in names]


def describe_language(code: str, probability: float | None) -> str:
    """The language found ("French (97%)") or chosen ("French (chosen)"), in the request's language."""
    name = word(whisper_languages().get(code, code).title())
    if probability is None:
        return say("{language} (chosen)", language=name)
    return say("{language} ({probability:.0%})", language=name, probability=probability)


def format_duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}"


def subtitle_folder() -> Path:
    """A new folder under the system temp dir for one request's files; this process's hour-old ones are removed."""
    now = time.monotonic()
    with _subtitle_folders_lock:
        while _subtitle_folders and now - _subtitle_folders[0][0] > SUBTITLE_FOLDER_SECONDS:
            shutil.rmtree(_subtitle_folders.popleft()[1], ignore_errors=True)
        folder = Path(tempfile.mkdtemp(prefix="transcript-"))
        _subtitle_folders.append((now, folder))
    return folder


def timing_tables(segments: list[dict]) -> tuple[Any, Any]:
    """The segments (start, end, text) and their words (start, end, word, probability) as tables."""
    import pandas as pd

    # The headers in the request's language (an API call, which sends none, gets them in English).
    start, end = say("start"), say("end")
    table = pd.DataFrame([[s["start"], s["end"], s["text"]] for s in segments], columns=[start, end, say("text")])
    words = [[w["start"], w["end"], w["word"].strip(), w["probability"]] for s in segments for w in s.get("words", [])]
    return table, pd.DataFrame(words, columns=[start, end, say("word"), say("probability")])


def batch_predict(model: SpeechModel, paths: list[str], limits: Any) -> list[dict]:
    """For each recording, its transcript, language and length (and its timed segments, for the subtitles)."""
    results = []
    for path in paths:
        try:
            audio = load_audio(path, limits.max_audio_seconds)
        except UserError as e:
            results.append({"transcript": None, "language": None, "seconds": None, "error": str(e)})
            continue
        result = predict(model, audio)
        return_freed_heap()
        results.append(
            {
                "transcript": result["text"],
                "language": result["language"],
                "seconds": round(len(audio) / SAMPLE_RATE, 2),
                "segments": result["segments"],
            }
        )
    return results


def write_subtitle_zip(rows: Rows, results: list[dict], folder: Path) -> dict[str, str]:
    """subtitles.zip: an .srt and a .vtt for each recording transcribed, named after it."""
    import zipfile

    path = Path(folder) / "subtitles.zip"
    used: set[str] = set()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for record, result in zip(rows.records, results, strict=True):
            if result.get("error") or not result.get("segments"):
                continue
            stem = re.sub(r"[^\w.-]+", "-", Path(record["file"]).stem)[:80] or "recording"
            name, n = stem, 1
            while name in used:
                n += 1
                name = f"{stem}-{n}"
            used.add(name)
            archive.writestr(f"{name}.srt", subtitles.to_srt(result["segments"]))
            archive.writestr(f"{name}.vtt", subtitles.to_vtt(result["segments"]))
    return {"subtitles": str(path)}


def build_tab(studio: Studio) -> gr.Dropdown:
    """The Speech recognition tab; returns its model dropdown."""
    # A module global, not a local: Gradio finds a handler's gr.Request by its annotation, read in these globals.
    global gr
    import gradio as gr

    from studio.ui import model_controls, refresh_status, user_errors

    limits = studio.config.limits
    backend = str(studio.task(TASK).options.get("backend", "auto"))
    if backend not in BACKENDS:
        raise SystemExit(f"models.toml: [speech] backend must be one of {', '.join(BACKENDS)}, not '{backend}'")
    load_model = functools.partial(load, backend=backend)
    # The transcription each browser session is running, so that Cancel can stop it between windows.
    running: dict[str, threading.Event] = {}

    @user_errors("transcribing the audio")
    def transcribe(
        audio_path: str | None,
        model_ref: str | None = None,
        language: str = "",
        task: str = "transcribe",
        timestamps: bool = True,
        word_timestamps: bool = False,
        video_path: str | None = None,
        beam_size: float = BEAM_SIZE,
        chinese_script: str = CHINESE_SCRIPT,
        skip_silence: bool = True,
        speech_threshold: float = voice_activity.THRESHOLD,
        min_silence: float = voice_activity.MIN_SILENCE_SECONDS,
        line_chars: float = subtitles.LINE_CHARS,
        cue_lines: float = subtitles.CUE_LINES,
        request: gr.Request = None,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple:
        media = audio_path or video_path
        if not media:
            raise UserError("No audio was given; upload a file or record with the microphone first.")
        check_options(task, bool(timestamps), bool(word_timestamps), beam_size, chinese_script)
        check_silence_options(speech_threshold, min_silence)
        check_subtitle_options(line_chars, cue_lines)
        language = language_code(language)
        audio = load_audio(media, limits.max_audio_seconds)
        loaded, note = studio.load(TASK, model_ref, load_model)
        if note:
            inform(note)  # said in the request's language already
        session = getattr(request, "session_hash", None) or ""
        cancelled = running[session] = threading.Event()
        # Said here, in the request's thread: openai-whisper reports progress from a thread of its own.
        doing, unit = say("Transcribing"), say("seconds")

        def report(done: float, total: float) -> None:
            if cancelled.is_set():
                raise UserError("The transcription was cancelled.")
            progress((round(done), round(total)), desc=doing, unit=unit)

        started = time.perf_counter()
        try:
            result = predict(
                loaded.model,
                audio,
                language=language,
                task=task,
                timestamps=bool(timestamps),
                word_timestamps=bool(word_timestamps),
                beam_size=beam_size,
                progress=report,
                chinese_script=chinese_script,
                skip_silence=bool(skip_silence),
                vad_threshold=speech_threshold,
                min_silence_seconds=min_silence,
                line_chars=int(line_chars),
                cue_lines=int(cue_lines),
            )
        finally:
            if running.get(session) is cancelled:
                del running[session]
            return_freed_heap()  # a transcription frees hundreds of MiB in pieces; see return_freed_heap
        if not result["segments"]:
            raise UserError(
                "No speech was heard in the recording; check the microphone or upload a recording with speech."
            )
        seconds = len(audio) / SAMPLE_RATE
        inform(
            "Transcribed {duration} of audio in {seconds:.1f} s with {engine}.",
            duration=format_duration(seconds),
            seconds=time.perf_counter() - started,
            engine=loaded.model.engine,
        )
        files = subtitles.write_subtitles(result["segments"], subtitle_folder(), int(line_chars))
        detected = describe_language(result["language"], result["language_probability"])
        table, words = timing_tables(result["segments"])
        downloads = [str(files[suffix]) for suffix in ("srt", "vtt", "txt")]
        return result["text"], detected, table, *downloads, words, str(files["json"])

    def cancel(request: gr.Request) -> None:
        event = running.get(getattr(request, "session_hash", None) or "")
        if event:
            event.set()

    gr.Markdown(ui(DESCRIPTION))
    with gr.Row(equal_height=False):
        with gr.Column():
            # Beside the audio, the video box and the examples cost no height of their own.
            with gr.Row(equal_height=True):
                audio = gr.Audio(label=ui("Audio"), sources=["upload", "microphone"], type="filepath", scale=3)
                with gr.Column(scale=2, min_width=160):
                    video = gr.File(
                        label=ui("…or a video (its sound is transcribed)"),
                        file_types=["video"],
                        type="filepath",
                        height=140,
                    )
                    examples = sorted(str(p) for p in ASSETS.glob("*.wav"))
                    if examples:
                        gr.Examples(examples=[[e] for e in examples], inputs=[audio])
            with gr.Row():
                # Custom values reach language_code(), which also takes names and explains a wrong one.
                language = gr.Dropdown(
                    language_choices(), value="", label=ui("Language"), allow_custom_value=True, scale=2
                )
                task = gr.Radio(
                    [(ui("Transcribe"), "transcribe"), (ui("Translate to English"), "translate")],
                    value="transcribe",
                    label=ui("Task"),
                    scale=3,
                )
            with gr.Row():
                timestamps = gr.Checkbox(
                    value=True, label=ui("Timestamps"), info=ui("Off: plain text in 30-second pieces")
                )
                word_timestamps = gr.Checkbox(
                    value=False, label=ui("Word timestamps"), info=ui("When each word is said")
                )
                # No bounds on the component: Gradio's own check would answer before check_options() could.
                beam_size = gr.Number(
                    value=BEAM_SIZE, label=ui("Beam size"), info=ui("1: fastest; 5: Whisper's default"), step=1
                )
                # A dropdown in this row, not a radio of its own: the run button stays on a laptop's screen.
                chinese_script = gr.Dropdown(
                    [
                        (ui("简体 Simplified"), "simplified"),
                        (ui("繁體 Traditional"), "traditional"),
                        (ui("As written"), "as-written"),
                    ],
                    value=CHINESE_SCRIPT,
                    label=ui("Chinese script"),
                    min_width=120,
                )
            with gr.Row():
                button = gr.Button(ui("Transcribe"), variant="primary", scale=3)
                stop = gr.Button(ui("Cancel"), variant="stop", scale=1)
            # Below the run button: the button stays on a laptop's screen.
            with gr.Accordion(ui("Silence and subtitles"), open=False):
                with gr.Row():
                    skip_silence = gr.Checkbox(
                        value=True,
                        label=ui("Skip silence"),
                        info=ui("In recordings over 30 s, transcribe only where someone speaks"),
                    )
                    # Numbers without bounds, as for the beam size: check_silence_options() explains a wrong one.
                    speech_threshold = gr.Number(
                        value=voice_activity.THRESHOLD,
                        label=ui("Speech threshold"),
                        info=ui("0.05 to 0.95; higher hears less as speech"),
                        step=0.05,
                    )
                    min_silence = gr.Number(
                        value=voice_activity.MIN_SILENCE_SECONDS,
                        label=ui("Shortest silence skipped (s)"),
                        step=0.5,
                    )
                with gr.Row():
                    line_chars = gr.Number(value=subtitles.LINE_CHARS, label=ui("Characters per line"), step=1)
                    cue_lines = gr.Number(value=subtitles.CUE_LINES, label=ui("Lines per subtitle"), step=1)
            model, status = model_controls(studio, TASK, load_model)
        with gr.Column():
            text = gr.Textbox(label=ui("Transcript"), lines=8, buttons=["copy"], interactive=False)
            detected = gr.Textbox(label=ui("Language"), interactive=False)
            # Hidden until there is something to show: empty file boxes would take a third of the page, and an
            # empty table would show its headers in English whatever the page's language (a Dataframe's initial
            # headers are not translated; the answer's are).
            segments = gr.Dataframe(
                headers=["start", "end", "text"],
                label=ui("Segments (seconds)"),
                interactive=False,
                wrap=True,
                visible=False,
            )
            with gr.Row():
                srt = gr.DownloadButton(ui("Download .srt"), visible=False, min_width=120)
                vtt = gr.DownloadButton(ui("Download .vtt"), visible=False, min_width=120)
                txt = gr.DownloadButton(ui("Download .txt"), visible=False, min_width=120)
                word_json = gr.DownloadButton(ui("Download words (.json)"), visible=False, min_width=120)
            with gr.Accordion(ui("Word timings"), open=False, visible=False) as timings:
                words = gr.Dataframe(headers=["start", "end", "word", "probability"], interactive=False, visible=False)

    options = [skip_silence, speech_threshold, min_silence, line_chars, cue_lines]
    run = button.click(
        transcribe,
        [audio, model, language, task, timestamps, word_timestamps, video, beam_size, chinese_script, *options],
        [text, detected, segments, srt, vtt, txt, words, word_json],
        api_name="transcribe",
        show_progress_on=[text],  # one "12/60 seconds" bar, not one on every output
    )
    # Shown by a second, private event: an update returned by /transcribe would reach API callers as a dict, not
    # as the file's path.
    run.success(
        lambda: [gr.DownloadButton(visible=True)] * 4 + [gr.Dataframe(visible=True)] * 2 + [gr.Accordion(visible=True)],
        None,
        [srt, vtt, txt, word_json, segments, words, timings],
        api_visibility="private",
    )
    stop.click(cancel, None, None, cancels=[run], api_visibility="private")
    refresh_status(run, studio, TASK, model, status)
    live_captions_section(studio, load_model, model, language, task, speech_threshold, line_chars, cue_lines)
    return model


def live_captions_section(
    studio: Studio,
    load_model: Callable,
    model: gr.Dropdown,
    language: gr.Dropdown,
    task: gr.Radio,
    threshold: gr.Number,
    line_chars: gr.Number,
    cue_lines: gr.Number,
) -> None:
    """Live captions from the microphone, with the tab's model, language, task and speech threshold."""
    import gradio as gr

    from studio.ui import user_errors

    limits = studio.config.limits

    def transcriber(model_ref: str | None, language: str, task: str) -> Callable:
        chosen = language_code(language)

        def transcribe_stretch(audio: Any, heard_language: str | None) -> dict:
            # On the worker: the first chunk's call would otherwise take the load's seconds, and the chunks that
            # arrive meanwhile would wait (the load began with the session; a failed load is said by the next call).
            loaded, _ = studio.load(TASK, model_ref, load_model)
            return predict(
                loaded.model,
                audio,
                language=chosen or heard_language,
                task=task,
                word_timestamps=True,
                beam_size=LIVE_BEAM_SIZE,
                skip_silence=False,
                temperatures=LIVE_TEMPERATURES,
            )

        return transcribe_stretch

    def caption(
        chunks: list[tuple],
        captions: live_captions.Captions | None,
        model_ref: str | None = None,
        language: str = "",
        task: str = "transcribe",
        speech_threshold: float = voice_activity.THRESHOLD,
        wait: bool = False,
    ) -> tuple:
        """Listen to these chunks of sound, (rate, samples) each, in order; the transcript if it grew."""
        check_options(task, True, True)
        check_silence_options(speech_threshold, voice_activity.MIN_SILENCE_SECONDS)
        transcribe = transcriber(model_ref, language, task)
        for rate, samples in chunks:
            if captions is None:
                captions = live_captions.Captions()
                # The model loads on the worker as the session starts, while the first sentence is still being said.
                live_captions.prepare(captions, lambda: studio.load(TASK, model_ref, load_model))
            if captions.heard_seconds + len(samples) / rate > limits.max_audio_seconds:
                raise UserError(
                    "Live captions stop at {limit} minutes; stop the microphone and start again.",
                    limit=round(limits.max_audio_seconds / 60),
                )
            # The stream's calls must stay short (see live_captions); a script's piece is answered once it is captioned.
            live_captions.listen(captions, rate, samples, transcribe, speech_threshold, wait=wait)
        if captions is None:
            return "", captions
        if not wait and captions.text == captions.shown:
            return gr.skip(), captions  # the page redraws the transcript only when it grew (ten chunks a second)
        captions.shown = captions.text
        return captions.text, captions

    def streamed_chunks(chunk: str | None, request: gr.Request | None) -> list[tuple]:
        """The microphone's chunks since the last call: every one the page posted (see studio.streams), or, where the
        app is served without that middleware, the one Gradio kept."""
        from gradio.processing_utils import audio_from_file

        session = request.session_hash if request else None
        files = streams.STREAMED.take(session)
        if files is None:
            files = [chunk] if chunk else []
        return [audio_from_file(path) for path in files]

    @user_errors("captioning the microphone")
    def caption_microphone(
        chunk: str | None,
        captions: live_captions.Captions | None,
        model_ref: str | None = None,
        language: str = "",
        task: str = "transcribe",
        speech_threshold: float = voice_activity.THRESHOLD,
        request: gr.Request = None,
    ) -> tuple:
        return caption(streamed_chunks(chunk, request), captions, model_ref, language, task, speech_threshold)

    @user_errors("captioning the microphone")
    def caption_piece(
        path: str | None,
        captions: live_captions.Captions | None,
        model_ref: str | None = None,
        language: str = "",
        task: str = "transcribe",
        speech_threshold: float = voice_activity.THRESHOLD,
    ) -> tuple:
        if not path:
            raise UserError("No audio was given; send a piece of the recording as a sound file.")
        piece = (SAMPLE_RATE, load_audio(path, limits.max_audio_seconds, silence_allowed=True))
        return caption([piece], captions, model_ref, language, task, speech_threshold, wait=True)

    @user_errors("captioning the microphone")
    def end_captions(
        captions: live_captions.Captions | None,
        model_ref: str | None = None,
        language: str = "",
        task: str = "transcribe",
        speech_threshold: float = voice_activity.THRESHOLD,
        line_chars: float = subtitles.LINE_CHARS,
        cue_lines: float = subtitles.CUE_LINES,
        request: gr.Request = None,
    ) -> tuple:
        check_subtitle_options(line_chars, cue_lines)
        try:  # the microphone's last chunks, posted after the stream's last call
            left = streamed_chunks(None, request)
        finally:
            streams.STREAMED.forget(request.session_hash if request else None)
        if left:
            captions = caption(left, captions, model_ref, language, task, speech_threshold)[1]
        if captions is None:
            raise UserError("Nothing was heard yet; start the microphone and speak first.")
        live_captions.finish(captions, transcriber(model_ref, language, task), speech_threshold)
        if not captions.segments:
            raise UserError("No speech was heard; check the microphone and speak again.")
        cues = subtitles.subtitle_segments(captions.segments, captions.heard_seconds, int(line_chars), int(cue_lines))
        files = subtitles.write_subtitles(cues, subtitle_folder(), int(line_chars))
        return captions.text, *(str(files[suffix]) for suffix in ("srt", "vtt", "txt", "json")), None

    with gr.Accordion(ui("Live captions from the microphone"), open=False) as section:
        gr.Markdown(ui(LIVE_DESCRIPTION))
        with gr.Row(equal_height=False):
            with gr.Column():
                # No moving waveform while recording (the timer shows instead): drawing it kept a core of a 2-core
                # machine busy in Chromium, and the captions are what shows the microphone is heard.
                microphone = gr.Audio(
                    label=ui("Microphone"),
                    sources=["microphone"],
                    streaming=True,
                    type="filepath",
                    waveform_options=gr.WaveformOptions(show_recording_waveform=False),
                )
                # /live_captions: an API client sends the sound piece by piece, as the microphone does, in any format
                # ffmpeg reads (decoded as the Transcribe button's files are, with the same sentences for bad ones).
                piece = gr.Audio(type="filepath", visible=False)
                send_piece = gr.Button(ui("Caption this piece"), visible=False)
            with gr.Column():
                live_text = gr.Textbox(label=ui("Live transcript"), lines=8, interactive=False, autoscroll=True)
                with gr.Row():
                    downloads = [
                        gr.DownloadButton(ui(label), visible=False, min_width=120)
                        for label in ("Download .srt", "Download .vtt", "Download .txt", "Download words (.json)")
                    ]
    captions = gr.State()
    settings = [model, language, task, threshold]
    # The detector and the resampler load when the section opens: in the first chunk's call, their second would cost
    # the first second of speech (the page records nothing between its first chunk and the stream's first answer).
    get_ready = user_errors("captioning the microphone")(live_captions.get_ready)
    section.expand(get_ready, None, None, api_visibility="private", show_progress="hidden")
    stream = microphone.stream(
        caption_microphone,
        [microphone, captions, *settings],
        [live_text, captions],
        time_limit=limits.max_audio_seconds,
        api_visibility="private",
        show_progress="hidden",
    )
    streams.STREAMED.watch(stream["id"])
    send_piece.click(caption_piece, [piece, captions, *settings], [live_text, captions], api_name="live_captions")
    ended = microphone.stop_recording(
        end_captions,
        [captions, *settings, line_chars, cue_lines],
        [live_text, *downloads, captions],
        api_name="live_captions_end",
    )
    ended.success(lambda: [gr.DownloadButton(visible=True)] * 4, None, downloads, api_visibility="private")
