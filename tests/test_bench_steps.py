"""benchmarks/steps.py compares like with like: its naive net computes chainrule's gradients.

No timing is asserted here; these check the parts of the benchmark that could silently make a
comparison wrong: the naive baseline, the PyTorch twin, the FLOP count and the verdicts.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from chainrule import TwoLayerNet
from chainrule.nets import MultiLayerNet

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "steps.py"


@pytest.fixture(scope="module")
def steps():
    spec = importlib.util.spec_from_file_location("bench_steps", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def simple_conv_net(**kwargs):
    from chainrule.nets import SimpleConvNet  # a missing class is a failure, never a skip

    return SimpleConvNet(**kwargs)


def assert_naive_gradients_match(steps, net, x, t):
    naive = steps.naive_twin(net)
    expected = net.gradient(x, t)
    got = naive.gradient(x.copy(), t)
    assert list(got) == list(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-9, atol=1e-12, err_msg=key)
    # The textbook's cross-entropy adds 1e-7 inside the log; the loss differs by about that much.
    assert naive.loss_value == pytest.approx(float(net.last_loss), rel=1e-5)


def test_naive_mlp_computes_chainrules_gradients(steps):
    rng = np.random.default_rng(0)
    net = MultiLayerNet(20, [16, 12], 5, weight_init_std="he", rng=0)
    assert_naive_gradients_match(steps, net, rng.random((8, 20)), rng.integers(0, 5, 8))


def test_naive_cnn_computes_chainrules_gradients(steps):
    rng = np.random.default_rng(1)
    net = simple_conv_net(input_dim=(1, 10, 10), conv_param={"filter_num": 3, "filter_size": 3},
                          hidden_size=6, output_size=4, weight_init_std=0.3, rng=0)
    assert_naive_gradients_match(steps, net, rng.random((5, 1, 10, 10)), rng.integers(0, 4, 5))


def test_naive_optimizers_follow_the_textbook(steps):
    from chainrule.optimizers import SGD, Adam

    rng = np.random.default_rng(2)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    ours = {key: value.copy() for key, value in params.items()}
    naive_sgd, sgd = steps.NaiveSGD(0.1), SGD(0.1)
    naive_adam, adam = steps.NaiveAdam(0.01), Adam(0.01)
    for _ in range(3):
        grads = {key: rng.standard_normal(value.shape) for key, value in params.items()}
        naive_sgd.update(params, grads), sgd.update(ours, grads)
        naive_adam.update(params, grads), adam.update(ours, grads)
    for key in params:
        np.testing.assert_allclose(params[key], ours[key], rtol=1e-12)


def test_torch_twin_has_the_same_weights_and_outputs(steps):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    net = TwoLayerNet(12, 7, 4, weight_init_std=0.5, rng=0, dtype=np.float32)
    x = rng.random((5, 12), dtype=np.float32)
    with torch.no_grad():
        scores = steps.torch_twin(net)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(scores, net.predict(x), rtol=1e-5, atol=1e-6)


def test_flop_count_follows_the_stated_formula(steps):
    net = TwoLayerNet(784, 50, 10, rng=0, dtype=np.float32)
    forward, step = steps.matmul_flops(net, 100)
    assert forward == 2 * 100 * (784 * 50 + 50 * 10)
    assert step == 2 * 100 * (784 * 50 * 2 + 50 * 10 * 3)  # the first layer needs no input gradient


def test_flop_count_of_a_convolution_uses_its_im2col_product(steps):
    net = simple_conv_net(rng=0, dtype=np.float32)
    forward, _ = steps._flops_of(net, 4, (1, 28, 28))
    conv = 2 * (4 * 24 * 24) * (1 * 5 * 5) * 30
    assert forward == conv + 2 * 4 * 4320 * 100 + 2 * 4 * 100 * 10


def test_measure_interleaves_and_fills_every_contender(steps):
    order = []
    contenders = [steps.Contender(name, lambda name=name: order.append(name), pool, flops=10, samples=2)
                  for name, pool in (("a", "numpy"), ("b", "torch"))]
    steps.measure(contenders, reps=4, block_seconds=1e-4, settle=0)
    assert all(len(c.seconds) == 4 for c in contenders)
    summary = steps.summary(contenders[0])
    assert summary["q1_s"] <= summary["median_s"] <= summary["q3_s"] and summary["samples_per_s"] > 0


def test_targets_read_the_ratios_the_right_way_round(steps):
    def case(chainrule, pytorch, naive, gflops=0.0, fused=None, spread=None):
        results = {"chainrule": {"median_s": chainrule, "gflops": gflops},
                   "pytorch": {"median_s": pytorch}, "naive-f64": {"median_s": naive}}
        if fused is not None:
            results["pytorch-fused"] = {"median_s": fused}
        if spread is not None:
            results["chainrule"]["spread"] = spread
        return {"results": results, "processes": 5}

    report = {"steps": {"mlp-small": case(1.0, 1.8, 0.9, spread=1.1),
                        "mlp-large": case(2.0, 1.0, 5.0, gflops=80.0, fused=2.1, spread=1.2)},
              "epochs": [{"framework": "chainrule", "case": "mlp-small", "peak_rss_bytes": 300,
                          "dataset_bytes": 100, "model_bytes": 10}]}
    verdicts = {row["target"]: row["met"] for row in steps.targets(report, peak=100.0)}
    assert verdicts == {
        "mlp-small: pytorch time / chainrule time >= 1.7": True,
        "mlp-large: pytorch time / chainrule time >= 1.15": False,
        "mlp-large: pytorch-fused time / chainrule time >= 1.0": True,
        "mlp-medium: pytorch time / chainrule time >= 1.0": None,
        "mlp-medium: pytorch-fused time / chainrule time >= 1.0": None,
        "cnn: pytorch time / chainrule time >= 1.2": None,
        "cnn: pytorch-fused time / chainrule time >= 1.0": None,
        "mlp-large: naive float64 time / chainrule time >= 2.0": True,
        "mlp-large: chainrule GFLOP/s >= 75% of the GEMM peak": True,
        "mlp-small: chainrule max/min step time over 5 processes <= 1.15": True,
        "mlp-large: chainrule max/min step time over 5 processes <= 1.15": False,
        "MNIST epoch mlp-small: peak RSS / (2 x dataset float32 + model) <= 1.0": False,
    }


def test_aggregate_takes_the_median_of_process_medians_and_their_spread(steps):
    def run(seconds):
        return {"batch": 10, "step_flops": 100, "results": {"chainrule": {"median_s": seconds, "gflops": 1.0,
                                                                          "samples_per_s": 1.0}}}

    merged = steps.aggregate([run(2.0), run(1.0), run(4.0)])
    result = merged["results"]["chainrule"]
    assert result["median_s"] == 2.0 and result["spread"] == 4.0 and merged["processes"] == 3
    assert result["samples_per_s"] == 5.0 and result["gflops"] == 100 / 2.0 / 1e9


def test_load_check_reads_proc_stat(steps):
    busy = steps.cpu_busy_fraction(0.2, steps._usable_cpus())
    assert busy is None or 0.0 <= busy <= 1.0
