"""chainrule.book: the book's modules served by chainrule, their semantics, the import hook, and
the restricted unpickler. (The book's own scripts run in tests/test_book_scripts.py.)"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import textwrap
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from chainrule import DeepConvNet, SimpleConvNet, TwoLayerNet, restricted_pickle
from chainrule.book import book_imports, run_script
from chainrule.book.common import functions, gradient, layers, optimizer, util
from chainrule.book.common.multi_layer_net import MultiLayerNet
from chainrule.book.common.multi_layer_net_extend import MultiLayerNetExtend
from chainrule.book.common.trainer import Trainer
from chainrule.book.dataset import mnist as book_mnist
from chainrule.errors import CheckpointError, LabelError, NonFiniteError, ShapeError, UnsafePickleError
from chainrule.gradients import numerical_gradient
from chainrule.layers import BatchNormalization, SoftmaxWithLoss
from chainrule.layers import Dropout as ChainruleDropout

from book_support import BOOK, HAVE_BOOK
from helpers import check_layer

SRC = Path(__file__).resolve().parents[1] / "src"


# -- the restricted unpickler ---------------------------------------------------------------------


class _RunsCode:
    """Pickles as a call of ``os.system``: what a malicious weight file looks like."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_restricted_unpickler_loads_arrays_and_containers(protocol: int) -> None:
    rng = np.random.default_rng(0)
    weights = {
        "W1": rng.standard_normal((3, 4)),
        "b1": np.zeros(4, dtype=np.float32),
        "meta": [1, 2.5, "text", (True, None)],
        "ordered": OrderedDict(a=np.int64(3)),
        "tags": {"x", "y"},
    }
    loaded = restricted_pickle.loads(pickle.dumps(weights, protocol=protocol))
    np.testing.assert_array_equal(loaded["W1"], weights["W1"])
    assert loaded["b1"].dtype == np.float32
    assert loaded["meta"] == weights["meta"] and loaded["tags"] == weights["tags"]
    assert loaded["ordered"]["a"] == 3


def test_restricted_unpickler_refuses_code_and_never_runs_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"W1": np.ones(2), "b1": _RunsCode(marker)})
    assert not marker.exists()
    with pytest.raises(UnsafePickleError, match=r"refused to load: the pickle asks for posix\.system|nt\.system"):
        restricted_pickle.loads(payload)
    assert not marker.exists(), "the malicious pickle's code ran"
    evil_file = tmp_path / "params.pkl"
    evil_file.write_bytes(pickle.dumps(eval))
    with pytest.raises(UnsafePickleError, match=r"params\.pkl.*builtins\.eval"):
        restricted_pickle.load_file(evil_file)
    # numpy's own functions are not a loophole either
    with pytest.raises(UnsafePickleError, match="numpy.load"):
        restricted_pickle.loads(pickle.dumps(np.load))


def test_book_scripts_load_pickles_only_through_the_restricted_unpickler(tmp_path: Path) -> None:
    """The book's load_params calls pickle.load itself: inside a book run that is the safe one."""
    marker = tmp_path / "pwned"
    (tmp_path / "params.pkl").write_bytes(pickle.dumps({"W1": _RunsCode(marker)}))
    (tmp_path / "good.pkl").write_bytes(pickle.dumps({"W1": np.arange(3.0)}))
    script = tmp_path / "load.py"
    script.write_text(
        "import pickle, sys\n"
        "print(pickle.load(open('good.pkl', 'rb'))['W1'].sum())\n"
        "pickle.load(open(sys.argv[1], 'rb'))\n"
    )
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(UnsafePickleError):
            run_script(script, ["params.pkl"])
    finally:
        os.chdir(cwd)
    assert not marker.exists()
    assert pickle.load is not restricted_pickle.load, "pickle.load was not restored after the run"


# -- the import hook ------------------------------------------------------------------------------


def _fake_book(root: Path) -> Path:
    """A book-shaped tree whose own common/ and dataset/ must never be imported."""
    for package in ("common", "dataset"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("raise ImportError('the book\\'s own package was imported')\n")
        (root / package / "layers.py").write_text("raise ImportError('the book\\'s own module was imported')\n")
    chapter = root / "ch05"
    chapter.mkdir()
    (chapter / "helper.py").write_text("VALUE = 42\n")
    (chapter / "script.py").write_text(
        textwrap.dedent(
            """\
            import sys, os
            sys.path.append(os.pardir)
            from common.layers import *
            from common.optimizer import *
            import common.multi_layer_net_extend
            from helper import VALUE
            print("layers from", Relu.__module__, "np is numpy:", np.__name__ == "numpy")
            print("argv", sys.argv[1:], VALUE)
            """
        )
    )
    return chapter


def test_hook_serves_common_even_inside_the_books_tree(tmp_path: Path) -> None:
    chapter = _fake_book(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "chainrule.book", "script.py", "--flag", "7"],
        cwd=chapter, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "layers from common.layers np is numpy: True" in result.stdout
    assert "argv ['--flag', '7'] 42" in result.stdout


def test_hook_is_undone_after_the_run_and_nothing_named_common_is_installed(tmp_path: Path) -> None:
    chapter = _fake_book(tmp_path)
    cwd = os.getcwd()
    os.chdir(chapter)
    try:
        run_script("script.py")
    finally:
        os.chdir(cwd)
    assert not any(name == "common" or name.startswith(("common.", "dataset")) for name in sys.modules)
    with pytest.raises(ModuleNotFoundError):
        __import__("common.layers")
    with book_imports():
        import common.layers  # noqa: F401  (served only inside the block)

        assert sys.modules["common.layers"].__file__.startswith(str(SRC))


def test_cli_book_runs_a_script_and_reports_a_missing_one_in_one_line(tmp_path: Path) -> None:
    chapter = _fake_book(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    run = [sys.executable, "-m", "chainrule.cli.main", "book"]
    ok = subprocess.run([*run, "script.py", "x"], cwd=chapter, capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0 and "argv ['x'] 42" in ok.stdout, ok.stderr
    missing = subprocess.run([*run, "nothing.py"], cwd=chapter, capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "no such script: nothing.py" in missing.stderr


# -- the book's layers: its semantics where they differ from chainrule's --------------------------


def test_relu_backward_writes_into_dout_as_the_book_does() -> None:
    relu = layers.Relu()
    relu.forward(np.array([[-1.0, 2.0, 0.0]]))
    dout = np.array([[5.0, 6.0, 7.0]])
    dx = relu.backward(dout)
    assert dx is dout
    np.testing.assert_array_equal(dout, [[0.0, 6.0, 0.0]])


def test_book_dropout_scales_at_test_time_and_chainrule_option_matches() -> None:
    x = np.ones((400, 50))
    np.random.seed(0)
    book = layers.Dropout(0.2)
    train_out = book.forward(x, train_flg=True)
    assert set(np.unique(train_out)) <= {0.0, 1.0}  # kept units unscaled
    assert 0.7 < train_out.mean() < 0.9
    np.testing.assert_allclose(book.backward(np.full_like(x, 3.0)), 3.0 * train_out)
    np.testing.assert_allclose(book.forward(x, train_flg=False), 0.8)
    inverted = ChainruleDropout(0.2, rng=0)
    assert set(np.unique(inverted.forward(x))) <= {0.0, 1.25}
    np.testing.assert_array_equal(inverted.eval().forward(x), x)
    plain = ChainruleDropout(0.2, rng=0, inverted=False)
    plain.fixed_mask = np.random.default_rng(1).random((3, 4)) > 0.2
    check_layer(plain, [np.random.default_rng(2).standard_normal((3, 4))])
    np.random.seed(5)
    first = layers.Dropout(0.5).forward(x, True)
    np.random.seed(5)
    np.testing.assert_array_equal(layers.Dropout(0.5).forward(x, True), first)  # np.random.seed governs it


def test_book_batchnorm_normalises_each_position_of_a_4d_input() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 2, 3, 3)) * 3 + 1
    features = 2 * 3 * 3
    bn = layers.BatchNormalization(np.ones(features), np.zeros(features))
    np.testing.assert_array_equal(bn.running_var, 0)  # the book starts the variance at 0
    out = bn.forward(x, train_flg=True)
    flat = out.reshape(5, -1)
    np.testing.assert_allclose(flat.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(flat.var(axis=0), 1, atol=1e-5)
    np.testing.assert_allclose(bn.running_var, 0.1 * x.reshape(5, -1).var(axis=0))
    gamma, beta = rng.standard_normal(features), rng.standard_normal(features)
    # dx is tiny here (normalising cancels most of it): judged by an absolute 1e-8
    check_layer(layers.BatchNormalization(gamma, beta), [x], atol=1e-8)


def test_batchnorm_trains_on_a_single_sample_only_when_allowed_as_in_the_book() -> None:
    gamma, beta, x = np.ones(4), np.arange(4.0), np.random.default_rng(0).standard_normal((1, 4))
    with pytest.raises(ShapeError, match="more than 1 value per feature"):
        BatchNormalization(gamma, beta).forward(x)
    for layer in (BatchNormalization(gamma, beta, allow_single_sample=True), layers.BatchNormalization(gamma, beta)):
        np.testing.assert_allclose(layer.forward(x), beta[None])  # one sample is its own mean
        np.testing.assert_allclose(layer.backward(np.ones((1, 4))), 0, atol=1e-12)
    with pytest.raises(ShapeError):
        BatchNormalization(gamma, beta, allow_single_sample=True).forward(np.zeros((0, 4)))  # an empty batch still is not


def test_book_softmax_with_loss_takes_labels_as_a_column() -> None:
    x = np.random.default_rng(0).standard_normal((2, 10))
    book, labels = layers.SoftmaxWithLoss(), np.array([[1], [7]])
    np.testing.assert_allclose(book.forward(x, labels), layers.SoftmaxWithLoss().forward(x, labels.ravel()))
    assert book.backward(1).shape == (2, 10)
    with pytest.raises(LabelError):
        book.forward(x, np.array([[1], [17]]))
    diverged = np.full((2, 10), np.nan)
    assert np.isnan(book.forward(diverged, labels))  # the book lets a diverging net's NaN through
    with pytest.raises(NonFiniteError):
        SoftmaxWithLoss().forward(diverged, labels.ravel())


def test_book_convolution_takes_a_scalar_bias_and_pooling_defaults_to_stride_2() -> None:
    W = np.random.default_rng(0).standard_normal((1, 1, 3, 3))
    x = np.random.default_rng(1).standard_normal((1, 1, 6, 6))
    with_scalar = layers.Convolution(W, 0.5).forward(x)
    with_vector = layers.Convolution(W, np.array([0.5])).forward(x)
    np.testing.assert_array_equal(with_scalar, with_vector)
    assert layers.Pooling(2, 2).forward(x).shape == (1, 1, 3, 3)


# -- functions, gradient, util -------------------------------------------------------------------


def test_book_functions_gradient_and_util() -> None:
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(functions.step_function(x), [0, 0, 1])
    assert functions.step_function(x).dtype.kind == "i"
    np.testing.assert_array_equal(functions.relu_grad(x), [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(functions.relu(x), [0.0, 0.0, 2.0])
    assert functions.identity_function(x) is x
    np.testing.assert_allclose(functions.sigmoid_grad(x), numerical_gradient(lambda v: functions.sigmoid(v).sum(), x.copy()), rtol=1e-8)
    np.testing.assert_allclose(functions.softmax_loss(np.array([[0.0, 0.0]]), np.array([1])), np.log(2), rtol=1e-6)
    assert functions.sum_squared_error(np.array([1.0, 2.0]), np.array([0.0, 0.0])) == 2.5
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    np.testing.assert_allclose(gradient.numerical_gradient_2d(lambda v: (v**2).sum(), X), 2 * X, rtol=1e-8)
    np.testing.assert_allclose(gradient.numerical_gradient_1d(lambda v: (v**2).sum(), X[0].copy()), 2 * X[0], rtol=1e-8)
    np.testing.assert_allclose(gradient.numerical_gradient(lambda v: (v**3).sum(), X.copy()), 3 * X**2, rtol=1e-6)
    assert util.conv_output_size(28, 5) == 24.0 and util.conv_output_size(7, 2, stride=2) == 3.5
    assert len(util.smooth_curve(np.arange(50.0))) == 50
    data, labels = np.arange(20.0).reshape(10, 2), np.arange(10)
    shuffled, shuffled_labels = util.shuffle_dataset(data, labels)
    np.testing.assert_array_equal(shuffled[:, 0] / 2, shuffled_labels)
    col = util.im2col(np.ones((1, 1, 4, 4)), 3, 3)
    assert col.shape == (4, 9)
    assert util.col2im(col, (1, 1, 4, 4), 3, 3)[0, 0, 1, 1] == 4


# -- optimizers ---------------------------------------------------------------------------------


def _book_rules(name: str, lr: float):
    """The update rules as the book states them (section 6.1), as a step on (p, g, state)."""

    def sgd(p, g, s):
        return p - lr * g

    def momentum(p, g, s):
        s["v"] = 0.9 * s.get("v", 0.0) - lr * g
        return p + s["v"]

    def nesterov(p, g, s):
        v = s.get("v", 0.0)
        p = p + 0.81 * v - 1.9 * lr * g
        s["v"] = 0.9 * v - lr * g
        return p

    def adagrad(p, g, s):
        s["h"] = s.get("h", 0.0) + g * g
        return p - lr * g / (np.sqrt(s["h"]) + 1e-7)

    def rmsprop(p, g, s):
        s["h"] = 0.99 * s.get("h", 0.0) + 0.01 * g * g
        return p - lr * g / (np.sqrt(s["h"]) + 1e-7)

    def adam(p, g, s):
        s["t"] = s.get("t", 0) + 1
        m, v = s.get("m", 0.0), s.get("v", 0.0)
        s["m"], s["v"] = m + 0.1 * (g - m), v + 0.001 * (g * g - v)
        return p - lr * np.sqrt(1 - 0.999 ** s["t"]) / (1 - 0.9 ** s["t"]) * s["m"] / (np.sqrt(s["v"]) + 1e-7)

    return {"SGD": sgd, "Momentum": momentum, "Nesterov": nesterov, "AdaGrad": adagrad, "RMSprop": rmsprop,
            "Adam": adam}[name]


@pytest.mark.parametrize("name,lr", [("SGD", 0.95), ("Momentum", 0.1), ("Nesterov", 0.1), ("AdaGrad", 1.5), ("RMSprop", 0.1), ("Adam", 0.3)])
def test_book_optimizers_update_plain_floats_as_optimizer_compare_naive_does(name: str, lr: float) -> None:
    opt = getattr(optimizer, name)(lr=lr)
    rule, state_x, state_y = _book_rules(name, lr), {}, {}
    params, expected = {"x": -7.0, "y": 2.0}, [-7.0, 2.0]
    for _ in range(30):
        grads = {"x": params["x"] / 10.0, "y": 2.0 * params["y"]}
        opt.update(params, grads)
        expected = [rule(expected[0], expected[0] / 10.0, state_x), rule(expected[1], 2.0 * expected[1], state_y)]
        assert isinstance(params["x"], float)
    np.testing.assert_allclose([params["x"], params["y"]], expected, rtol=1e-12, atol=1e-300)
    zero_d = {"w": np.array(1.0)}
    opt.update(zero_d, {"w": np.array(0.5)})
    assert zero_d["w"].shape == () and zero_d["w"] < 1.0


def test_book_optimizer_exposes_the_books_state_attributes() -> None:
    adam = optimizer.Adam()
    assert adam.m is None and adam.iter == 0
    adam.update({"W": np.ones(3)}, {"W": np.ones(3)})
    assert adam.iter == 1 and set(adam.m) == {"W"} and adam.v["W"].shape == (3,)


# -- networks and the trainer -------------------------------------------------------------------


def test_multi_layer_net_extend_has_the_books_modes_and_gradients() -> None:
    np.random.seed(0)
    rng = np.random.default_rng(0)
    x, t = rng.random((4, 12)), np.eye(3)[[0, 2, 1, 2]]
    net = MultiLayerNetExtend(12, [6, 5], 3, use_batchnorm=True, weight_decay_lambda=0.1)
    assert list(net.layers) == ["Affine1", "BatchNorm1", "Activation_function1", "Affine2", "BatchNorm2",
                                "Activation_function2", "Affine3"]
    numeric, backprop = net.numerical_gradient(x, t), net.gradient(x, t)
    assert list(numeric) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]
    for key in numeric:
        assert np.abs(numeric[key] - backprop[key]).mean() < 1e-7, key
    # loss() defaults to test mode (running statistics), as the book's does
    assert net.loss(x, t) != net.loss(x, t, train_flg=True)
    np.random.seed(1)
    dropped = MultiLayerNetExtend(12, [6], 3, use_dropout=True, dropout_ration=0.5)
    np.testing.assert_allclose(dropped.layers["Dropout1"].eval().forward(np.ones((1, 6))), 0.5)
    np.testing.assert_allclose(dropped.predict(x), dropped.predict(x, train_flg=False))
    huge = MultiLayerNet(12, [6], 3, weight_init_std=1e200)
    with np.errstate(all="ignore"):
        assert np.isnan(huge.loss(x * 1e200, t))  # diverged: NaN, as with the book's code, not an error
    np.random.seed(3)
    a = MultiLayerNet(12, [6], 3).params["W1"].copy()
    np.random.seed(3)
    np.testing.assert_array_equal(MultiLayerNet(12, [6], 3).params["W1"], a)  # np.random.seed governs init


def test_book_trainer_runs_the_books_loop(capsys: pytest.CaptureFixture[str]) -> None:
    np.random.seed(0)
    rng = np.random.default_rng(0)
    x, t = rng.random((50, 8)), rng.integers(0, 3, 50)
    net = MultiLayerNet(8, [10], 3)
    trainer = Trainer(net, x, t, x[:20], t[:20], epochs=3, mini_batch_size=10, optimizer="Adam",
                      optimizer_param={"lr": 0.01}, evaluate_sample_num_per_epoch=10)
    trainer.train()
    out = capsys.readouterr().out
    assert len(trainer.train_loss_list) == 15 and len(trainer.train_acc_list) == 3
    assert "=== epoch:1, train acc:" in out and "test acc:" in out.splitlines()[-1]
    with pytest.raises(ValueError, match="optimizer must be one of"):
        Trainer(net, x, t, x, t, optimizer="lbfgs")


def test_book_load_mnist_returns_the_books_dtypes(monkeypatch: pytest.MonkeyPatch) -> None:
    images = np.arange(6 * 784, dtype=np.uint8).reshape(6, 784)

    def fake_loader(normalize, flatten, one_hot, dtype):
        x = images.astype(dtype) / 255 if normalize else images
        x = x if flatten else x.reshape(-1, 1, 28, 28)
        return (x, np.arange(6, dtype=np.int64)), (x[:2], np.arange(2, dtype=np.int64))

    monkeypatch.setattr(book_mnist, "_load_mnist", fake_loader)
    (x, t), (x_test, t_test) = book_mnist.load_mnist(normalize=True, one_hot_label=True)
    assert x.dtype == np.float32 and x.shape == (6, 784) and t.dtype == np.float64 and t.shape == (6, 10)
    (x, t), _ = book_mnist.load_mnist(normalize=False, flatten=False)
    assert x.dtype == np.uint8 and x.shape == (6, 1, 28, 28) and t.dtype == np.uint8
    monkeypatch.setenv(book_mnist.LIMIT_VARIABLE, "4,1")
    (x, _), (x_test, _) = book_mnist.load_mnist()
    assert len(x) == 4 and len(x_test) == 1
    monkeypatch.setenv(book_mnist.LIMIT_VARIABLE, "many")
    with pytest.raises(ValueError, match="CHAINRULE_BOOK_MNIST_LIMIT"):
        book_mnist.load_mnist()


# -- chainrule's nets read and write the book's weight files --------------------------------------


def test_chainrule_nets_save_and_load_the_books_weight_format(tmp_path: Path) -> None:
    net = TwoLayerNet(6, 4, 3, rng=0)
    path = tmp_path / "params.pkl"
    net.save_params(path)
    with open(path, "rb") as handle:
        assert set(pickle.load(handle)) == {"W1", "b1", "W2", "b2"}  # the book's format: a dict of arrays
    other = TwoLayerNet(6, 4, 3, rng=1)
    other.load_params(path)
    np.testing.assert_array_equal(other.params["W1"], net.params["W1"])
    with pytest.raises(CheckpointError, match="missing parameters"):
        SimpleConvNet(input_dim=(1, 6, 6), conv_param={"filter_num": 2, "filter_size": 3}).load_params(path)
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"W1": _RunsCode(tmp_path / "pwned")}))
    with pytest.raises(UnsafePickleError):
        net.load_params(tmp_path / "evil.pkl")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.skipif(not HAVE_BOOK, reason=f"the book's code is not at {BOOK} (set CHAINRULE_BOOK_DIR)")
def test_chainrule_conv_nets_accept_the_books_weight_files() -> None:
    deep, simple = DeepConvNet(), SimpleConvNet()
    deep.load_params(BOOK / "ch08" / "deep_convnet_params.pkl")
    simple.load_params(BOOK / "ch07" / "params.pkl")
    with open(BOOK / "ch08" / "deep_convnet_params.pkl", "rb") as handle:
        book_weights = restricted_pickle.load(handle)
    np.testing.assert_array_equal(deep.params["W7"], book_weights["W7"])
    x = np.random.default_rng(0).random((3, 1, 28, 28))
    assert simple.predict(x).shape == (3, 10)
    # The book's weights were trained with test-time-scaled dropout: chainrule's net now scores as
    # the book's own DeepConvNet class does (on chainrule's layers), not merely the same argmax.
    assert not any(getattr(layer, "inverted", False) for layer in deep.layers.values())
    sys.path.insert(0, str(BOOK / "ch08"))
    try:
        with book_imports():
            from deep_convnet import DeepConvNet as BooksDeepConvNet

            books = BooksDeepConvNet()
            books.load_params(BOOK / "ch08" / "deep_convnet_params.pkl")
            np.testing.assert_allclose(deep.predict(x), books.predict(x, train_flg=False), rtol=1e-10, atol=1e-12)
    finally:
        sys.path.remove(str(BOOK / "ch08"))
        sys.modules.pop("deep_convnet", None)


def test_book_optimizers_go_on_after_a_nan_gradient_as_the_books_do() -> None:
    """ch06/batch_norm_test.py lets a run without batch norm diverge: the book's optimizers write
    NaN and go on. chainrule's own optimizers raise; the book's say so with a warning."""
    import numpy as np
    import pytest

    from chainrule.book.common.optimizer import SGD as BookSGD
    from chainrule.errors import NonFiniteError
    from chainrule.optimizers import SGD

    grads = {"W": np.array([np.nan, 1.0])}
    with pytest.raises(NonFiniteError, match="'W'"):
        SGD(lr=0.1).update({"W": np.zeros(2)}, grads)
    params = {"W": np.zeros(2)}
    with pytest.warns(RuntimeWarning, match="NaN or infinite values in gradient 'W'"):
        BookSGD(lr=0.1).update(params, grads)
    assert np.isnan(params["W"][0]) and params["W"][1] == -0.1
