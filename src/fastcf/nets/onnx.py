"""ONNX export of a :class:`TapNetwork` and an ONNX Runtime twin with the same interface.

``export_onnx(net, path, taps)`` writes a model with input ``image`` (N, 3, H, W; BGR
0..255; N, H and W dynamic unless the network holds a mean *image*) and one output per
tap. :class:`OrtNetwork` runs it with ONNX Runtime on one thread and returns
``{tap: tensor}`` like the PyTorch network. ``onnxruntime``/``onnx`` are an optional
extra (``pip install fastcf[onnx]``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fastcf.errors import ConfigError
from fastcf.nets.base import TapInfo, TapKey, TapNetwork


class _TupleOut(nn.Module):
    def __init__(self, net: TapNetwork) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.net(x)
        return tuple(out[k] for k in self.net.outputs)


def export_onnx(
    net: TapNetwork,
    path: str | Path,
    taps: Iterable[TapKey] | None = None,
    *,
    size: tuple[int, int] = (224, 224),
    opset: int = 17,
) -> Path:
    """Export ``net`` cut after the deepest of ``taps`` (default: its ``outputs``)."""
    sub = net.truncated(taps if taps is not None else net.outputs).eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 3, size[0], size[1])
    dynamic: dict[str, dict[int, str]] = {"image": {0: "batch"}}
    if not sub.norm.is_image:
        dynamic["image"].update({2: "height", 3: "width"})
    for name in sub.outputs:
        dynamic[name] = {0: "batch", 2: f"{name}_h", 3: f"{name}_w"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python code
        torch.onnx.export(
            _TupleOut(sub),
            (dummy,),
            str(path),
            input_names=["image"],
            output_names=list(sub.outputs),
            dynamic_axes=dynamic,
            opset_version=opset,
            dynamo=False,
        )
    return path


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OrtNetwork(nn.Module):
    """ONNX Runtime session behind the :class:`TapNetwork` call interface (inference only)."""

    def __init__(
        self,
        onnx_path: str | Path,
        taps: dict[str, TapInfo],
        outputs: Sequence[str],
        *,
        threads: int = 1,
        name: str = "",
    ) -> None:
        super().__init__()
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError(
                "onnxruntime is not installed; `pip install fastcf[onnx]` or use PyTorch"
            ) from None
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        self.outputs = tuple(outputs)
        self.taps = {k: taps[k] for k in self.outputs}
        self.name = name

    @classmethod
    def from_network(
        cls,
        net: TapNetwork,
        onnx_path: str | Path,
        taps: Iterable[TapKey] | None = None,
        *,
        size: tuple[int, int] = (224, 224),
        threads: int = 1,
    ) -> OrtNetwork:
        sub = net.truncated(taps if taps is not None else net.outputs)
        export_onnx(sub, onnx_path, size=size)
        return cls(onnx_path, dict(sub.taps), sub.outputs, threads=threads, name=net.name)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        arr = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
        res = self.session.run(list(self.outputs), {"image": arr})
        return {k: torch.from_numpy(v) for k, v in zip(self.outputs, res, strict=True)}
