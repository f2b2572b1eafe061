"""The trainer: it learns, it is reproducible to the bit, it resumes exactly, it stops on NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule.errors import DataError, DivergenceError, NonFiniteError
from chainrule.nets import MultiLayerNet
from chainrule.optimizers import SGD, Adam
from chainrule.training import History, Trainer, confusion_matrix, evaluate, make_schedule


def blobs(n=300, seed=0, classes=3, dim=8):
    rng = np.random.default_rng(seed)
    centers = 3 * rng.standard_normal((classes, dim))
    t = rng.integers(0, classes, size=n)
    return (centers[t] + rng.standard_normal((n, dim))).astype(np.float32), t


def make(seed=0):
    return MultiLayerNet(8, [16], 3, rng=seed, dtype=np.float32)


def test_trainer_learns_and_records_history():
    x, t = blobs()
    net = make()
    history = Trainer(net, Adam(0.01), epochs=3, batch_size=32, verbose=0).fit(x[:200], t[:200], x[200:], t[200:])
    assert history.epoch == [1, 2, 3]
    assert history.test_acc[-1] > 0.9 and history.train_loss[-1] < history.train_loss[0]
    assert history.test_loss[-1] == pytest.approx(evaluate(net, x[200:], t[200:])[0])


def test_every_sample_once_per_epoch(monkeypatch):
    x, t = blobs(n=50)
    x[:, 0] = np.arange(50)  # tag each sample
    seen = []
    net = make()
    original = net.gradient

    def spy(xb, tb):
        seen.extend(np.asarray(xb)[:, 0].astype(int).tolist())
        return original(xb, tb)

    monkeypatch.setattr(net, "gradient", spy)
    Trainer(net, SGD(0.01), epochs=2, batch_size=8, verbose=0).fit(x, t)
    assert sorted(seen[:50]) == list(range(50)) and sorted(seen[50:]) == list(range(50))
    assert seen[:50] != seen[50:]  # reshuffled each epoch


def test_same_seed_bit_identical_weights():
    x, t = blobs()
    nets = [make(), make()]
    for net in nets:
        Trainer(net, Adam(0.01), epochs=2, batch_size=32, seed=7, verbose=0).fit(x, t)
    for key in nets[0].params:
        np.testing.assert_array_equal(nets[0].params[key], nets[1].params[key])


def test_resume_continues_exactly():
    x, t = blobs()
    straight = make()
    Trainer(straight, Adam(0.01), epochs=4, batch_size=32, verbose=0).fit(x, t)

    first = make()
    optimizer = Adam(0.01)
    history = Trainer(first, optimizer, epochs=2, batch_size=32, verbose=0).fit(x, t)
    resumed, restored = make(seed=99), Adam(0.01)
    resumed.load_state_dict(first.state_dict())
    restored.load_state_dict(optimizer.state_dict())
    Trainer(resumed, restored, epochs=4, batch_size=32, verbose=0).fit(x, t, history=History.from_dict(history.as_dict()))
    for key in straight.params:
        np.testing.assert_array_equal(straight.params[key], resumed.params[key])


@pytest.mark.parametrize("which", ["x_train", "x_test", "t_test"])
def test_nan_in_the_data_is_named_as_the_cause(which):
    x, t = blobs()
    arrays = {"x_train": x[:200], "t_train": t[:200], "x_test": x[200:].copy(), "t_test": np.eye(3)[t[200:]]}
    arrays[which][7, 0] = np.nan
    net = make()
    before = {key: array.copy() for key, array in net.params.items()}
    with pytest.raises(DataError, match=rf"Trainer.fit: {which} holds 1 NaN or infinite values \(the first in sample 7\)"):
        Trainer(net, SGD(0.1), epochs=1, verbose=0).fit(*arrays.values())
    for key in before:
        np.testing.assert_array_equal(before[key], net.params[key])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow warnings, before our error
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_diverging_run_stops_and_suggests_a_lower_learning_rate(dtype):
    """A float64 loss of 1e61 is finite: judged against the first step's loss, it still stops."""
    x, t = blobs()
    net = MultiLayerNet(8, [16], 3, rng=0, dtype=dtype)
    with pytest.raises(DivergenceError, match=r"epoch 1, step 2: .*diverged.*learning rate \(1e\+30\) is probably too large: try 1e\+29"):
        Trainer(net, SGD(1e30), epochs=3, batch_size=30, verbose=0).fit(x, t)
    assert issubclass(DivergenceError, NonFiniteError)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_parameters_after_an_update_are_named():
    x, t = blobs()
    with pytest.raises(DivergenceError, match=r"made parameters non-finite: W1 \(128 of 128\), b1"):
        Trainer(make(), SGD(1e300), epochs=1, batch_size=30, verbose=0).fit(x, t)


def test_non_finite_weights_or_state_before_training_are_named():
    x, t = blobs()
    net = make()
    net.params["b2"][1] = np.inf
    with pytest.raises(DivergenceError, match=r"before training started in parameters b2 \(1 of 3\)"):
        Trainer(net, SGD(0.1), epochs=1, verbose=0).fit(x, t)
    net = make()
    optimizer = Adam(0.01)
    optimizer.update(net.params, {key: np.ones_like(p) for key, p in net.params.items()})
    optimizer.state["W2"]["second_moment"][0, 0] = np.nan
    with pytest.raises(DivergenceError, match=r"optimizer state second_moment/W2"):
        Trainer(net, optimizer, epochs=1, verbose=0).fit(x, t)


def test_a_healthy_run_is_not_judged_diverged():
    x, t = blobs()
    history = Trainer(make(), Adam(0.05), epochs=3, batch_size=10, verbose=0).fit(x, t)
    assert all(math.isfinite(loss) for loss in history.train_loss)


def test_schedules():
    cosine = make_schedule("cosine", 0.1, 10)
    assert cosine(0) == pytest.approx(0.1) and cosine(5) == pytest.approx(0.05) and cosine(9) < 0.01
    assert make_schedule("constant", 0.1, 10)(7) == 0.1
    assert make_schedule("step", 1.0, 9)(3) == pytest.approx(0.1)
    # Past its planned epochs (a resumed run extended) a schedule keeps its last rate: no jump back up.
    assert cosine(10) == cosine(9) == cosine(25) and make_schedule("step", 1.0, 9)(20) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        make_schedule("warp", 0.1, 10)


def test_history_round_trip_and_csv():
    history = History()
    history.append(epoch=1, train_loss=0.5, train_acc=0.8, test_loss=math.nan, test_acc=math.nan, lr=0.1, seconds=1.0)
    assert History.from_dict(__import__("json").loads(history.to_json())).train_loss == [0.5]
    lines = history.to_csv().splitlines()
    assert lines[0] == "epoch,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,lr,seconds"
    assert lines[1] == "1,0.5,0.8,,,,,0.1,1"
    older = {"epoch": [1, 2], "train_loss": [0.5, 0.4]}  # metrics.json from before the validation columns
    assert len(History.from_dict(older).val_loss) == 2 and all(math.isnan(v) for v in History.from_dict(older).val_loss)


def test_confusion_matrix():
    m = confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3)
    np.testing.assert_array_equal(m, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


def test_bad_trainer_arguments():
    with pytest.raises(ValueError, match="Trainer: epochs must be a positive integer, got 0"):
        Trainer(make(), SGD(), epochs=0)
    with pytest.raises(ValueError, match="Trainer.fit: 10 samples but 9 targets"):
        Trainer(make(), SGD(), verbose=0).fit(np.zeros((10, 8)), np.zeros(9, dtype=int))
