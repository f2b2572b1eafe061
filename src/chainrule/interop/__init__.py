"""Models in and out of chainrule: ONNX export and import, safetensors weights, run directories.

``to_onnx(net, path)`` writes a network's inference graph; ``from_onnx(path)`` rebuilds an ONNX
model from chainrule's own layers (so backward works); ``save_safetensors``/``load_safetensors``
keep the state dict under chainrule's names. onnx, onnxruntime and safetensors come with the
``interop`` extra and are imported only when a conversion runs. See ``docs/interop.md``.
"""

from .extra import INSTALL_HINT
from .onnx_export import to_onnx
from .onnx_import import ImportedModel, OnnxImportError, from_onnx, read_onnx
from .runs import export_run, import_run, load_run_network
from .safetensors_file import (
    load_safetensors, load_torch_safetensors, model_from_safetensors, read_safetensors, save_safetensors,
    torch_state_to_chainrule,
)

__all__ = [
    "INSTALL_HINT",
    "ImportedModel",
    "OnnxImportError",
    "export_run",
    "from_onnx",
    "import_run",
    "load_run_network",
    "load_safetensors",
    "load_torch_safetensors",
    "model_from_safetensors",
    "read_onnx",
    "read_safetensors",
    "save_safetensors",
    "to_onnx",
    "torch_state_to_chainrule",
]
