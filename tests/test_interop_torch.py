"""Models trained elsewhere, studied in chainrule: PyTorch twins exported by ``torch.onnx.export``.

The imported network's logits, and the gradients its backward pass gives for the input and every
parameter, must equal PyTorch's forward and autograd to 1e-5 (float32) on the same batch of digits.
A PyTorch ``state_dict`` saved with safetensors loads into the twin chainrule network by the
documented mapping (``nn.Linear.weight`` transposed).
"""

from __future__ import annotations

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
safetensors_torch = pytest.importorskip("safetensors.torch")

from torch import nn  # noqa: E402

from chainrule.interop import load_torch_safetensors, read_onnx, torch_state_to_chainrule  # noqa: E402
from chainrule.layers import (  # noqa: E402
    Affine, AvgPooling, BatchNormalization, Convolution, Flatten, Pooling, Relu, Sigmoid,
)
from chainrule.nets import MultiLayerNet, Sequential  # noqa: E402
from interop_support import max_difference, mnist_images  # noqa: E402

TOLERANCE = 1e-5
# The legacy (TorchScript) exporter, which needs no onnxscript, says it is deprecated on every call.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def torch_mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 32), nn.ReLU(),
                         nn.Dropout(0.5), nn.Linear(32, 10))


def torch_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),            # 28 -> 14
        nn.Conv2d(8, 12, 3, stride=2, padding=1), nn.BatchNorm2d(12), nn.ReLU(), nn.AvgPool2d(2),  # 14 -> 7 -> 3
        nn.Flatten(), nn.Linear(12 * 3 * 3, 32), nn.BatchNorm1d(32), nn.Sigmoid(), nn.Linear(32, 10),
    )


def _twin(factory) -> nn.Module:
    """The PyTorch model trained for a few steps on real digits (batch norm's statistics moved with it)."""
    torch.manual_seed(0)
    model = factory()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    x, t = mnist_images(256)
    x, t = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(t).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for step in range(8):
        batch = slice(32 * step, 32 * step + 32)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x[batch]), t[batch]).backward()
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)  # the tests compare the gradients of their own batch
    return model.eval()


def _export(model: nn.Module, example: torch.Tensor) -> bytes:
    buffer = io.BytesIO()
    # do_constant_folding=False keeps BatchNormalization apart from the Conv before it, so that its
    # parameters have gradients of their own to compare.
    torch.onnx.export(model, example, buffer, dynamo=False, input_names=["images"], output_names=["logits"],
                      dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13,
                      do_constant_folding=False)
    return buffer.getvalue()


def _batch() -> tuple[np.ndarray, np.ndarray]:
    """32 digits the twins were not trained on."""
    x, t = mnist_images(288)
    return x[256:].astype(np.float32), t[256:]


@pytest.mark.parametrize("factory", [torch_mlp, torch_cnn], ids=["mlp", "cnn-batchnorm"])
def test_imported_torch_model_gives_torchs_logits_and_gradients(factory, tmp_path):
    import onnx

    model = _twin(factory)
    x, t = _batch()
    path = tmp_path / "model.onnx"
    path.write_bytes(_export(model, torch.from_numpy(x[:2])))
    imported = read_onnx(path)
    net = imported.net
    assert imported.dtype == "float32" and imported.input_shape == (1, 28, 28)
    assert [n.op_type for n in onnx.load(path).graph.node if n.op_type == "Gemm"]  # nn.Linear: Gemm with transB=1

    # Forward: the same logits.
    x_torch = torch.from_numpy(x).requires_grad_(True)
    logits = model(x_torch)
    net.eval()
    scores = net.forward(x)
    assert scores.dtype == np.float32
    assert max_difference(scores, logits.detach().numpy()) <= TOLERANCE

    # Backward: the summed cross-entropy's gradients (O(1), not O(1/N)) for the input and every
    # parameter. chainrule's loss is the mean; backward(dout=N) is the chain rule for N times it.
    loss = nn.functional.cross_entropy(logits, torch.from_numpy(t).long(), reduction="sum")
    loss.backward()
    assert abs(len(t) * float(net.last_layer.forward(scores, t)) - loss.item()) <= TOLERANCE * max(1.0, loss.item())
    grad_x = net.backward(np.float32(len(t)))
    assert max_difference(grad_x, x_torch.grad.numpy()) <= TOLERANCE
    torch_grads = [p.grad.numpy() for p in model.parameters()]
    ours = [layer.grads[slot] for layer in net.layers.values() for slot in layer.params]
    assert len(ours) == len(torch_grads)
    for mine, theirs in zip(ours, torch_grads):
        theirs = theirs.T if theirs.ndim == 2 else theirs  # nn.Linear's (out, in) against Affine's (in, out)
        assert mine.shape == theirs.shape and mine.dtype == np.float32
        assert max_difference(mine, theirs) <= TOLERANCE * max(1.0, np.abs(theirs).max())


def test_torchs_default_export_with_batch_norm_folded_into_conv_imports_too(tmp_path):
    """With constant folding (the default), the exporter folds each BatchNorm2d into its Conv."""
    model = _twin(torch_cnn)
    x, _ = _batch()
    buffer = io.BytesIO()
    torch.onnx.export(model, torch.from_numpy(x[:2]), buffer, dynamo=False, input_names=["images"],
                      output_names=["logits"], dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    net = read_onnx(__import__("onnx").load_from_string(buffer.getvalue())).net
    assert sum(isinstance(layer, BatchNormalization) for layer in net.layers.values()) == 1  # the 1-D one remains
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert max_difference(net.predict(x), expected) <= TOLERANCE


def _chainrule_twin_of_cnn(dtype=np.float32) -> Sequential:
    """``torch_cnn`` built from chainrule's layers by hand, weights zero until loaded."""
    zeros = lambda *shape: np.zeros(shape, dtype)
    ones = lambda n: np.ones(n, dtype)
    return Sequential([
        Convolution(zeros(8, 1, 3, 3), zeros(8), pad=1), BatchNormalization(ones(8), zeros(8), eps=1e-5), Relu(),
        Pooling(2, 2, stride=2),
        Convolution(zeros(12, 8, 3, 3), zeros(12), stride=2, pad=1), BatchNormalization(ones(12), zeros(12), eps=1e-5),
        Relu(), AvgPooling(2, 2, stride=2),
        Flatten(), Affine(zeros(108, 32), zeros(32)), BatchNormalization(ones(32), zeros(32), eps=1e-5),
        Sigmoid(), Affine(zeros(32, 10), zeros(10)),
    ])


@pytest.mark.parametrize("case", ["mlp", "cnn"])
def test_torch_state_dict_in_safetensors_loads_into_the_twin(case, tmp_path):
    model = _twin(torch_mlp if case == "mlp" else torch_cnn)
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(model.state_dict(), str(path))
    if case == "mlp":
        net = MultiLayerNet(784, [64, 32], 10, dropout_ratio=0.5, dtype=np.float32)
    else:
        net = _chainrule_twin_of_cnn()
    load_torch_safetensors(net, path)
    x, _ = _batch()
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert max_difference(net.predict(x), expected) <= TOLERANCE
    first = model.state_dict()["1.weight" if case == "mlp" else "0.weight"].numpy()
    np.testing.assert_array_equal(net.params["W1"], first.T if case == "mlp" else first)


def test_torch_state_dict_that_does_not_fit_is_refused():
    from chainrule.errors import CheckpointError

    state = {k: v.numpy() for k, v in _twin(torch_mlp).state_dict().items()}
    with pytest.raises(CheckpointError, match="modules with weights"):
        torch_state_to_chainrule(state, MultiLayerNet(784, [64], 10))
    with pytest.raises(CheckpointError, match="does not fit"):
        torch_state_to_chainrule(state, MultiLayerNet(784, [64, 16], 10))
