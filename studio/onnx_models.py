"""A transformers classifier exported to ONNX and run by ONNX Runtime on the CPU, called as a transformers model is.

The Fine-tune tab's "faster CPU copy" is such a folder: model.onnx beside the run's config.json and tokenizer.
`load` gives an object with the two things the tasks use of a model — `model(**inputs).logits` and `model.config`
— so a task's predict runs it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

ONNX_FILE = "model.onnx"


@dataclass
class Output:
    logits: Any


class OnnxModel:
    """An ONNX Runtime session with a transformers model's call signature and config."""

    def __init__(self, session: Any, config: Any):
        self.session = session
        self.config = config
        self.input_names = [i.name for i in session.get_inputs()]

    def __call__(self, **inputs: Any) -> Output:
        import torch

        feed = {name: inputs[name].cpu().numpy() for name in self.input_names if name in inputs}
        (logits,) = self.session.run(["logits"], feed)
        return Output(torch.from_numpy(logits))

    def to(self, device: Any) -> OnnxModel:
        return self  # always the CPU: that is what the copy is made for

    def eval(self) -> OnnxModel:
        return self


def is_onnx_folder(model_ref: str) -> bool:
    """True when `model_ref` is a local folder that holds an ONNX export (and not a Hub id or a pack name)."""
    from studio import pack

    if pack.is_pack_ref(model_ref):
        return False
    return (Path(model_ref) / ONNX_FILE).is_file()


def load(folder: str | Path) -> OnnxModel:
    """The folder's model.onnx in a CPU session that uses this process's CPUs, with the folder's config."""
    import onnxruntime as ort
    from transformers import AutoConfig

    from studio.device import usable_cpus
    from studio.hf import from_pretrained

    folder = Path(folder)
    options = ort.SessionOptions()
    options.intra_op_num_threads = usable_cpus()
    options.inter_op_num_threads = 1  # requests already run in parallel, as for torch (studio.device)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle threads sleep rather than spin: on a CPU shared with the app's other work (and other processes) that was
    # 8% more throughput for the int8 copy of a MiniLM run on 2 busy cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"])
    return OnnxModel(session, from_pretrained(AutoConfig, str(folder)))
