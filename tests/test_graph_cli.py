"""``chainrule graph``: prints every edge (or the trace) and writes the picture it is asked for."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import pytest

from chainrule.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_graph_apple_orange_writes_svg_in_the_current_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "graph", "apple-orange")
    assert code == 0 and "wrote apple-orange.svg" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:] if line.startswith("  ")}
    assert rows["total"] == ["715.0", "1.0"] and rows["tax"] == ["1.1", "650.0"] and rows["orange"] == ["150.0", "3.3"]
    ET.parse(tmp_path / "apple-orange.svg")


def test_graph_trace_prints_each_chain_rule_product(capsys, tmp_path):
    code, out, _ = run(capsys, "graph", "apple-orange", "--trace", "-o", str(tmp_path / "g.dot"))
    assert code == 0
    assert "tax:         local ∂total/∂tax = 650.0 (= fruit_price) × upstream 1.0 = 650.0" in out
    assert "apple:     local ∂apple_price/∂apple = 2.0 (= apple_num) × upstream 1.1 = 2.2" in out
    assert "local ∂fruit_price/∂orange_price = 1.0 (addition passes it on) × upstream 1.1 = 1.1" in out
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith('digraph "apple-orange" {')


def test_graph_exact_has_no_rounding_noise(capsys, tmp_path):
    code, out, _ = run(capsys, "graph", "apple", "--exact", "--trace", "-o", str(tmp_path / "a.svg"))
    assert code == 0 and "0000" not in out and "= 2.2" in out


def test_graph_model_two_layer(capsys, tmp_path):
    path = tmp_path / "net.svg"
    argv = ["graph", "--model", "two-layer", "--input-size", "12", "--hidden-size", "5", "--output-size", "3"]
    code, out, _ = run(capsys, *argv, "--batch-size", "4", "-o", str(path))
    assert code == 0
    assert "(4, 12)" in out and "(4, 5)" in out and "norm 0." in out
    texts = {element.text for element in ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}text")}
    assert {"W1 (12, 5)", "(4, 3)", "Affine", "ReLU"} <= texts


def test_graph_png(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    code, _, _ = run(capsys, "graph", "apple", "-o", str(tmp_path / "apple.png"))
    assert code == 0 and (tmp_path / "apple.png").read_bytes()[:4] == b"\x89PNG"


def test_graph_png_without_matplotlib_is_a_clear_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, out, err = run(capsys, "graph", "apple", "-o", str(tmp_path / "apple.png"))
    assert code == 1 and "pip install 'chainrule[plot]'" in err and out == ""


@pytest.mark.parametrize(
    "argv, message",
    [
        (["graph"], "give an example"),
        (["graph", "apple", "--model", "two-layer"], "not both"),
        (["graph", "apple", "-o", "apple.jpg"], "the suffix picks the format"),
    ],
)
def test_graph_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as error:
        main(argv)
    assert error.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("where", ["missing/x.svg", "file.txt/x.svg", "folder.svg"])
def test_graph_checks_the_output_before_any_work(capsys, tmp_path, where):
    (tmp_path / "file.txt").write_text("not a folder")
    (tmp_path / "folder.svg").mkdir()
    with pytest.raises(SystemExit) as error:
        main(["graph", "--model", "two-layer", "-o", str(tmp_path / where)])
    out = capsys.readouterr()
    assert error.value.code == 2 and out.out == ""  # no table printed, no network built
    assert out.err.count("\n") == 1 and "cannot write" in out.err and where.split("/")[0] in out.err
