"""Convolution, pooling, Flatten and im2col: gradients, shapes, the textbook's layouts, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.errors import NotForwardedError, ShapeError
from chainrule.layers import AvgPooling, Convolution, Flatten, Pooling, col2im, conv_output_size, im2col
from helpers import check_layer, check_no_mutation

# (x shape, W shape, stride, pad): odd sizes, non-square kernels, strides that do not divide.
CONV_CASES = [
    ((1, 1, 4, 4), (1, 1, 2, 2), 1, 0),
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1),
    ((2, 2, 7, 6), (3, 2, 3, 2), 2, 0),
    ((1, 3, 6, 5), (2, 3, 2, 3), 2, 2),
    ((2, 1, 5, 5), (2, 1, 5, 5), 1, 0),
    ((3, 2, 8, 7), (2, 2, 3, 3), 3, 1),
]
# (x shape, pool_h, pool_w, stride, pad)
POOL_CASES = [
    ((1, 1, 4, 4), 2, 2, 2, 0),
    ((2, 3, 5, 5), 2, 2, 1, 0),
    ((2, 2, 7, 6), 3, 2, 2, 1),
    ((1, 3, 6, 5), 3, 3, 2, 1),
    ((2, 2, 5, 7), 2, 3, 3, 0),
]


def conv(W_shape, seed=0, stride=1, pad=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return Convolution(rng.standard_normal(W_shape).astype(dtype), rng.standard_normal(W_shape[0]).astype(dtype), stride, pad)


def im2col_by_loops(x, filter_h, filter_w, stride, pad):
    """The definition, one output pixel at a time: row (n, y, x) holds window (C, FH, FW) flattened."""
    n, _, height, width = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h, out_w = conv_output_size(height, filter_h, stride, pad), conv_output_size(width, filter_w, stride, pad)
    rows = [
        padded[i, :, y * stride : y * stride + filter_h, x_ * stride : x_ * stride + filter_w].ravel()
        for i in range(n)
        for y in range(out_h)
        for x_ in range(out_w)
    ]
    return np.array(rows)


# -- im2col / col2im ------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape, W_shape, stride, pad", CONV_CASES)
def test_im2col_matches_the_definition_and_col2im_is_its_adjoint(x_shape, W_shape, stride, pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    filter_h, filter_w = W_shape[2:]
    col = im2col(x, filter_h, filter_w, stride, pad)
    np.testing.assert_array_equal(col, im2col_by_loops(x, filter_h, filter_w, stride, pad))
    c = rng.standard_normal(col.shape)  # <im2col(x), c> == <x, col2im(c)>
    np.testing.assert_allclose((col * c).sum(), (x * col2im(c, x_shape, filter_h, filter_w, stride, pad)).sum())


def test_col2im_rejects_a_col_of_the_wrong_shape():
    with pytest.raises(ShapeError, match=r"col2im: expected col of shape \(9, 4\) for input \(1, 1, 4, 4\), got \(8, 4\)"):
        col2im(np.zeros((8, 4)), (1, 1, 4, 4), 2, 2)


# -- gradients ------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_shape, W_shape, stride, pad", CONV_CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_convolution_gradients(x_shape, W_shape, stride, pad, seed):
    x = np.random.default_rng(seed + 10).standard_normal(x_shape)
    check_layer(conv(W_shape, seed, stride, pad), [x], seed=seed)


@pytest.mark.parametrize("x_shape, pool_h, pool_w, stride, pad", POOL_CASES)
@pytest.mark.parametrize("layer_cls", [Pooling, AvgPooling])
def test_pooling_gradients(layer_cls, x_shape, pool_h, pool_w, stride, pad):
    x = np.random.default_rng(0).standard_normal(x_shape)
    check_layer(layer_cls(pool_h, pool_w, stride, pad), [x])


def test_max_pooling_sends_a_tied_window_gradient_to_its_first_maximum_only():
    pool = Pooling(2, 2, stride=2)
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    assert pool.forward(x).item() == 3.0
    np.testing.assert_array_equal(pool.backward(np.array([[[[5.0]]]])), [[[[0, 5], [0, 0]]]])


def test_max_pooling_pads_with_minus_infinity():
    """The textbook pads with 0, so an all-negative border window would return 0."""
    out = Pooling(2, 2, stride=2, pad=1).forward(-np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(out, -np.ones((1, 1, 2, 2)))


def test_flatten():
    x = np.random.default_rng(0).standard_normal((2, 3, 2, 2))
    assert Flatten().forward(x).shape == (2, 12)
    check_layer(Flatten(), [x])


def test_uneven_stride_floors_and_leaves_the_unreached_edge_without_gradient():
    """(6 - 3) is not a multiple of stride 2: as in PyTorch the last row and column are never read."""
    layer = conv((1, 1, 3, 3), stride=2)
    x = np.random.default_rng(0).standard_normal((1, 1, 6, 6))
    out = layer.forward(x)
    assert out.shape == (1, 1, 2, 2)
    dx = layer.backward(np.ones_like(out))
    assert not dx[..., -1, :].any() and not dx[..., :, -1].any()
    check_layer(layer, [x])


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    channels=st.integers(1, 3),
    filters=st.integers(1, 3),
    height=st.integers(1, 7),
    width=st.integers(1, 7),
    filter_h=st.integers(1, 4),
    filter_w=st.integers(1, 4),
    stride=st.integers(1, 3),
    pad=st.integers(0, 2),
    seed=st.integers(0, 2**16),
)
def test_convolution_on_random_configurations(n, channels, filters, height, width, filter_h, filter_w, stride, pad, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, channels, height, width))
    layer = conv((filters, channels, filter_h, filter_w), seed, stride, pad)
    if filter_h > height + 2 * pad or filter_w > width + 2 * pad:
        with pytest.raises(ShapeError, match="larger than the padded input"):
            layer.forward(x)
        return
    out_h, out_w = conv_output_size(height, filter_h, stride, pad), conv_output_size(width, filter_w, stride, pad)
    assert layer.forward(x).shape == (n, filters, out_h, out_w)
    check_layer(layer, [x], seed=seed)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    channels=st.integers(1, 3),
    height=st.integers(1, 7),
    width=st.integers(1, 7),
    pool_h=st.integers(1, 3),
    pool_w=st.integers(1, 3),
    stride=st.integers(1, 3),
    pad=st.integers(0, 2),
    average=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_pooling_on_random_configurations(n, channels, height, width, pool_h, pool_w, stride, pad, average, seed):
    layer_cls = AvgPooling if average else Pooling
    if pad >= min(pool_h, pool_w):
        with pytest.raises(ValueError, match="pad must be smaller than the pool size"):
            layer_cls(pool_h, pool_w, stride, pad)
        return
    layer = layer_cls(pool_h, pool_w, stride, pad)
    x = np.random.default_rng(seed).standard_normal((n, channels, height, width))
    if pool_h > height + 2 * pad or pool_w > width + 2 * pad:
        with pytest.raises(ShapeError, match="larger than the padded input"):
            layer.forward(x)
        return
    out_h, out_w = conv_output_size(height, pool_h, stride, pad), conv_output_size(width, pool_w, stride, pad)
    assert layer.forward(x).shape == (n, channels, out_h, out_w)
    check_layer(layer, [x], seed=seed)


# -- against PyTorch ------------------------------------------------------------------------------


def torch_grads(function, x, *params, dout):
    """Output and gradients (x, then params) of ``function`` in float64 PyTorch."""
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, *params)]
    out = function(*tensors)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("x_shape, W_shape, stride, pad", CONV_CASES)
def test_convolution_matches_pytorch(x_shape, W_shape, stride, pad):
    F = pytest.importorskip("torch.nn.functional")
    rng = np.random.default_rng(0)
    layer, x = conv(W_shape, 1, stride, pad), rng.standard_normal(x_shape)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    expected, (dx, dW, db) = torch_grads(
        lambda x_, W_, b_: F.conv2d(x_, W_, b_, stride=stride, padding=pad), x, layer.W, layer.b, dout=dout
    )
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(dout), dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.dW, dW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.db, db, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, pool_h, pool_w, stride, pad", [c for c in POOL_CASES if 2 * c[4] <= min(c[1:3])])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_pytorch(kind, x_shape, pool_h, pool_w, stride, pad):
    F = pytest.importorskip("torch.nn.functional")
    torch_pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    layer = (Pooling if kind == "max" else AvgPooling)(pool_h, pool_w, stride, pad)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    expected, (dx,) = torch_grads(lambda x_: torch_pool(x_, (pool_h, pool_w), stride, pad), x, dout=dout)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(dout), dx, rtol=1e-12, atol=1e-12)


# -- the layer contract ---------------------------------------------------------------------------


def contract_layers(dtype=np.float64):
    return {
        "Convolution": (conv((3, 2, 3, 3), pad=1, dtype=dtype), (2, 2, 5, 5)),
        "Pooling": (Pooling(2, 2, stride=2), (2, 2, 5, 5)),
        "AvgPooling": (AvgPooling(3, 3, stride=1, pad=1), (2, 2, 5, 5)),
        "Flatten": (Flatten(), (2, 2, 5, 5)),
    }


@pytest.mark.parametrize("name", contract_layers())
def test_layers_do_not_mutate_and_keep_float32(name):
    layer, x_shape = contract_layers(np.float32)[name]
    x = np.random.default_rng(0).standard_normal(x_shape).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    dout = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    assert layer.backward(dout).dtype == np.float32
    assert all(grad.dtype == np.float32 for grad in layer.grads.values())
    check_no_mutation(layer, [x], dout=dout)


@pytest.mark.parametrize("name", contract_layers())
def test_backward_before_forward(name):
    layer, _ = contract_layers()[name]
    with pytest.raises(NotForwardedError, match=f"{name}.backward\\(\\) was called before {name}.forward"):
        layer.backward(np.zeros((1, 1, 1, 1)))


def test_convolution_textbook_attributes_alias_the_dicts():
    layer = conv((2, 1, 3, 3))
    assert layer.W is layer.params["W"] and layer.b is layer.params["b"] and layer.dW is None
    layer.backward(np.ones_like(layer.forward(np.ones((1, 1, 3, 3)))))
    assert layer.dW is layer.grads["W"] and layer.db is layer.grads["b"]


def test_convolution_errors_name_the_layer_and_the_sizes():
    layer = conv((4, 3, 5, 5))
    with pytest.raises(ShapeError, match=r"Convolution.forward: expected a batch of images \(N, C, H, W\), got shape \(3, 8, 8\)"):
        layer.forward(np.zeros((3, 8, 8)))
    with pytest.raises(ShapeError, match=r"input has 1 channels but W of shape \(4, 3, 5, 5\) expects 3"):
        layer.forward(np.zeros((2, 1, 8, 8)))
    with pytest.raises(ShapeError, match=r"the 5x5 window is larger than the padded input 4x8 \(input 4x8 with pad=0\)"):
        layer.forward(np.zeros((2, 3, 4, 8)))
    layer.forward(np.zeros((2, 3, 8, 8)))
    with pytest.raises(ShapeError, match=r"Convolution.backward: dout must have the shape of the forward output \(2, 4, 4, 4\)"):
        layer.backward(np.zeros((2, 4, 4, 5)))
    with pytest.raises(ShapeError, match=r"W must be 4-D \(FN, C, FH, FW\), got shape \(3, 3\)"):
        Convolution(np.zeros((3, 3)), np.zeros(3))
    with pytest.raises(ShapeError, match=r"b must have shape \(4,\) to match W"):
        Convolution(np.zeros((4, 3, 2, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="Convolution: stride must be a positive integer, got 0"):
        Convolution(np.zeros((4, 3, 2, 2)), np.zeros(4), stride=0)
    with pytest.raises(ValueError, match="Convolution: pad must be a non-negative integer, got -1"):
        Convolution(np.zeros((4, 3, 2, 2)), np.zeros(4), pad=-1)


def test_pooling_errors_name_the_layer():
    with pytest.raises(ShapeError, match=r"Pooling.forward: the 3x3 window is larger than the padded input 2x2"):
        Pooling(3, 3).forward(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ShapeError, match=r"AvgPooling.forward: expected a batch of images"):
        AvgPooling(2, 2).forward(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="AvgPooling: pool_w must be a positive integer, got 0"):
        AvgPooling(2, 0)
    with pytest.raises(ValueError, match="Pooling: pad must be smaller than the pool size 2x2, got pad=2"):
        Pooling(2, 2, pad=2)


def test_textbook_defaults():
    """``Pooling(pool_h, pool_w, stride=1, pad=0)``, exactly the book's signature."""
    pool = Pooling(2, 2)
    assert (pool.stride, pool.pad) == (1, 0)
    assert pool.forward(np.zeros((1, 1, 4, 4))).shape == (1, 1, 3, 3)
