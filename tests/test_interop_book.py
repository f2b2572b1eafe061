"""The book's trained DeepConvNet (``ch08/deep_convnet_params.pkl``) leaves chainrule as ONNX and scores
the book's 0.9797 on the MNIST test set in onnxruntime."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from book_support import BOOK, HAVE_BOOK  # noqa: E402
from chainrule.interop import from_onnx, to_onnx  # noqa: E402
from chainrule.nets import DeepConvNet  # noqa: E402
from interop_support import HAVE_MNIST, max_difference, mnist_images  # noqa: E402

PARAMS = BOOK / "ch08" / "deep_convnet_params.pkl"
pytestmark = [
    pytest.mark.skipif(not HAVE_BOOK or not PARAMS.is_file(), reason=f"the book's code is not at {BOOK} (set CHAINRULE_BOOK_DIR)"),
    pytest.mark.skipif(not HAVE_MNIST, reason="set CHAINRULE_DATA to the folder holding mnist/*.gz to run"),
]


def test_books_deep_convnet_scores_09797_in_onnxruntime(tmp_path):
    from chainrule.data import load_mnist

    net = DeepConvNet()
    net.load_params(PARAMS)  # the book's dropout: a Mul by 0.5 at inference
    path = tmp_path / "deep_convnet.onnx"
    # onnxruntime has no float64 convolution on the CPU: the graph is float32 (the weights rounded once).
    model = to_onnx(net, path, input_shape=(1, 28, 28), dtype=np.float32)
    assert sum(node.op_type == "Mul" for node in model.graph.node) == 2
    _, (x_test, t_test) = load_mnist(flatten=False, dtype=np.float32, download=False)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    started = time.perf_counter()
    logits = np.concatenate([session.run(None, {"images": x_test[i:i + 1000]})[0] for i in range(0, len(x_test), 1000)])
    seconds = time.perf_counter() - started
    accuracy = float((logits.argmax(axis=1) == t_test).mean())
    assert len(t_test) == 10_000 and accuracy == pytest.approx(0.9797, abs=1e-9), f"{accuracy} in {seconds:.1f} s"

    # The float32 graph against chainrule's float32 network with the same weights, on a few hundred digits.
    net32 = DeepConvNet(dtype=np.float32)
    net32.load_params(PARAMS)
    assert max_difference(logits[:300], net32.predict(x_test[:300])) <= 1e-5
    # And back: the imported graph is the book's network again, in chainrule's layers.
    imported = from_onnx(path)
    x, _ = mnist_images(50)
    assert max_difference(imported.predict(x.astype(np.float32)), net32.predict(x.astype(np.float32))) == 0
