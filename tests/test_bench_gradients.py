"""``chainrule bench gradients`` on tiny sizes: it runs and both gradients agree (no timing claims)."""

from __future__ import annotations

import pytest

from chainrule.cli.main import main
from chainrule.gradient_cost import GradientCost, kink_note, measure_gradient_cost, sweep_gradient_cost

TINY = {"input_size": 6, "output_size": 3, "batch_size": 4, "repeats": 2}


def test_measure_counts_parameters_and_agrees():
    cost = measure_gradient_cost(4, **TINY)
    assert cost.parameters == 6 * 4 + 4 + 4 * 3 + 3
    assert cost.numerical_seconds > 0 and cost.backprop_seconds > 0 and cost.ratio > 0
    assert cost.max_abs_difference < 1e-8 or cost.straddles_kink


def test_sweep_reports_each_size_as_it_goes():
    seen = []
    results = sweep_gradient_cost([2, 3], report=seen.append, **TINY)
    assert [cost.hidden_size for cost in results] == [2, 3] and seen == results


def test_kink_note_explains_rows_that_straddle_relu_kink():
    smooth = GradientCost(5, 10, 1.0, 0.001, 1e-10, kink_distance=0.3)
    kinked = GradientCost(7, 20, 1.0, 0.001, 1e-4, kink_distance=5e-5)
    assert kink_note([smooth]) == ""
    assert not smooth.straddles_kink and kinked.straddles_kink
    assert "5.0e-05 at hidden 7" in kink_note([smooth, kinked])


def test_bench_gradients_command(capsys, tmp_path):
    argv = ["bench", "gradients", "--hidden-sizes", "2,3", "--input-size", "6", "--output-size", "3"]
    code = main([*argv, "--batch-size", "2", "--repeats", "1"])
    out = capsys.readouterr().out
    assert code == 0
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [row[0] for row in rows] == ["2", "3"]
    for row in rows:
        assert row[1] == str(6 * int(row[0]) + int(row[0]) + int(row[0]) * 3 + 3)
        assert float(row[5]) < 1e-8 or row[-1] == "*"


def test_bench_gradients_png(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "cost.png"
    argv = ["bench", "gradients", "--hidden-sizes", "2,4", "--input-size", "6", "--output-size", "3", "-o", str(path)]
    assert main([*argv, "--repeats", "1"]) == 0
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_an_output_format_matplotlib_cannot_write_is_refused_before_the_timings(capsys, tmp_path):
    argv = ["bench", "gradients", "--hidden-sizes", "2", "--input-size", "6", "--repeats", "1"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "-o", str(tmp_path / "cost.txt")])
    captured = capsys.readouterr()
    assert exit_info.value.code == 2 and captured.out == ""  # no sweep ran
    assert "-o/--output" in captured.err and ".png, .svg, .pdf" in captured.err and "cost.txt" in captured.err
    assert len(captured.err.strip().splitlines()) == 1 and not list(tmp_path.iterdir())


def test_bench_without_a_benchmark_prints_help(capsys):
    assert main(["bench"]) == 2
    assert "gradients" in capsys.readouterr().out


def test_hidden_sizes_must_be_positive_integers(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "gradients", "--hidden-sizes", "10,x"])
    assert "comma-separated integers" in capsys.readouterr().err
