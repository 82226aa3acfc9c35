"""Converting a CTranslate2 Whisper model (model.bin) into an openai-whisper checkpoint."""

from __future__ import annotations

import base64
import gzip
import re
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Bump when the mapping changes, so that cached conversions are redone.
CONVERTER_VERSION = 1

# ctranslate2/specs/model_spec.py: _dtype_to_type_id; bfloat16 is read as its raw 16 bits.
_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, np.uint16)
_BFLOAT16 = 5
_BINARY_VERSION = 6


class _Reader:
    """Reads the little-endian fields of model.bin in order."""

    def __init__(self, data: bytes):
        self.data = data
        self.offset = 0

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def string(self) -> str:
        (length,) = self.unpack("H")
        text = self.data[self.offset : self.offset + length - 1].decode("utf-8")
        self.offset += length
        return text


def read_variables(parts: Sequence[Path]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The named arrays of a model.bin (given whole or as parts in order) and their aliases."""
    data = b"".join(Path(part).read_bytes() for part in parts)
    reader = _Reader(data)
    try:
        (version,) = reader.unpack("I")
        if version != _BINARY_VERSION:
            raise ValueError(f"CTranslate2 binary version {version} is not supported (only {_BINARY_VERSION})")
        spec, _revision, count = reader.string(), *reader.unpack("II")
        if spec != "WhisperSpec":
            raise ValueError(f"{parts[0]} holds a {spec}, not a Whisper model")
        variables = {}
        for _ in range(count):
            name = reader.string()
            (ndim,) = reader.unpack("B")
            shape = reader.unpack(f"{ndim}I")
            type_id, num_bytes = reader.unpack("BI")
            dtype = np.dtype(_DTYPES[type_id])
            if type_id == _BFLOAT16:
                raise ValueError(f"{name} is bfloat16; only float16 and float32 Whisper models can be converted")
            if reader.offset + num_bytes > len(data) or num_bytes != dtype.itemsize * int(np.prod(shape)):
                raise ValueError(f"{name} runs past the end of the file or has the wrong size")
            variables[name] = np.frombuffer(data, dtype=dtype, count=num_bytes // dtype.itemsize, offset=reader.offset)
            variables[name] = variables[name].reshape(shape)
            reader.offset += num_bytes
        (alias_count,) = reader.unpack("I")
        aliases = {reader.string(): reader.string() for _ in range(alias_count)}
    except struct.error:
        raise ValueError(f"{parts[0]} is truncated") from None
    if reader.offset != len(data):
        raise ValueError(f"{parts[0]} has {len(data) - reader.offset} bytes after the model")
    return variables, aliases


def whisper_dims(variables: dict[str, np.ndarray]) -> dict[str, int]:
    """openai-whisper's ModelDimensions, as a dict, for a CT2 Whisper model's variables."""
    conv1 = variables["encoder/conv1/weight"]
    embeddings = variables["decoder/embeddings/weight"]
    return {
        "n_mels": conv1.shape[1],
        "n_audio_ctx": variables["encoder/position_encodings/encodings"].shape[0],
        "n_audio_state": conv1.shape[0],
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": _count_layers(variables, "encoder"),
        "n_vocab": embeddings.shape[0],
        "n_text_ctx": variables["decoder/position_encodings/encodings"].shape[0],
        "n_text_state": embeddings.shape[1],
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": _count_layers(variables, "decoder"),
    }


def _count_layers(variables: dict[str, np.ndarray], stack: str) -> int:
    indices = {int(m[1]) for name in variables if (m := re.match(rf"{stack}/layer_(\d+)/", name))}
    if indices != set(range(len(indices))):
        raise ValueError(f"the {stack} layers are not numbered 0..n-1: {sorted(indices)}")
    return len(indices)


def whisper_state_dict(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """openai-whisper's state dict names for a CT2 Whisper model's variables (arrays shared, not copied)."""
    dims = whisper_dims(variables)
    taken = _Taken(variables)
    state = {
        "encoder.conv1.weight": taken["encoder/conv1/weight"],
        "encoder.conv1.bias": taken["encoder/conv1/bias"],
        "encoder.conv2.weight": taken["encoder/conv2/weight"],
        "encoder.conv2.bias": taken["encoder/conv2/bias"],
        "encoder.positional_embedding": taken["encoder/position_encodings/encodings"],
        **_layer_norm(taken, "encoder/layer_norm", "encoder.ln_post"),
        "decoder.token_embedding.weight": taken["decoder/embeddings/weight"],
        "decoder.positional_embedding": taken["decoder/position_encodings/encodings"],
        **_layer_norm(taken, "decoder/layer_norm", "decoder.ln"),
    }
    for i in range(dims["n_audio_layer"]):
        state.update(_block(taken, f"encoder/layer_{i}", f"encoder.blocks.{i}", cross_attention=False))
    for i in range(dims["n_text_layer"]):
        state.update(_block(taken, f"decoder/layer_{i}", f"decoder.blocks.{i}", cross_attention=True))
    # A tensor with no place in openai-whisper (say, int8 scales) would otherwise be dropped silently.
    unused = [name for name, array in variables.items() if array.ndim > 0 and name not in taken.names]
    if unused:
        raise ValueError(f"the model has variables openai-whisper has no place for: {unused[:5]}")
    return state


class _Taken(dict):
    """The variables, remembering which names the mapping took."""

    def __init__(self, variables: dict[str, np.ndarray]):
        super().__init__(variables)
        self.names: set[str] = set()

    def __getitem__(self, name: str) -> np.ndarray:
        self.names.add(name)
        return super().__getitem__(name)


def _block(variables: dict[str, np.ndarray], ct2: str, ours: str, cross_attention: bool) -> dict[str, np.ndarray]:
    """One residual attention block: self-attention, cross-attention (decoder only), MLP."""
    # Self-attention: linear_0 is q,k,v stacked, linear_1 the output projection.
    qkv_weight = np.split(variables[f"{ct2}/self_attention/linear_0/weight"], 3)
    qkv_bias = np.split(variables[f"{ct2}/self_attention/linear_0/bias"], 3)
    _check_zero_key_bias(qkv_bias[1], f"{ct2}/self_attention")
    block = {
        f"{ours}.attn.query.weight": qkv_weight[0],
        f"{ours}.attn.query.bias": qkv_bias[0],
        f"{ours}.attn.key.weight": qkv_weight[1],
        f"{ours}.attn.value.weight": qkv_weight[2],
        f"{ours}.attn.value.bias": qkv_bias[2],
        **_linear(variables, f"{ct2}/self_attention/linear_1", f"{ours}.attn.out"),
        **_layer_norm(variables, f"{ct2}/self_attention/layer_norm", f"{ours}.attn_ln"),
        **_linear(variables, f"{ct2}/ffn/linear_0", f"{ours}.mlp.0"),
        **_linear(variables, f"{ct2}/ffn/linear_1", f"{ours}.mlp.2"),
        **_layer_norm(variables, f"{ct2}/ffn/layer_norm", f"{ours}.mlp_ln"),
    }
    if cross_attention:
        # Cross-attention: linear_0 is q, linear_1 is k,v stacked, linear_2 the output projection.
        kv_weight = np.split(variables[f"{ct2}/attention/linear_1/weight"], 2)
        kv_bias = np.split(variables[f"{ct2}/attention/linear_1/bias"], 2)
        _check_zero_key_bias(kv_bias[0], f"{ct2}/attention")
        block.update(
            {
                **_linear(variables, f"{ct2}/attention/linear_0", f"{ours}.cross_attn.query"),
                f"{ours}.cross_attn.key.weight": kv_weight[0],
                f"{ours}.cross_attn.value.weight": kv_weight[1],
                f"{ours}.cross_attn.value.bias": kv_bias[1],
                **_linear(variables, f"{ct2}/attention/linear_2", f"{ours}.cross_attn.out"),
                **_layer_norm(variables, f"{ct2}/attention/layer_norm", f"{ours}.cross_attn_ln"),
            }
        )
    return block


def _check_zero_key_bias(bias: np.ndarray, where: str) -> None:
    # openai-whisper's key projection has no bias; CT2 stores zeros there, and anything else would be lost.
    if np.any(bias != 0):
        raise ValueError(f"{where} has a non-zero key bias, which openai-whisper cannot hold")


def _linear(variables: dict[str, np.ndarray], ct2: str, ours: str) -> dict[str, np.ndarray]:
    return {f"{ours}.weight": variables[f"{ct2}/weight"], f"{ours}.bias": variables[f"{ct2}/bias"]}


def _layer_norm(variables: dict[str, np.ndarray], ct2: str, ours: str) -> dict[str, np.ndarray]:
    return {f"{ours}.weight": variables[f"{ct2}/gamma"], f"{ours}.bias": variables[f"{ct2}/beta"]}


def alignment_heads_dump(heads: Sequence[Sequence[int]], n_text_layer: int, n_text_head: int) -> bytes:
    """(layer, head) pairs as the gzip+base85 bool mask that `Whisper.set_alignment_heads` takes."""
    mask = np.zeros((n_text_layer, n_text_head), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0))


def convert(parts: Sequence[Path], output: Path, alignment_heads: Sequence[Sequence[int]] | None = None) -> None:
    """Write the openai-whisper checkpoint for a CT2 model.bin (whole or in parts) to `output`."""
    import torch

    variables, aliases = read_variables(parts)
    # Whisper ties its output projection to the token embedding; CT2 records that as an alias.
    if aliases.get("decoder/projection/weight", "decoder/embeddings/weight") != "decoder/embeddings/weight":
        raise ValueError("the model's output projection is not tied to its token embedding")
    projection = variables.pop("decoder/projection/weight", None)
    if projection is not None and not np.array_equal(projection, variables["decoder/embeddings/weight"]):
        raise ValueError("the model's output projection differs from its token embedding")
    dims = whisper_dims(variables)
    state = whisper_state_dict(variables)
    checkpoint: dict[str, Any] = {
        "dims": dims,
        "model_state_dict": {name: torch.tensor(array) for name, array in state.items()},
    }
    if alignment_heads:
        checkpoint["alignment_heads"] = alignment_heads_dump(alignment_heads, dims["n_text_layer"], dims["n_text_head"])
    # Through a file object the zip's inner folder is always "archive"; given a path, torch names it after the
    # (temporary, per-process) file, and the same weights would give different bytes from one run to the next.
    with open(output, "wb") as f:
        torch.save(checkpoint, f)
