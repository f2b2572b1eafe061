"""What every layer shares: parameters and gradients by name, a train/eval flag, and checks.

A layer is one node of the computational graph: ``forward`` computes its output and caches what
the local derivative needs; ``backward(dout)`` multiplies the upstream gradient ``dout`` by that
local derivative (the chain rule) and returns the gradient with respect to the layer's input.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..backend import Array
from ..checks import check_array_or_number, owner_name
from ..errors import DTypeError, NotForwardedError, ShapeError

T = TypeVar("T")

# Layers compute in float32 or float64. Integer and boolean inputs are promoted by NumPy to a
# float and give correct results; complex, object and string arrays would flow through the
# arithmetic and give meaningless (or silently truncated) results, so they are refused.
SUPPORTED_FLOATS = ("float32", "float64")
_REAL_KINDS = "fiub"


def check_parameter_dtype(layer: str, label: str, array: Any) -> None:
    """A trainable array must be float32 or float64 (the dtypes every update rule runs in)."""
    dtype = getattr(array, "dtype", None)
    if dtype is None or str(dtype) not in SUPPORTED_FLOATS:
        found = dtype if dtype is not None else type(array).__name__
        raise DTypeError(
            f"{layer}: {label} must be a float32 or float64 array, got {found}"
        )


def check_input_dtype(
    owner: Any, x: Any, label: str = "x", method: str = "forward", *, numbers_too: bool = False
) -> None:
    """Refuse complex, object and string inputs, and lists: one attribute read, no scan of the data.

    ``owner`` (a layer, a network or a name) is only turned into text when the check fails, so
    the passing path, run on every forward, costs no string formatting. ``numbers_too`` lets a
    Python ``int`` or ``float`` through, for the element-wise layers that work on one as NumPy does.
    """
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        check_array_or_number(owner, x, label, method, accepted=(int, float) if numbers_too else ())
    elif dtype.kind not in _REAL_KINDS:
        name = owner_name(owner)
        raise DTypeError(
            f"{name}.{method}: {label} has dtype {dtype}; expected real numbers: float32 or "
            "float64 (integer and bool arrays are promoted)"
        )


class Layer:
    """Base class: ``params``/``grads`` dicts keyed by name, plus a ``training`` flag.

    Subclasses keep their forward and backward side by side and as short as the math.
    ``buffers`` holds state that is saved with the model but not trained (e.g. running means).
    What ``forward`` caches for ``backward`` is ``None`` until the first forward pass, and
    ``backward`` checks it with :meth:`_require_forward`.
    """

    def __init__(self) -> None:
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self.buffers: dict[str, Array] = {}
        self.training: bool = True

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, *args: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dout: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward_params(self, dout: Any) -> None:
        """Fill ``grads`` as :meth:`backward` does, but skip the input's gradient.

        A network calls this on its first layer with parameters: that layer's input is the
        data, whose gradient nobody uses. By default it runs :meth:`backward` and drops the
        result; layers whose input gradient is real work (Affine's ``dout @ W.T``) override it.
        """
        self.backward(dout)

    def train(self, mode: bool = True) -> "Layer":
        self.training = mode
        return self

    def eval(self) -> "Layer":
        return self.train(False)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={tuple(v.shape)}" for k, v in self.params.items())
        return f"{self.name}({shapes})"

    # -- checks shared by the subclasses ------------------------------------------------------

    def _require_forward(self, cached: T | None) -> T:
        """Raise if ``backward`` runs before ``forward`` has cached what it needs; else return it."""
        if cached is None:
            raise NotForwardedError(
                f"{self.name}.backward() was called before {self.name}.forward(): "
                "run forward first so there is something to differentiate"
            )
        return cached

    def _check_dout(self, dout: Any, expected_shape: tuple[int, ...], *, real: bool = True) -> None:
        """Upstream gradients must have the shape of this layer's output (and, with ``real``,
        real values: the arithmetic layers also take object arrays of exact numbers)."""
        if real:
            check_input_dtype(self, dout, "dout", "backward", numbers_too=True)
        else:
            check_array_or_number(self, dout, "dout", "backward")
        shape = getattr(dout, "shape", ())
        if tuple(shape) != tuple(expected_shape):
            raise ShapeError(
                f"{self.name}.backward: dout must have the shape of the forward output "
                f"{tuple(expected_shape)}, got {tuple(shape)}"
            )


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` over the axes that broadcasting added or stretched to reach ``shape``.

    When ``x`` of shape ``shape`` was broadcast in the forward pass, every copy of an element
    contributed to the output, so its gradient is the sum of the copies' gradients.
    """
    grad_shape = getattr(grad, "shape", ())
    if tuple(grad_shape) == tuple(shape):
        return grad
    extra = len(grad_shape) - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad
