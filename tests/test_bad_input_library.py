"""The library's bad-input corpus: every case is a clear chainrule error, never silently wrong.

One table: (case id, a callable that feeds one bad input, the exception class expected, the
substrings the message must contain). The substrings name the layer, option or file, the value
expected and the value found, so a bare ``ValueError`` or a NumPy traceback fails the case.
Data cases write the IDX files they need into a temporary folder.
"""

from __future__ import annotations

import gzip
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from chainrule import errors
from chainrule.data import MNIST, fetch_file, load_idx_dataset, load_mnist, read_idx, write_fake_dataset, write_idx
from chainrule.functions import cross_entropy_error, mean_squared_error, sigmoid, softmax
from chainrule.gradients import compare_gradients, gradcheck, numerical_gradient
from chainrule.layers import (
    AddLayer,
    Affine,
    AvgPooling,
    BatchNormalization,
    Convolution,
    Dropout,
    Flatten,
    LeakyRelu,
    MeanSquaredError,
    MulLayer,
    Pooling,
    Relu,
    Sigmoid,
    Softmax,
    SoftmaxWithLoss,
    Tanh,
    col2im,
    im2col,
)
from chainrule.nets import MultiLayerNet, Sequential, SimpleConvNet, TwoLayerNet
from chainrule.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, make_optimizer
from chainrule.training import Trainer, confusion_matrix, evaluate, make_schedule, predict_labels
from chainrule.training import schedules

ShapeError, DTypeError, LabelError = errors.ShapeError, errors.DTypeError, errors.LabelError
DataError, CheckpointError, NonFiniteError = errors.DataError, errors.CheckpointError, errors.NonFiniteError
NotForwardedError = errors.NotForwardedError

F = np.ones((2, 3))  # a float64 batch of 2 samples with 3 features


# -- builders the cases share ------------------------------------------------------------------


def affine(in_features: int = 3, out_features: int = 2, dtype: Any = np.float64) -> Affine:
    return Affine(np.ones((in_features, out_features), dtype), np.zeros(out_features, dtype))


def forwarded(layer: Any, *inputs: Any) -> Any:
    layer.forward(*inputs)
    return layer


def bn(features: int = 3, **kwargs: Any) -> BatchNormalization:
    return BatchNormalization(np.ones(features), np.zeros(features), **kwargs)


def conv(channels: int = 1, size: int = 3, **kwargs: Any) -> Convolution:
    return Convolution(np.ones((2, channels, size, size)), np.zeros(2), **kwargs)


def images(n: int = 2, channels: int = 1, size: int = 5) -> np.ndarray:
    return np.ones((n, channels, size, size))


def net() -> TwoLayerNet:
    return TwoLayerNet(4, 3, 2, rng=0)


def blobs(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 4)), rng.integers(0, 2, n)


def optimizer_update(optimizer: Any, params: dict, grads: dict) -> None:
    optimizer.update(params, grads)


def saved_state(optimizer: Any, **changes: Any) -> dict:
    params = {"W": np.ones((2, 3))}
    optimizer.update(params, {"W": np.ones((2, 3))})
    state = optimizer.state_dict()
    state.update(changes)
    return state


def net_state(**changes: Any) -> dict:
    state = net().state_dict()
    state.update(changes)
    return state


_SCRATCH: list[tempfile.TemporaryDirectory] = []


def tmp() -> Path:
    """A fresh folder under this module's scratch directory (removed when the module is done)."""
    if not _SCRATCH:
        _SCRATCH.append(tempfile.TemporaryDirectory(prefix="chainrule-bad-input-"))
    return Path(tempfile.mkdtemp(dir=_SCRATCH[0].name))


@pytest.fixture(scope="module", autouse=True)
def remove_scratch():
    yield
    while _SCRATCH:
        _SCRATCH.pop().cleanup()


def idx_file(raw: bytes, name: str = "bad.idx") -> Path:
    path = tmp() / name
    path.write_bytes(raw)
    return path


def idx_bytes(array: np.ndarray) -> bytes:
    path = write_idx(tmp() / "x.idx", array)
    return path.read_bytes()


def dataset(train_labels: np.ndarray | None = None, train_images: np.ndarray | None = None) -> Path:
    """A fake MNIST folder with optional replaced arrays (loaded with verify=False)."""
    folder = tmp()
    write_fake_dataset(folder / "mnist", train_size=4, test_size=2)
    if train_labels is not None:
        write_idx(folder / "mnist" / "train-labels-idx1-ubyte.gz", train_labels)
    if train_images is not None:
        write_idx(folder / "mnist" / "train-images-idx3-ubyte.gz", train_images)
    return folder


def load_unverified(folder: Path) -> Any:
    return load_mnist(data_dir=folder, download=False, verify=False)


def load_mnist_from_empty_folder() -> Any:
    """No data anywhere: an empty data_dir, no $CHAINRULE_DATA, an empty cache, no download."""
    saved = {key: os.environ.pop(key, None) for key in ("CHAINRULE_DATA", "CHAINRULE_CACHE")}
    os.environ["CHAINRULE_CACHE"] = str(tmp())
    try:
        return load_mnist(data_dir=tmp(), download=False)
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value


def decompressed_with_changed_label() -> Any:
    """A user's decompressed copy of (fake) MNIST with one label changed."""
    folder = tmp()
    fake = write_fake_dataset(folder / "gz", train_size=4, test_size=2)
    plain = folder / "plain"
    plain.mkdir()
    for remote in fake.files.values():
        raw = bytearray(gzip.decompress((folder / "gz" / remote.name).read_bytes()))
        if remote.name.startswith("train-labels"):
            raw[-1] = (raw[-1] + 1) % 10
        (plain / remote.name[:-3]).write_bytes(bytes(raw))
    return load_idx_dataset(fake, data_dir=plain, download=False, progress=False)


def wrong_size_archive() -> Any:
    folder = tmp()
    fake = write_fake_dataset(folder, train_size=4, test_size=2)
    with open(folder / fake.files["test_labels"].name, "ab") as f:
        f.write(b"\0")
    return load_idx_dataset(fake, data_dir=folder, download=False, progress=False)


def trainer_fit(x: Any, t: Any, *args: Any, optimizer: Any = None, **kwargs: Any) -> Any:
    return Trainer(net(), optimizer or SGD(0.1), epochs=1, batch_size=20, verbose=0, **kwargs).fit(x, t, *args)


def with_nan(array: np.ndarray, index: Any) -> np.ndarray:
    array = array.copy()
    array[index] = np.nan
    return array


def gradcheck_int_input() -> Any:
    return gradcheck(Relu(), np.array([[1, -2, 3]]))


def conv_backward(dout_shape: tuple[int, ...]) -> Any:
    layer = forwarded(conv(), images())
    return layer.backward(np.ones(dout_shape))


# -- the corpus --------------------------------------------------------------------------------

Case = tuple[str, Callable[[], Any], type, list[str]]

CASES: list[Case] = [
    # ---- arithmetic layers (shopping graphs) ----
    ("mul-dout-shape", lambda: forwarded(MulLayer(), np.ones(3), np.ones(3)).backward(np.ones((2, 3))),
     ShapeError, ["MulLayer.backward", "(3,)", "(2, 3)"]),
    ("mul-dout-array-for-scalar", lambda: forwarded(MulLayer(), 100.0, 2.0).backward(np.ones(2)),
     ShapeError, ["MulLayer.backward", "()", "(2,)"]),
    ("mul-dout-broadcast-shape", lambda: forwarded(MulLayer(), np.ones((2, 1)), np.ones(3)).backward(np.ones(3)),
     ShapeError, ["MulLayer.backward", "(2, 3)", "(3,)"]),
    ("add-dout-shape", lambda: forwarded(AddLayer(), np.ones(3), np.ones(3)).backward(np.ones((4, 3))),
     ShapeError, ["AddLayer.backward", "(3,)", "(4, 3)"]),
    ("add-dout-array-for-scalar", lambda: forwarded(AddLayer(), 1.0, 2.0).backward(np.ones(5)),
     ShapeError, ["AddLayer.backward", "()", "(5,)"]),
    ("mul-forward-no-broadcast", lambda: MulLayer().forward(np.ones(3), np.ones(4)),
     ShapeError, ["MulLayer.forward", "(3,)", "(4,)"]),
    ("add-forward-no-broadcast", lambda: AddLayer().forward(np.ones((2, 3)), np.ones(2)),
     ShapeError, ["AddLayer.forward", "(2, 3)", "(2,)"]),
    ("mul-backward-first", lambda: MulLayer().backward(1.0), NotForwardedError, ["MulLayer.backward", "forward"]),
    # A list is not an array: AddLayer would concatenate [1, 2] + [3, 4], MulLayer repeat a list.
    ("add-lists", lambda: AddLayer().forward([1, 2], [3, 4]), DTypeError, ["AddLayer.forward", "x is a list", "array"]),
    ("mul-list-times-number", lambda: MulLayer().forward(2, [1.0, 2.0]), DTypeError, ["MulLayer.forward", "y is a list", "array"]),
    ("mul-dout-list", lambda: forwarded(MulLayer(), np.ones(2), 3.0).backward([1.0, 1.0]), DTypeError, ["MulLayer.backward", "dout is a list"]),
    # ---- Affine ----
    ("affine-complex-x", lambda: affine().forward(F.astype(complex)), DTypeError, ["Affine.forward", "complex128", "float32"]),
    ("affine-object-x", lambda: affine().forward(F.astype(object)), DTypeError, ["Affine.forward", "object", "float64"]),
    ("affine-string-x", lambda: affine().forward(np.array([["1", "2", "3"]])), DTypeError, ["Affine.forward", "<U1", "float32"]),
    ("affine-int-W", lambda: Affine(np.ones((3, 2), int), np.zeros(2)), DTypeError, ["Affine", "W", "int64", "float32"]),
    ("affine-complex-b", lambda: Affine(np.ones((3, 2)), np.zeros(2, complex)), DTypeError, ["Affine", "b", "complex128", "float64"]),
    ("affine-b-shape", lambda: Affine(np.ones((3, 2)), np.zeros(3)), ShapeError, ["Affine", "b", "(2,)", "(3,)"]),
    ("affine-W-1d", lambda: Affine(np.ones(3), np.zeros(3)), ShapeError, ["Affine", "W", "2-D", "(3,)"]),
    ("affine-x-features", lambda: affine().forward(np.ones((2, 5))), ShapeError, ["Affine.forward", "3 features", "(2, 5)"]),
    ("affine-dout-shape", lambda: forwarded(affine(), F).backward(np.ones((3, 2))), ShapeError, ["Affine.backward", "(2, 2)", "(3, 2)"]),
    ("affine-dout-complex", lambda: forwarded(affine(), F).backward(np.ones((2, 2), complex)), DTypeError, ["Affine.backward", "dout", "complex128"]),
    ("affine-backward-first", lambda: affine().backward(np.ones((2, 2))), NotForwardedError, ["Affine.backward", "forward"]),
    ("affine-list-x", lambda: affine().forward([[1.0, 2.0, 3.0]]), DTypeError, ["Affine.forward", "x is a list", "expected an array"]),
    ("affine-number-x", lambda: affine().forward(3.0), DTypeError, ["Affine.forward", "x is a float", "expected an array"]),
    ("affine-dout-list", lambda: forwarded(affine(), F).backward([[1.0, 1.0]] * 2), DTypeError, ["Affine.backward", "dout is a list"]),
    # ---- activations ----
    ("relu-complex", lambda: Relu().forward(np.array([1 + 2j, -1j])), DTypeError, ["Relu.forward", "complex128", "float32"]),
    ("relu-dout-shape", lambda: forwarded(Relu(), F).backward(np.ones(3)), ShapeError, ["Relu.backward", "(2, 3)", "(3,)"]),
    ("relu-list", lambda: Relu().forward([1, -2]), DTypeError, ["Relu.forward", "x is a list", "expected an array"]),
    ("relu-tuple", lambda: Relu().forward((1.0, -2.0)), DTypeError, ["Relu.forward", "x is a tuple", "expected an array"]),
    ("relu-none", lambda: Relu().forward(None), DTypeError, ["Relu.forward", "x is a NoneType", "expected an array"]),
    ("sigmoid-list", lambda: Sigmoid().forward([1.0, -2.0]), DTypeError, ["Sigmoid.forward", "x is a list", "expected an array"]),
    ("tanh-dout-list", lambda: forwarded(Tanh(), F[0]).backward([1.0, 1.0, 1.0]), DTypeError, ["Tanh.backward", "dout is a list"]),
    ("softmax-list", lambda: Softmax().forward([[1.0, 2.0]]), DTypeError, ["Softmax.forward", "x is a list", "expected an array"]),
    ("flatten-list", lambda: Flatten().forward([[1.0, 2.0]]), DTypeError, ["Flatten.forward", "x is a list", "expected an array"]),
    ("dropout-list", lambda: Dropout(0.5, rng=0).forward([[1.0, 2.0]]), DTypeError, ["Dropout.forward", "x is a list"]),
    ("bn-list", lambda: bn(2).forward([[1.0, 2.0], [3.0, 4.0]]), DTypeError, ["BatchNormalization.forward", "x is a list"]),
    ("conv-list", lambda: conv().forward(images().tolist()), DTypeError, ["Convolution.forward", "x is a list"]),
    ("pool-list", lambda: Pooling(2, 2).forward(images().tolist()), DTypeError, ["Pooling.forward", "x is a list"]),
    ("leaky-relu-alpha", lambda: LeakyRelu(alpha=1.5), ValueError, ["LeakyRelu", "alpha", "[0, 1)", "1.5"]),
    ("leaky-relu-object", lambda: LeakyRelu().forward(F.astype(object)), DTypeError, ["LeakyRelu.forward", "object"]),
    ("sigmoid-object", lambda: Sigmoid().forward(F.astype(object)), DTypeError, ["Sigmoid.forward", "object", "float64"]),
    ("sigmoid-dout-shape", lambda: forwarded(Sigmoid(), F).backward(np.ones((3, 2))), ShapeError, ["Sigmoid.backward", "(2, 3)", "(3, 2)"]),
    ("tanh-complex", lambda: Tanh().forward(F * 1j), DTypeError, ["Tanh.forward", "complex128"]),
    ("softmax-complex", lambda: Softmax().forward(F * 1j), DTypeError, ["Softmax.forward", "complex128"]),
    ("flatten-scalar", lambda: Flatten().forward(np.float64(3.0)), ShapeError, ["Flatten.forward", "(N, ...)", "()"]),
    # ---- losses ----
    ("softmax-loss-label-high", lambda: SoftmaxWithLoss().forward(F, np.array([0, 5])), LabelError, ["SoftmaxWithLoss.forward", "[0, 2]", "5"]),
    ("softmax-loss-label-negative", lambda: SoftmaxWithLoss().forward(F, np.array([0, -1])), LabelError, ["SoftmaxWithLoss.forward", "[0, 2]", "-1"]),
    ("softmax-loss-float-labels", lambda: SoftmaxWithLoss().forward(F, np.array([0.0, 1.0])), LabelError, ["SoftmaxWithLoss.forward", "integers", "float64"]),
    ("softmax-loss-label-count", lambda: SoftmaxWithLoss().forward(F, np.array([0, 1, 2])), LabelError, ["SoftmaxWithLoss.forward", "2 integer labels", "(3,)"]),
    ("softmax-loss-one-label-for-two", lambda: SoftmaxWithLoss().forward(F, np.array([1])), LabelError, ["SoftmaxWithLoss.forward", "(2,)", "(1,)"]),
    ("softmax-loss-one-hot-sum", lambda: SoftmaxWithLoss().forward(F, np.full((2, 3), 0.5)), LabelError, ["SoftmaxWithLoss.forward", "one-hot", "sum to 1"]),
    ("softmax-loss-nan-one-hot", lambda: SoftmaxWithLoss().forward(F, np.full((2, 3), np.nan)), LabelError, ["SoftmaxWithLoss.forward", "one-hot"]),
    ("softmax-loss-complex-scores", lambda: SoftmaxWithLoss().forward(F * 1j, np.array([0, 1])), DTypeError, ["SoftmaxWithLoss.forward", "complex128"]),
    ("softmax-loss-3d-scores", lambda: SoftmaxWithLoss().forward(np.ones((2, 3, 4)), np.array([0, 1])), ShapeError, ["SoftmaxWithLoss.forward", "(N, classes)", "(2, 3, 4)"]),
    ("softmax-loss-nan-scores", lambda: SoftmaxWithLoss().forward(with_nan(F, (0, 0)), np.array([0, 1])), NonFiniteError, ["SoftmaxWithLoss.forward", "nan"]),
    ("softmax-loss-dout-array", lambda: forwarded(SoftmaxWithLoss(), F, np.array([0, 1])).backward(np.ones(2)), ShapeError, ["SoftmaxWithLoss.backward", "scalar", "(2,)"]),
    ("mse-shape", lambda: MeanSquaredError().forward(F, np.ones(3)), ShapeError, ["MeanSquaredError.forward", "(2, 3)", "(3,)"]),
    ("mse-complex-target", lambda: MeanSquaredError().forward(F, F * 1j), DTypeError, ["MeanSquaredError.forward", "t", "complex128"]),
    ("softmax-loss-list-scores", lambda: SoftmaxWithLoss().forward([[1.0, 2.0, 3.0]], [0]), DTypeError, ["SoftmaxWithLoss.forward", "x is a list", "expected an array"]),
    ("softmax-loss-dout-list", lambda: forwarded(SoftmaxWithLoss(), F, np.array([0, 1])).backward([1.0]), DTypeError, ["SoftmaxWithLoss.backward", "dout is a list"]),
    ("mse-list", lambda: MeanSquaredError().forward([1.0, 2.0], [1.0, 2.0]), DTypeError, ["MeanSquaredError.forward", "y is a list"]),
    # An empty batch's mean loss is 0/0; NumPy's guarded answer (-0.0) would read as a perfect score.
    ("softmax-loss-empty-batch", lambda: SoftmaxWithLoss().forward(np.ones((0, 3)), np.zeros(0, int)), ShapeError, ["SoftmaxWithLoss.forward", "empty batch", "(0, 3)"]),
    ("softmax-loss-empty-one-hot", lambda: SoftmaxWithLoss().forward(np.ones((0, 3)), np.zeros((0, 3))), ShapeError, ["SoftmaxWithLoss.forward", "empty batch"]),
    ("mse-empty-batch", lambda: MeanSquaredError().forward(np.ones((0, 3)), np.ones((0, 3))), ShapeError, ["MeanSquaredError.forward", "empty batch", "(0, 3)"]),
    # ---- batch normalization ----
    ("bn-train-batch-of-one", lambda: bn().forward(np.ones((1, 3))), ShapeError, ["BatchNormalization.forward", "more than 1 value", "(1, 3)"]),
    ("bn-train-empty-batch", lambda: bn().forward(np.ones((0, 3))), ShapeError, ["BatchNormalization.forward", "more than 1 value", "(0, 3)"]),
    ("bn-train-one-pixel-image", lambda: bn().forward(np.ones((1, 3, 1, 1))), ShapeError, ["BatchNormalization.forward", "(1, 3, 1, 1)"]),
    ("bn-features", lambda: bn().forward(np.ones((4, 5))), ShapeError, ["BatchNormalization", "(N, 3)", "(4, 5)"]),
    ("bn-momentum", lambda: bn(momentum=1.5), ValueError, ["BatchNormalization", "momentum", "[0, 1]", "1.5"]),
    ("bn-eps", lambda: bn(eps=0.0), ValueError, ["BatchNormalization", "eps", "positive", "0.0"]),
    ("bn-eps-inf", lambda: bn(eps=math.inf), ValueError, ["BatchNormalization", "eps", "positive finite", "inf"]),
    ("bn-int-gamma", lambda: BatchNormalization(np.ones(3, int), np.zeros(3)), DTypeError, ["BatchNormalization", "gamma", "int64", "float32"]),
    ("bn-beta-shape", lambda: BatchNormalization(np.ones(3), np.zeros(4)), ShapeError, ["BatchNormalization", "beta", "(3,)", "(4,)"]),
    ("bn-complex-x", lambda: bn().forward(F * 1j), DTypeError, ["BatchNormalization", "complex128"]),
    # ---- dropout ----
    ("dropout-ratio-one", lambda: Dropout(1.0), ValueError, ["Dropout", "dropout_ratio", "[0, 1)", "1.0"]),
    ("dropout-ratio-negative", lambda: Dropout(-0.1), ValueError, ["Dropout", "dropout_ratio", "[0, 1)", "-0.1"]),
    ("dropout-ratio-nan", lambda: Dropout(math.nan), ValueError, ["Dropout", "dropout_ratio", "nan"]),
    ("dropout-complex", lambda: Dropout(0.5, rng=0).forward(F * 1j), DTypeError, ["Dropout.forward", "complex128"]),
    ("dropout-fixed-mask-shape", lambda: setattr_then(Dropout(0.5), "fixed_mask", np.ones(3, bool)).forward(F), ShapeError, ["Dropout.forward", "fixed_mask", "(3,)", "(2, 3)"]),
    ("dropout-dout-shape", lambda: forwarded(Dropout(0.5, rng=0), F).backward(np.ones(3)), ShapeError, ["Dropout.backward", "(2, 3)", "(3,)"]),
    # ---- convolution and pooling ----
    ("conv-x-3d", lambda: conv().forward(np.ones((1, 5, 5))), ShapeError, ["Convolution.forward", "(N, C, H, W)", "(1, 5, 5)"]),
    ("conv-channels", lambda: conv().forward(images(channels=3)), ShapeError, ["Convolution.forward", "3 channels", "expects 1"]),
    ("conv-filter-too-big", lambda: conv(size=7).forward(images()), ShapeError, ["Convolution.forward", "7x7", "5x5"]),
    ("conv-stride-zero", lambda: conv(stride=0), ValueError, ["Convolution", "stride", "positive integer", "0"]),
    ("conv-stride-float", lambda: conv(stride=1.5), ValueError, ["Convolution", "stride", "1.5"]),
    ("conv-pad-negative", lambda: conv(pad=-1), ValueError, ["Convolution", "pad", "non-negative", "-1"]),
    ("conv-W-3d", lambda: Convolution(np.ones((2, 3, 3)), np.zeros(2)), ShapeError, ["Convolution", "W", "4-D", "(2, 3, 3)"]),
    ("conv-b-shape", lambda: Convolution(np.ones((2, 1, 3, 3)), np.zeros(3)), ShapeError, ["Convolution", "b", "(2,)", "(3,)"]),
    ("conv-int-W", lambda: Convolution(np.ones((2, 1, 3, 3), int), np.zeros(2)), DTypeError, ["Convolution", "W", "int64", "float32"]),
    ("conv-complex-x", lambda: conv().forward(images() * 1j), DTypeError, ["Convolution.forward", "complex128"]),
    ("conv-dout-shape", lambda: conv_backward((2, 2, 4, 4)), ShapeError, ["Convolution.backward", "(2, 2, 3, 3)", "(2, 2, 4, 4)"]),
    ("pool-window-too-big", lambda: Pooling(7, 7).forward(images()), ShapeError, ["Pooling.forward", "7x7", "5x5"]),
    ("pool-size-zero", lambda: Pooling(0, 2), ValueError, ["Pooling", "pool_h", "positive integer", "0"]),
    ("pool-pad-too-big", lambda: Pooling(2, 2, pad=2), ValueError, ["Pooling", "pad", "2x2", "pad=2"]),
    ("pool-stride-float", lambda: Pooling(2, 2, stride=1.5), ValueError, ["Pooling", "stride", "1.5"]),
    ("pool-object-x", lambda: Pooling(2, 2).forward(images().astype(object)), DTypeError, ["Pooling.forward", "object"]),
    ("avgpool-dout-shape", lambda: forwarded(AvgPooling(2, 2, stride=2), images()).backward(np.ones((2, 1, 3, 3))), ShapeError, ["AvgPooling.backward", "(2, 1, 2, 2)", "(2, 1, 3, 3)"]),
    ("im2col-stride-zero", lambda: im2col(images(), 3, 3, stride=0), ValueError, ["im2col", "stride", "positive integer", "0"]),
    ("col2im-input-shape", lambda: col2im(np.ones((9, 9)), (5, 5), 3, 3), ShapeError, ["col2im", "(N, C, H, W)", "(5, 5)"]),
    ("col2im-shape", lambda: col2im(np.ones((5, 9)), (1, 1, 5, 5), 3, 3), ShapeError, ["col2im", "(9, 9)", "(5, 9)"]),
    # ---- functions ----
    ("cee-label-high", lambda: cross_entropy_error(np.full((2, 3), 1 / 3), np.array([0, 3])), LabelError, ["cross_entropy_error", "[0, 2]", "3"]),
    ("cee-label-negative", lambda: cross_entropy_error(np.full((2, 3), 1 / 3), np.array([0, -1])), LabelError, ["cross_entropy_error", "[0, 2]", "-1"]),
    ("cee-label-count", lambda: cross_entropy_error(np.full((2, 3), 1 / 3), np.array([1])), LabelError, ["cross_entropy_error", "(2,)", "(1,)"]),
    ("cee-float-labels", lambda: cross_entropy_error(np.full((2, 3), 1 / 3), np.array([0.0, 1.0])), LabelError, ["cross_entropy_error", "integers", "float64"]),
    ("mse-function-shape", lambda: mean_squared_error(np.ones(10), np.ones((2, 10))), ShapeError, ["mean_squared_error", "(10,)", "(2, 10)"]),
    ("cee-empty-batch", lambda: cross_entropy_error(np.ones((0, 3)), np.zeros(0, int)), ShapeError, ["cross_entropy_error", "empty batch", "(0, 3)"]),
    ("mse-function-empty", lambda: mean_squared_error(np.ones((0, 10)), np.ones((0, 10))), ShapeError, ["mean_squared_error", "empty batch"]),
    ("cee-list", lambda: cross_entropy_error([[0.5, 0.5]], [0]), DTypeError, ["cross_entropy_error", "y is a list", "expected an array"]),
    ("mse-function-lists", lambda: mean_squared_error([0.5, 0.5], [0.0, 1.0]), DTypeError, ["mean_squared_error", "y is a list"]),
    ("softmax-function-list", lambda: softmax([1.0, 2.0]), DTypeError, ["softmax", "x is a list", "expected an array"]),
    ("sigmoid-function-list", lambda: sigmoid([1.0, 2.0]), DTypeError, ["sigmoid", "x is a list"]),
    # ---- gradients ----
    ("numgrad-int", lambda: numerical_gradient(lambda x: (x * x).sum(), np.array([1, 2, 3])), DTypeError, ["numerical_gradient", "floating-point", "int64"]),
    ("numgrad-bool", lambda: numerical_gradient(lambda x: x.sum(), np.array([True])), DTypeError, ["numerical_gradient", "floating-point", "bool"]),
    ("numgrad-h-zero", lambda: numerical_gradient(lambda x: x.sum(), np.ones(3), h=0), ValueError, ["numerical_gradient", "h", "positive", "0"]),
    ("numgrad-h-nan", lambda: numerical_gradient(lambda x: x.sum(), np.ones(3), h=math.nan), ValueError, ["numerical_gradient", "h", "nan"]),
    ("numgrad-h-below-float32-resolution", lambda: numerical_gradient(lambda x: x.sum(), np.full(3, 100.0, np.float32), h=1e-6), ValueError, ["numerical_gradient", "h=1e-06", "float32", "100.0"]),
    ("gradcheck-int-input", gradcheck_int_input, DTypeError, ["gradcheck", "nothing to check", "int64"]),
    ("gradcheck-wrt-int", lambda: gradcheck(MulLayer(), np.ones(2), np.array([1, 2]), wrt=[1]), DTypeError, ["gradcheck", "input 1", "int64"]),
    ("gradcheck-wrt-range", lambda: gradcheck(Relu(), np.ones(2), wrt=[3]), ValueError, ["gradcheck", "wrt", "3", "1 inputs"]),
    ("gradcheck-h-negative", lambda: gradcheck(Relu(), np.ones(2), h=-1e-6), ValueError, ["gradcheck", "h", "-1e-06"]),
    ("compare-gradients-shape", lambda: compare_gradients("W", np.ones(3), np.ones(4)), ValueError, ["'W'", "(3,)", "(4,)"]),
    # ---- optimizers: hyperparameters ----
    ("sgd-lr-zero", lambda: SGD(lr=0), ValueError, ["SGD", "lr", "positive", "0"]),
    ("sgd-lr-negative", lambda: SGD(lr=-0.1), ValueError, ["SGD", "lr", "positive", "-0.1"]),
    ("sgd-lr-nan", lambda: SGD(lr=math.nan), ValueError, ["SGD", "lr", "nan"]),
    ("sgd-lr-inf", lambda: SGD(lr=math.inf), ValueError, ["SGD", "lr", "finite", "inf"]),
    ("sgd-lr-string", lambda: SGD(lr="0.1"), TypeError, ["SGD", "lr", "'0.1'"]),
    ("sgd-lr-set-later", lambda: setattr(SGD(), "lr", 0.0), ValueError, ["SGD", "lr", "0.0"]),
    ("momentum-one", lambda: Momentum(momentum=1.0), ValueError, ["Momentum", "momentum", "[0, 1)", "1.0"]),
    ("momentum-negative", lambda: Momentum(momentum=-0.1), ValueError, ["Momentum", "momentum", "[0, 1)", "-0.1"]),
    ("nesterov-momentum", lambda: Nesterov(momentum=1.2), ValueError, ["Nesterov", "momentum", "[0, 1)", "1.2"]),
    ("adam-beta1-one", lambda: Adam(beta1=1.0), ValueError, ["Adam", "beta1", "[0, 1)", "1.0"]),
    ("adam-beta2-big", lambda: Adam(beta2=1.5), ValueError, ["Adam", "beta2", "[0, 1)", "1.5"]),
    ("adam-eps-zero", lambda: Adam(eps=0.0), ValueError, ["Adam", "eps", "positive", "0.0"]),
    ("adam-torch-compatible", lambda: Adam(torch_compatible="yes"), TypeError, ["Adam", "torch_compatible", "'yes'"]),
    ("rmsprop-decay-one", lambda: RMSprop(decay_rate=1.0), ValueError, ["RMSprop", "decay_rate", "[0, 1)", "1.0"]),
    ("adagrad-eps-negative", lambda: AdaGrad(eps=-1.0), ValueError, ["AdaGrad", "eps", "positive", "-1.0"]),
    ("weight-decay-negative", lambda: SGD(weight_decay=-0.1), ValueError, ["SGD", "weight_decay", "non-negative", "-0.1"]),
    ("make-optimizer-unknown", lambda: make_optimizer("adamw"), ValueError, ["'adamw'", "sgd, momentum"]),
    ("make-optimizer-keyword", lambda: make_optimizer("sgd", momentum=0.9), TypeError, ["SGD", "momentum", "weight_decay"]),
    # ---- optimizers: update and state ----
    ("update-grad-shape", lambda: SGD().update({"W": np.ones((2, 3))}, {"W": np.ones((3, 2))}), ShapeError, ["SGD", "'W'", "(3, 2)", "(2, 3)"]),
    ("update-missing-grad", lambda: SGD().update({"W": np.ones(2), "b": np.ones(2)}, {"W": np.ones(2)}), ValueError, ["SGD", "no gradient", "'b'"]),
    ("update-extra-grad", lambda: SGD().update({"W": np.ones(2)}, {"W": np.ones(2), "V": np.ones(2)}), ValueError, ["SGD", "'V'", "no matching parameter"]),
    ("update-int-param", lambda: SGD().update({"W": np.ones(2, int)}, {"W": np.ones(2)}), DTypeError, ["SGD", "'W'", "int64", "floating-point"]),
    ("load-state-nan", lambda: Momentum().load_state_dict(saved_state(Momentum(), **{"velocity/W": np.full((2, 3), np.nan)})), CheckpointError, ["Momentum.load_state_dict", "velocity/W", "NaN"]),
    ("load-state-int", lambda: Adam().load_state_dict(saved_state(Adam(), **{"first_moment/W": np.ones((2, 3), int)})), CheckpointError, ["Adam.load_state_dict", "first_moment/W", "int64"]),
    ("load-state-other-optimizer", lambda: Adam().load_state_dict(SGD().state_dict()), CheckpointError, ["Adam.load_state_dict", "'SGD'", "'Adam'"]),
    ("load-state-shape", lambda: Momentum().load_state_dict(saved_state(Momentum()), params={"W": np.ones((3, 2))}), CheckpointError, ["Momentum.load_state_dict", "'W'", "(2, 3)", "(3, 2)"]),
    ("load-state-bad-lr", lambda: SGD().load_state_dict({**SGD().state_dict(), "lr": -1.0}), CheckpointError, ["SGD.load_state_dict", "lr", "-1.0"]),
    # ---- networks ----
    ("init-std-inf", lambda: TwoLayerNet(4, 3, 2, weight_init_std=math.inf), ValueError, ["weight_init_std", "positive finite", "inf"]),
    ("init-std-nan", lambda: TwoLayerNet(4, 3, 2, weight_init_std=math.nan), ValueError, ["weight_init_std", "positive finite", "nan"]),
    ("init-std-zero", lambda: TwoLayerNet(4, 3, 2, weight_init_std=0.0), ValueError, ["weight_init_std", "positive", "0.0"]),
    ("init-std-negative", lambda: MultiLayerNet(4, [3], 2, weight_init_std=-0.01), ValueError, ["weight_init_std", "positive", "-0.01"]),
    ("init-std-unknown", lambda: MultiLayerNet(4, [3], 2, weight_init_std="lecun"), ValueError, ["weight initialisation", "'lecun'", "he"]),
    ("two-layer-size-zero", lambda: TwoLayerNet(4, 0, 2), ValueError, ["TwoLayerNet", "hidden_size", "positive integer", "0"]),
    ("two-layer-size-float", lambda: TwoLayerNet(4, 10.0, 2), ValueError, ["TwoLayerNet", "hidden_size", "positive integer", "10.0"]),
    ("two-layer-size-bool", lambda: TwoLayerNet(True, 3, 2), ValueError, ["TwoLayerNet", "input_size", "True"]),
    ("multi-layer-activation", lambda: MultiLayerNet(4, [3], 2, activation="gelu"), ValueError, ["MultiLayerNet", "activation", "'gelu'", "relu"]),
    ("multi-layer-sizes", lambda: MultiLayerNet(4, [3, -1], 2), ValueError, ["MultiLayerNet", "positive integers", "-1"]),
    ("multi-layer-size-list-int", lambda: MultiLayerNet(4, 3, 2), TypeError, ["MultiLayerNet", "hidden_size_list", "3"]),
    ("multi-layer-decay-nan", lambda: MultiLayerNet(4, [3], 2, weight_decay_lambda=math.nan), ValueError, ["weight_decay_lambda", ">= 0", "nan"]),
    ("multi-layer-decay-negative", lambda: MultiLayerNet(4, [3], 2, weight_decay_lambda=-1.0), ValueError, ["weight_decay_lambda", ">= 0", "-1.0"]),
    ("multi-layer-dropout", lambda: MultiLayerNet(4, [3], 2, dropout_ratio=1.0), ValueError, ["Dropout", "dropout_ratio", "[0, 1)", "1.0"]),
    ("multi-layer-int-dtype", lambda: MultiLayerNet(4, [3], 2, dtype=np.int32), DTypeError, ["Affine", "W", "int32", "float64"]),
    ("multi-layer-complex-dtype", lambda: TwoLayerNet(4, 3, 2, dtype=np.complex128), DTypeError, ["Affine", "W", "complex128", "float32"]),
    ("conv-net-param-key", lambda: SimpleConvNet(conv_param={"filters": 3}), ValueError, ["SimpleConvNet", "conv_param", "'filters'", "filter_num"]),
    ("conv-net-filter-too-big", lambda: SimpleConvNet(input_dim=(1, 4, 4), conv_param={"filter_size": 5}), ValueError, ["SimpleConvNet", "5x5", "4x4"]),
    ("conv-net-input-dim", lambda: SimpleConvNet(input_dim=(28, 28)), ValueError, ["SimpleConvNet", "input_dim", "(28, 28)"]),
    ("conv-net-input-dim-float", lambda: SimpleConvNet(input_dim=(1, 28.0, 28)), ValueError, ["SimpleConvNet", "input_dim", "28.0"]),
    ("net-accuracy-lengths", lambda: net().accuracy(np.ones((5, 4)), np.array([0, 1, 0])), LabelError, ["accuracy", "5 samples", "3 targets"]),
    ("net-accuracy-batch-negative", lambda: net().accuracy(np.ones((5, 4)), np.zeros(5, int), batch_size=-1), ValueError, ["accuracy", "batch_size", "positive integer", "-1"]),
    ("net-predict-complex", lambda: net().predict(np.ones((2, 4)) * 1j), DTypeError, ["TwoLayerNet.forward", "complex128", "float64"]),
    ("net-predict-strings", lambda: net().predict(np.array([["1", "2", "3", "4"]])), DTypeError, ["TwoLayerNet.forward", "<U1"]),
    ("net-predict-features", lambda: net().predict(np.ones((2, 5))), ShapeError, ["Affine.forward", "4 features", "(2, 5)"]),
    ("net-gradient-labels", lambda: net().gradient(np.ones((2, 4)), np.array([0, 2])), LabelError, ["SoftmaxWithLoss.forward", "[0, 1]", "2"]),
    ("net-load-shape", lambda: net().load_state_dict(net_state(W1=np.ones((3, 4)))), CheckpointError, ["W1", "(4, 3)", "(3, 4)"]),
    ("net-load-missing", lambda: net().load_state_dict({k: v for k, v in net_state().items() if k != "b2"}), CheckpointError, ["TwoLayerNet", "missing keys", "b2"]),
    ("net-load-complex", lambda: net().load_state_dict(net_state(W1=np.ones((4, 3), complex))), CheckpointError, ["load_state_dict", "W1", "complex128"]),
    ("net-load-nan", lambda: net().load_state_dict(net_state(b1=np.full(3, np.nan))), CheckpointError, ["load_state_dict", "b1", "NaN"]),
    ("net-load-strings", lambda: net().load_state_dict(net_state(b2=np.array(["1", "2"]))), CheckpointError, ["load_state_dict", "b2", "<U1"]),
    ("net-params-shape", lambda: net().params.__setitem__("W1", np.ones((3, 4))), ShapeError, ["W1", "(4, 3)", "(3, 4)"]),
    ("net-params-complex", lambda: net().params.__setitem__("b1", np.zeros(3, complex)), DTypeError, ["params['b1']", "float64", "complex128"]),
    ("net-params-int", lambda: net().params.__setitem__("W2", np.zeros((3, 2), int)), DTypeError, ["params['W2']", "float32", "int64"]),
    ("sequential-duplicate-names", lambda: Sequential([("A", Relu()), ("A", Relu())]), ValueError, ["'A'", "unique"]),
    # ---- data: IDX files ----
    ("idx-not-idx", lambda: read_idx(idx_file(b"PK\x03\x04 not an idx file")), DataError, ["bad.idx", "0x00 0x00", "0x50 0x4b"]),
    ("idx-truncated", lambda: read_idx(idx_file(idx_bytes(np.ones((3, 4), np.uint8))[:-2])), DataError, ["bad.idx", "truncated", "12 bytes", "found 10"]),
    ("idx-trailing", lambda: read_idx(idx_file(idx_bytes(np.ones(3, np.uint8)) + b"xx")), DataError, ["bad.idx", "trailing", "3 bytes", "found 5"]),
    ("idx-dtype-code", lambda: read_idx(idx_file(b"\0\0\x07\x01\0\0\0\0")), DataError, ["bad.idx", "0x07", "0x08 (uint8)"]),
    ("idx-corrupt-gzip", lambda: read_idx(idx_file(gzip.compress(b"\0\0\x08\x01\0\0\0\x01x")[:-6])), DataError, ["bad.idx", "gzip"]),
    ("idx-missing", lambda: read_idx(tmp() / "absent.idx"), DataError, ["absent.idx", "cannot read"]),
    ("idx-nan", lambda: read_idx(idx_file(idx_bytes(with_nan(np.ones((2, 2), np.float32), (1, 1))))), DataError, ["bad.idx", "NaN", "(1, 1)"]),
    ("idx-write-complex", lambda: write_idx(tmp() / "c.idx", np.ones(2, complex)), DTypeError, ["write_idx", "complex128", "uint8"]),
    ("mnist-label-range", lambda: load_unverified(dataset(train_labels=np.array([0, 1, 12, 3], np.uint8))), DataError, ["train-labels-idx1-ubyte.gz", "0..9", "12"]),
    ("mnist-label-count", lambda: load_unverified(dataset(train_labels=np.array([0, 1, 2], np.uint8))), DataError, ["train-labels-idx1-ubyte.gz", "3 labels", "4 images"]),
    ("mnist-image-shape", lambda: load_unverified(dataset(train_images=np.zeros((4, 20, 20), np.uint8))), DataError, ["train-images-idx3-ubyte.gz", "(N, 28, 28)", "(4, 20, 20)"]),
    ("mnist-int-dtype", lambda: load_mnist(dtype=np.int32, download=False), DTypeError, ["MNIST", "dtype", "int32"]),
    ("mnist-decompressed-changed-label", decompressed_with_changed_label, DataError, ["train-labels-idx1-ubyte", "sha256 mismatch", "expected", "found"]),
    ("mnist-archive-size", wrong_size_archive, DataError, ["t10k-labels-idx1-ubyte.gz", "wrong size", "bytes"]),
    ("mnist-not-found", load_mnist_from_empty_folder, DataError, ["MNIST", "train-images-idx3-ubyte.gz", "not found", "data_dir"]),
    ("fetch-unknown-key", lambda: fetch_file(MNIST, "bogus", download=False), DataError, ["fetch_file", "MNIST", "'bogus'", "'train_images'", "'test_labels'"]),
    # ---- evaluation ----
    ("evaluate-batch-zero", lambda: evaluate(net(), *blobs(), batch_size=0), ValueError, ["evaluate", "batch_size", "positive integer", "0"]),
    ("evaluate-batch-negative", lambda: evaluate(net(), *blobs(), batch_size=-5), ValueError, ["evaluate", "batch_size", "-5"]),
    ("evaluate-batch-float", lambda: evaluate(net(), *blobs(), batch_size=10.5), ValueError, ["evaluate", "batch_size", "10.5"]),
    ("evaluate-lengths", lambda: evaluate(net(), blobs()[0], blobs()[1][:10]), LabelError, ["evaluate", "60 samples", "10 targets"]),
    ("evaluate-empty", lambda: evaluate(net(), np.ones((0, 4)), np.zeros(0, int)), ValueError, ["evaluate", "empty", "at least 1", "got 0"]),
    ("predict-labels-batch-zero", lambda: predict_labels(net(), blobs()[0], batch_size=0), ValueError, ["predict_labels", "batch_size", "0"]),
    ("confusion-negative", lambda: confusion_matrix(np.array([0, -1]), np.array([0, 1]), 3), LabelError, ["confusion_matrix", "true", "[0, 2]", "-1"]),
    ("confusion-too-high", lambda: confusion_matrix(np.array([0, 1]), np.array([0, 3]), 3), LabelError, ["confusion_matrix", "predicted", "[0, 2]", "3"]),
    ("confusion-classes-zero", lambda: confusion_matrix(np.array([0]), np.array([0]), 0), ValueError, ["confusion_matrix", "classes", "positive integer", "0"]),
    ("confusion-lengths", lambda: confusion_matrix(np.array([0, 1, 2]), np.array([0, 1]), 3), LabelError, ["confusion_matrix", "(3,)", "(2,)"]),
    # ---- training ----
    ("trainer-epochs-zero", lambda: Trainer(net(), SGD(), epochs=0), ValueError, ["Trainer", "epochs", "positive integer", "0"]),
    ("trainer-batch-float", lambda: Trainer(net(), SGD(), batch_size=2.5), ValueError, ["Trainer", "batch_size", "positive integer", "2.5"]),
    ("trainer-seed-negative", lambda: Trainer(net(), SGD(), seed=-1), ValueError, ["Trainer", "seed", "non-negative", "-1"]),
    ("trainer-empty", lambda: trainer_fit(np.ones((0, 4)), np.zeros(0, int)), ValueError, ["Trainer.fit", "x_train", "at least 1", "got 0"]),
    ("trainer-lengths", lambda: trainer_fit(blobs()[0], blobs()[1][:50]), LabelError, ["Trainer.fit", "60 samples", "50 targets"]),
    ("trainer-nan-data", lambda: trainer_fit(with_nan(blobs()[0], (17, 2)), blobs()[1]), DataError, ["Trainer.fit", "x_train", "NaN", "sample 17"]),
    ("trainer-inf-test-data", lambda: trainer_fit(*blobs(), with_nan(blobs()[0], (3, 0)), blobs()[1]), DataError, ["Trainer.fit", "x_test", "sample 3"]),
    ("trainer-test-without-labels", lambda: trainer_fit(*blobs(), blobs()[0]), ValueError, ["Trainer.fit", "x_test", "t_test"]),
    ("trainer-nan-weights", lambda: Trainer(setparam(net(), "W2", np.nan), SGD(), epochs=1, verbose=0).fit(*blobs()), NonFiniteError, ["W2", "before training"]),
    ("trainer-diverges", lambda: trainer_fit(*blobs(), optimizer=SGD(1e30)), NonFiniteError, ["epoch 1, step", "diverged", "learning rate (1e+30)", "1e+29"]),
    # ---- schedules ----
    ("schedule-unknown", lambda: make_schedule("linear", 0.1, 10), ValueError, ["'linear'", "constant", "cosine"]),
    ("schedule-epochs-zero", lambda: make_schedule("cosine", 0.1, 0), ValueError, ["schedule", "epochs", "positive integer", "0"]),
    ("schedule-lr-zero", lambda: make_schedule("constant", 0.0, 10), ValueError, ["schedule", "lr", "positive", "0.0"]),
    ("schedule-lr-nan", lambda: schedules.cosine(math.nan, 10), ValueError, ["cosine", "lr", "nan"]),
    ("schedule-step-every-zero", lambda: schedules.step(0.1, every=0), ValueError, ["step", "every", "positive integer", "0"]),
    ("schedule-step-factor", lambda: schedules.step(0.1, every=2, factor=0.0), ValueError, ["step", "factor", "(0, 1]", "0.0"]),
    ("schedule-final-fraction", lambda: schedules.cosine(0.1, 10, final_fraction=2.0), ValueError, ["cosine", "final_fraction", "[0, 1]", "2.0"]),
]


def setattr_then(obj: Any, name: str, value: Any) -> Any:
    setattr(obj, name, value)
    return obj


def setparam(network: Any, key: str, value: float) -> Any:
    network.params[key][...] = value
    return network


def outcome(call: Callable[[], Any], expected: type, substrings: list[str], strict: bool = True) -> str | None:
    """None when the case is handled well; otherwise what went wrong, for the failure message.

    ``strict`` also demands an exception from ``chainrule.errors`` (not a plain ``ValueError``).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy's overflow warnings are not what we judge
            result = call()
    except Exception as error:  # noqa: BLE001 - the corpus judges whatever comes out
        message = str(error)
        if not isinstance(error, expected):
            return f"raised {type(error).__name__} (expected {expected.__name__}): {message}"
        if strict and not isinstance(error, errors.ChainruleError):
            return f"raised a plain {type(error).__name__}, not a chainrule error: {message}"
        missing = [part for part in substrings if part not in message]
        if missing:
            return f"message lacks {missing}: {message}"
        return None
    return f"no error; returned {type(result).__name__}"


@pytest.mark.parametrize("name, call, expected, substrings", CASES, ids=[case[0] for case in CASES])
def test_bad_input_is_a_clear_error(name, call, expected, substrings):
    problem = outcome(call, expected, substrings)
    assert problem is None, f"{name}: {problem}"


def test_the_corpus_is_large_and_its_ids_unique():
    assert len(CASES) >= 100
    assert len({case[0] for case in CASES}) == len(CASES)


def tally(strict: bool = True) -> int:
    """Print every case that is not handled well and return how many are.

    Run against any version of the library to measure it (e.g. the code before a fix):
    ``PYTHONPATH=<that version's src> python tests/test_bad_input_library.py [--lenient]``.
    """
    handled = 0
    for name, call, expected, substrings in CASES:
        problem = outcome(call, expected, substrings, strict)
        if problem is None:
            handled += 1
        else:
            print(f"{name}: {problem}"[:300])
    print(f"handled well: {handled} of {len(CASES)} ({'chainrule error class required' if strict else 'any error of the expected class'})")
    return handled


if __name__ == "__main__":
    import sys

    try:
        tally(strict="--lenient" not in sys.argv)
    finally:
        while _SCRATCH:
            _SCRATCH.pop().cleanup()
