"""The ``interop`` extra (onnx, onnxruntime, safetensors): imported only when a conversion needs it."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..errors import MissingExtraError

INSTALL_HINT = "pip install 'chainrule[interop]'"


def require(module: str, what: str) -> Any:
    """``import module``, or a :class:`MissingExtraError` naming the extra that brings it."""
    try:
        return import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise MissingExtraError(f"{what} needs {package}, which is not installed: {INSTALL_HINT}") from None
