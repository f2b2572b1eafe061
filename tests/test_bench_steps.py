"""benchmarks/steps.py compares like with like: its naive net computes chainrule's gradients.

No timing is asserted here; these check the parts of the benchmark that could silently make a
comparison wrong: the naive baseline, the PyTorch twin, the FLOP count and the verdicts.
"""

from __future__ import annotations

import contextlib
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


@pytest.mark.parametrize("layout", ["chainrule", "pytorch"])
def test_the_products_timed_alone_are_the_steps_own(steps, layout):
    """Each framework's products, in its own layout, multiply and add up to the step's FLOPs."""
    net = MultiLayerNet(784, [64, 32], 10, rng=0, dtype=np.float32)
    products = steps.step_products(steps.torch_layers(net)[0], 16, layout)
    shapes = []
    steps.products_step(products, lambda shape: np.zeros(shape, np.float32),
                        lambda a, b: shapes.append((a.shape, b.shape)) or a @ b)()
    assert len(shapes) == 3 * 3 - 1  # forward, weight and input gradients; no input gradient for the first layer
    assert sum(2 * a[0] * a[1] * b[1] for a, b in shapes) == steps.matmul_flops(net, 16)[1]
    assert shapes[0] == ((16, 784), (784, 64))  # the first layer's forward, x @ W (PyTorch: its W.T)
    assert steps.step_products(steps.torch_layers(simple_conv_net(rng=0))[0], 16, layout) is None


def test_time_around_the_products_and_its_projection(steps):
    results = {"chainrule": {"median_s": 10.0, "products_s": 8.0}, "pytorch": {"median_s": 12.0, "products_s": 6.0},
               "naive-f64": {"median_s": 50.0}}
    split = steps.around_the_products(results, speed_up=2.0)
    assert split == {"chainrule": {"products_s": 8.0, "around_s": 2.0, "projected_s": 6.0},
                     "pytorch": {"products_s": 6.0, "around_s": 6.0, "projected_s": 9.0}}
    assert "projected_s" not in steps.around_the_products(results, None)["chainrule"]


def test_measure_interleaves_and_fills_every_contender(steps):
    order = []
    contenders = [steps.Contender(name, lambda name=name: order.append(name), flops=10, samples=2)
                  for name in ("a", "b")]
    steps.measure(contenders, reps=4, block_seconds=1e-4)
    assert all(len(c.seconds) == 4 for c in contenders)
    summary = steps.summary(contenders[0])
    assert summary["q1_s"] <= summary["median_s"] <= summary["q3_s"] and summary["samples_per_s"] > 0
    assert summary["faults_per_step"] >= 0 and summary["system_s_per_step"] >= 0


def test_targets_read_the_ratios_the_right_way_round(steps):
    def case(chainrule, pytorch, gflops=0.0, fused=None, processes=1, spread=1.0):
        results = {"chainrule": {"median_s": chainrule, "gflops": gflops, "processes": processes, "spread": spread},
                   "pytorch": {"median_s": pytorch}}
        if fused is not None:
            results["pytorch-fused"] = {"median_s": fused}
        return {"results": results}

    report = {"steps": {"mlp-small": case(1.0, 1.6, processes=5, spread=1.05),
                        "mlp-large": case(2.0, 2.2, gflops=80.0, fused=2.05, processes=5, spread=1.2),
                        "gradient-f64": case(0.85, 1.0)},
              "contention": {"mlp-small": {"slowdown": 1.5}, "cnn": {"slowdown": 2.5}}}
    verdicts = {row["target"]: row["met"] for row in steps.targets(report, peak=100.0)}
    assert verdicts == {
        "mlp-small: pytorch time / chainrule time >= 1.5": True,
        "mlp-large: pytorch time / chainrule time >= 1.15": False,
        "mlp-large: pytorch-fused time / chainrule time >= 1.05": False,
        "mlp-medium: pytorch time / chainrule time >= 1.2": None,
        "mlp-medium: pytorch-fused time / chainrule time >= 1.0": None,
        "cnn: pytorch time / chainrule time >= 1.2": None,
        "cnn: pytorch-fused time / chainrule time >= 1.0": None,
        "gradient-f64: chainrule net.gradient time / PyTorch forward+backward time <= 0.9": True,
        "mlp-large: chainrule GFLOP/s >= 75% of the GEMM peak": True,
        "mlp-small: chainrule max/min step time over 5 processes <= 1.1": True,
        "mlp-large: chainrule max/min step time over 5 processes <= 1.1": False,
        "mlp-small: chainrule step beside one CPU-bound process / alone <= 2.0": True,
        "cnn: chainrule step beside one CPU-bound process / alone <= 2.0": False,
    }


def process(seconds, losses=(2.3, 2.2, 2.1), torch_imported=False):
    """What a steps child prints for one implementation."""
    return {"batch": 10, "forward_flops": 40, "step_flops": 100, "losses_first_3_steps": list(losses),
            "result": {"median_s": seconds, "q1_s": seconds, "q3_s": seconds}, "torch_imported": torch_imported}


def test_aggregate_takes_the_median_of_process_medians_and_their_spread(steps):
    result = steps.aggregate([process(2.0), process(1.0), {"error": "killed"}, process(4.0)])
    assert result["median_s"] == 2.0 and result["spread"] == 4.0 and result["processes"] == 3
    assert result["failed_processes"] == 1 and result["process_medians_s"] == [2.0, 1.0, 4.0]
    assert result["samples_per_s"] == 5.0 and result["gflops"] == 100 / 2.0 / 1e9
    assert steps.aggregate([{"skipped": "no cnn"}]) == {"skipped": "no cnn"}


def test_combine_keeps_each_implementations_losses_and_its_failures(steps):
    data = steps.combine({"chainrule": [process(1.0)], "pytorch": [process(2.0, losses=(2.3, 2.2, 2.0))],
                          "naive-f64": [{"error": "MemoryError"}]})
    assert set(data["results"]) == {"chainrule", "pytorch"} and data["step_flops"] == 100
    assert data["results"]["pytorch"]["losses_first_3_steps"] == [2.3, 2.2, 2.0]
    assert data["problems"] == {"naive-f64": {"error": "MemoryError"}}
    skipped = steps.combine({"chainrule": [{"skipped": "no SimpleConvNet"}], "pytorch": [{"skipped": "same"}]})
    assert skipped["skipped"] == "no SimpleConvNet"


def test_each_implementation_runs_in_its_own_processes_taking_turns(steps, monkeypatch):
    started = []

    def fake_child(kind, names, args, env):
        started.append((kind, *names))
        return process(1.0)

    monkeypatch.setattr(steps, "run_child", fake_child)
    monkeypatch.setattr(steps, "prepare_torch_case", lambda case, folder: None)
    args = steps.parse_args(["--runs", "2", "--spread-runs", "3", "--impls", "pytorch,pytorch-fused"])
    data = steps.measure_case("mlp-large", args, {}, with_torch=True)
    assert started == [("steps", "mlp-large", name) for name in ("chainrule", "pytorch", "pytorch-fused")] * 2 + [
        ("steps", "mlp-large", "chainrule")]
    assert data["results"]["chainrule"]["processes"] == 3 and data["results"]["pytorch"]["processes"] == 2
    started.clear()
    steps.measure_case("gradient-f64", steps.parse_args(["--runs", "1"]), {}, with_torch=False)
    assert started == [("steps", "gradient-f64", "chainrule")]


def test_contention_children_time_their_steps_only(steps, monkeypatch):
    seen = []
    monkeypatch.setattr(steps, "run_child", lambda kind, names, args, env: seen.append(args) or process(1.0))
    monkeypatch.setattr(steps, "competitor", lambda kind, env: contextlib.nullcontext())
    row = steps.measure_contention("mlp-small", steps.parse_args(["--runs", "2"]), {})
    assert len(seen) == 4 and all(args.no_products and args.load_aware for args in seen)
    assert row["slowdown"] == 1.0 and not steps.parse_args([]).no_products


def test_implementations_follow_the_case_and_the_backend(steps):
    args = steps.parse_args([])
    assert steps.implementations("mlp-small", args, True) == ["chainrule", "pytorch", "naive-f64"]
    assert steps.implementations("cnn", args, True) == ["chainrule", "pytorch", "pytorch-fused", "naive-f64"]
    assert steps.implementations("gradient-f64", args, True) == ["chainrule", "pytorch"]
    cupy = steps.parse_args(["--backend", "cupy"])
    assert steps.implementations("mlp-large", cupy, True) == ["chainrule", "pytorch", "pytorch-fused"]


def test_children_get_the_threads_and_the_allocator_setting(steps, monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "4096")
    env = steps.child_env(steps.parse_args(["--threads", "1"]))
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "1"
    assert env["MALLOC_MMAP_THRESHOLD_"] == str(32 << 20) and env["MALLOC_TRIM_THRESHOLD_"] == str(64 << 20)
    default = steps.child_env(steps.parse_args(["--malloc", "default"]))
    assert "MALLOC_MMAP_THRESHOLD_" not in default and "MALLOC_TRIM_THRESHOLD_" not in default


def test_children_spin_or_sleep_between_products_as_asked(steps, monkeypatch):
    from chainrule.threads import SLEEP_BETWEEN_PRODUCTS

    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "12")  # left in the shell: spin means the libraries' default
    spin = steps.child_env(steps.parse_args([]))
    assert not set(SLEEP_BETWEEN_PRODUCTS) & set(spin)
    sleep = steps.child_env(steps.parse_args(["--blas-wait", "sleep"]))
    assert {k: sleep[k] for k in SLEEP_BETWEEN_PRODUCTS} == SLEEP_BETWEEN_PRODUCTS


def test_gemm_peak_is_the_highest_median(steps):
    gemm = {"gemm": {"2048x2048x2048": {"gflops": 90.0, "best_gflops": 99.0}, "256x784x1024": {"gflops": 70.0}}}
    assert steps.gemm_peak(gemm) == 90.0 and steps.gemm_peak({"error": "?"}) is None


def test_bad_options_are_one_line_errors(steps, capsys):
    with pytest.raises(SystemExit) as exit_info:
        steps.parse_args(["--cases", "mlp-huge"])
    assert exit_info.value.code == 2 and "--cases: unknown mlp-huge" in capsys.readouterr().err
    for bad in ("-1", "nan", "inf"):
        with pytest.raises(SystemExit):
            steps.parse_args(["--project-peak", bad])
        assert "--project-peak must be a GEMM peak" in capsys.readouterr().err


def test_load_check_reads_proc_stat(steps):
    busy = steps.cpu_busy_fraction(0.2, steps._usable_cpus())
    assert busy is None or 0.0 <= busy <= 1.0


def test_chainrules_process_never_imports_torch(steps):
    args = steps.parse_args(["--threads", "1", "--reps", "1", "--block", "0.001"])
    run = steps.run_child("steps", ["mlp-small", "chainrule"], args, steps.child_env(args))
    assert run["torch_imported"] is False and len(run["losses_first_3_steps"]) == 3
    assert run["result"]["median_s"] > 0


def test_float64_torch_twin_keeps_float64_weights(steps):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    net = MultiLayerNet(12, [9], 4, weight_init_std="he", rng=0)
    model = steps.torch_twin(net)
    x = rng.random((5, 12))
    with torch.no_grad():
        scores = model(torch.from_numpy(x)).numpy()
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, net.predict(x), rtol=1e-12, atol=1e-12)


def test_a_prepared_case_gives_pytorch_chainrules_weights_and_batches(steps, tmp_path):
    torch = pytest.importorskip("torch")
    import json

    assert steps.prepare_torch_case("mlp-small", str(tmp_path)) is None
    spec = json.loads((tmp_path / "case.json").read_text())
    weights = {key: np.load(tmp_path / f"weight {key}.npy") for key in spec["weights"]}
    model = steps.torch_model(spec["layers"], weights)
    case = steps.build_case("mlp-small")
    x = np.load(tmp_path / "x 0.npy")
    np.testing.assert_array_equal(x, steps.case_batches(case)[0][0])
    with torch.no_grad():
        scores = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(scores, case.net.predict(x), rtol=1e-5, atol=1e-6)
    assert spec["step_flops"] == steps.matmul_flops(case.net, 100)[1]
