"""The explainer's content without a browser: numbers, steps, the page file, the server, the CLI."""

from __future__ import annotations

import base64
import json
import re
import struct
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest

from chainrule import AddLayer, MulLayer, TwoLayerNet
from chainrule.cli.main import main
from chainrule.errors import GraphError
from chainrule.explain import Explanation, apply_inputs, explain
from chainrule.explain.document import build_document
from chainrule.explain.heatmap import cells, heat_map
from chainrule.explain.words import WORDS, say
from chainrule.graph import EXAMPLES, Graph, apple_orange, format_trace, network_graph

from explain_helpers import cli_trace, parse_trace


def grad_text(grad: dict | None) -> str:
    """A gradient record as ``chainrule graph --trace`` writes it: ``2.2`` or ``norm 0.0123``."""
    if grad is None:
        return "none"
    return grad["value"] if "value" in grad else f"norm {grad['norm']}"


def rows(steps: list[dict], kind: str) -> list[dict]:
    return [row for step in steps for row in step["rows"] if row["kind"] == kind]


def forward_text(row: dict) -> str:
    return f"{row['formula']} = {row['numbers']} = {row['result']}" if row["numbers"] else f"{row['formula']} → {row['result']}"


def product_numbers(row: dict) -> dict[str, str]:
    """What the trace shows of one product: {} for no gradient, no ``local`` for a Jacobian."""
    if row["kind"] == "no_gradient":
        return {}
    numbers = {"upstream": grad_text(row["upstream"]), "grad": grad_text(row["grad"])}
    return numbers if row["local"] is None else {**numbers, "local": row["local"]}


def results(steps: list[dict]) -> dict[str, str]:
    return {row["edge"]: grad_text(row["grad"]) for row in rows(steps, "result") if not row["parameter"]}


def shared_value_graph() -> Graph:
    """x is read by two nodes: its gradient is the sum 3 + 2 of what they send back."""
    g = Graph("shared")
    g.input("x", 4.0), g.input("a", 3.0), g.input("b", 2.0)
    g.apply(MulLayer(), ["x", "a"], "y", name="mul_a")
    g.apply(MulLayer(), ["x", "b"], "z", name="mul_b")
    g.apply(AddLayer(), ["y", "z"], "out", name="add")
    return g


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_number_matches_chainrule_graph_trace(name, capsys, tmp_path):
    trace = cli_trace(capsys, tmp_path, name)
    steps = build_document(EXAMPLES[name]())["steps"]
    assert {row["node"]: forward_text(row) for row in rows(steps, "forward")} == trace.forward
    products = rows(steps, "product") + rows(steps, "no_gradient")
    assert {(row["node"], row["input"]): product_numbers(row) for row in products} == trace.products
    assert results(steps) == trace.gradients


def test_first_backward_step_names_the_local_derivative_of_the_node():
    """Not ∂total/∂fruit_price = ∂total/∂total × ∂total/∂fruit_price: the second factor is the node's own."""
    steps = build_document(apple_orange())["steps"]
    first = next(step for step in steps if step["kind"] == "backward")
    assert first["node"] == "mul_tax"
    product = first["rows"][0]
    assert (product["out"], product["output"], product["input"]) == ("total", "total", "fruit_price")
    assert product["local_name"] == "∂(fruit_price × tax)/∂fruit_price"
    assert (product["upstream"], product["local"], product["grad"]) == ({"value": "1.0"}, "1.1", {"value": "1.1"})
    assert product["why"] == {"key": "why_formula", "values": {"formula": "= tax"}}
    add = next(row for row in rows(steps, "product") if row["node"] == "add_fruit" and row["input"] == "apple_price")
    assert add["local_name"] == "∂(apple_price + orange_price)/∂apple_price" and add["why"]["key"] == "why_add"
    net = build_document(network_graph(TwoLayerNet(6, 5, 3, rng=0), batch_size=4))["steps"]
    relu = next(row for row in rows(net, "product") if row["node"] == "Relu1")
    assert relu["local_name"] == "∂ReLU(a1)/∂a1" and relu["local"] is None  # an array: a Jacobian


def test_summary_of_a_network_lists_every_gradient_it_counts():
    net = TwoLayerNet(6, 5, 3, rng=0)
    doc = build_document(network_graph(net, batch_size=4))
    done = doc["steps"][-1]
    assert done["kind"] == "done"
    parameters = {row["edge"]: row["grad"] for row in done["rows"] if row["kind"] == "result" and row["parameter"]}
    assert list(parameters) == ["W1", "b1", "W2", "b2"]
    for key, grad in parameters.items():
        assert grad["shape"] == str(net.params[key].shape)
    # the numbers are the norms of the layers' gradients, and they add up to what the cost meter counts
    affine1, affine2 = net.layers["Affine1"], net.layers["Affine2"]
    assert parameters["W1"]["norm"] == f"{np.linalg.norm(affine1.grads['W']):.3g}"
    assert parameters["b2"]["norm"] == f"{np.linalg.norm(affine2.grads['b']):.3g}"
    assert sum(net.params[key].size for key in parameters) == doc["cost"]["unknowns"] == 53
    headings = [row["words"] for row in done["rows"] if row["kind"] == "heading"]
    assert headings[1] == {"key": "results_parameters", "values": {"count": "4", "unknowns": "53"}}
    assert results(doc["steps"])["t"] == "none"  # labels: no gradient


def test_every_sentence_of_a_document_is_in_the_words_table_and_fills_in_both_languages():
    """Words travel as {key, values} records: "norm", "none" and the rest are translated, never baked in English."""
    net = build_document(network_graph(TwoLayerNet(6, 5, 3, rng=0), batch_size=4))
    found = []

    def walk(value):
        if isinstance(value, dict):
            if set(value) == {"key", "values"}:
                found.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for doc in (net, build_document(apple_orange()), build_document(shared_value_graph())):
        walk({k: v for k, v in doc.items() if k != "words"})
    assert {"norm", "heat_scale", "results_parameters", "sum_note", "why_add", "legend_arrays"} <= {w["key"] for w in found}
    for record in found:
        english, chinese = say(record, "en"), say(record, "zh")
        assert english and chinese and "{" not in english + chinese
    assert say({"key": "norm", "values": {"norm": "0.5"}}, "zh") == "范数 0.5"
    assert WORDS["none"]["zh"] == "无"
    # nothing English hides in the rows: their strings are names, numbers and formulas
    english_words = re.compile(r"\b(norm|none|no gradient|labels)\b")
    for step in net["steps"]:
        for row in step["rows"]:
            strings = [v for k, v in row.items() if isinstance(v, str) and k not in ("kind",)]
            assert not any(english_words.search(text) for text in strings), row


def test_steps_run_forward_then_backward_and_reveal_in_order():
    doc = build_document(apple_orange())
    kinds = [s["kind"] for s in doc["steps"]]
    assert kinds == ["start"] + ["forward"] * 4 + ["seed"] + ["backward"] * 4 + ["done"]
    assert [s["node"] for s in doc["steps"] if s["kind"] == "backward"] == ["mul_tax", "add_fruit", "mul_orange", "mul_apple"]
    for arrow in doc["arrows"]:  # a value is computed before its gradient, and both exist
        assert arrow["value"] <= 4 < 5 <= arrow["grad"] <= 9
    # the backward step of add_fruit completes the gradients of apple_price and orange_price
    add = doc["steps"].index(next(s for s in doc["steps"] if s["kind"] == "backward" and s["node"] == "add_fruit"))
    assert sorted(a["grad"] for a in doc["arrows"] if a["target"] == "add_fruit") == [add, add]


def test_operation_counts_backprop_against_numerical_differentiation():
    doc = build_document(apple_orange())
    assert doc["cost"] == {"kind": "inputs", "nodes": 4, "unknowns": 5, "backprop": 8, "numerical": 40}
    last = doc["steps"][-1]["cost"]
    assert (last["forward"], last["backward"], last["known"], last["numerical"]) == (4, 4, 5, 40)
    knowns = [s["cost"]["known"] for s in doc["steps"]]
    assert knowns == sorted(knowns) and knowns[5] == 0  # nothing is known before the backward pass
    net = TwoLayerNet(6, 5, 3, rng=0)
    cost = build_document(network_graph(net, batch_size=4))["cost"]
    assert cost["kind"] == "parameters" and cost["unknowns"] == 6 * 5 + 5 + 5 * 3 + 3
    assert cost["numerical"] == 2 * 4 * cost["unknowns"] and cost["backprop"] == 8


def test_shared_value_shows_the_sum_when_its_last_reader_is_done():
    doc = build_document(shared_value_graph())
    sums = [(i, row) for i, s in enumerate(doc["steps"]) for row in s["rows"] if row["kind"] == "sum"]
    assert len(sums) == 1
    index, row = sums[0]
    assert (row["edge"], row["out"], row["parts"], row["grad"]) == ("x", "out", ["3.0", "2.0"], "5.0")
    assert row["why"] == {"key": "sum_note", "values": {"edge": "x", "count": "2"}}
    assert index == max(i for i, s in enumerate(doc["steps"]) if s["kind"] == "backward" and s["node"] in ("mul_a", "mul_b"))
    # the split dot and the lane into it show the sum from that same step on
    assert [c["grad"] for c in doc["circles"] if c["grad"] is not None].count(index) >= 1
    assert any(a["target"] == "split:x" and a["grad"] == index for a in doc["arrows"])


def test_page_is_one_file_that_fetches_nothing(tmp_path):
    path = tmp_path / "page.html"
    explain(apple_orange(), path)
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link" not in html and "@import" not in html and "<script src" not in html
    assert "xmlns=\"http://www.w3.org/2000/svg\"" in html  # a namespace name, not a request
    data = re.search(r'<script type="application/json" id="explain-data">(.*?)</script>', html, re.S).group(1)
    assert json.loads(data)["title"] == "apple-orange"


def test_page_skeleton_is_a_template_shipped_as_package_data():
    import tomllib
    from importlib.resources import files
    from pathlib import Path

    assets = {"page.html", "page.css", "page.js"}
    assert all(files("chainrule.explain").joinpath(name).is_file() for name in assets)
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert assets <= set(pyproject["tool"]["setuptools"]["package-data"]["chainrule.explain"])
    html = Explanation(apple_orange(), language="zh").html()
    assert '<html lang="zh-CN">' in html and '<button type="button" data-action="next" data-word="next">下一步</button>' in html
    assert not re.search(r"\$\w", html.split('<script type="application/json"', 1)[0])  # every $field filled


def test_words_exist_in_both_languages():
    for key, text in WORDS.items():
        assert set(text) == {"en", "zh"}, key
        assert sorted(re.findall(r"\{\w+\}", text["en"])) == sorted(re.findall(r"\{\w+\}", text["zh"])), key
    doc = build_document(apple_orange())
    assert say(doc["steps"][6]["title"], "zh") == "反向传播 1/4：mul_tax"


def test_heat_maps_are_valid_pngs_of_the_array():
    rng = np.random.default_rng(0)
    image, how = cells(rng.random((5, 784)))
    assert how == "image" and image.shape == (28, 28)
    blocks, how = cells(rng.standard_normal((100, 50)))
    assert how == "blocks" and blocks.shape == (16, 50)
    full, how = cells(np.arange(6.0))
    assert how == "full" and full.shape == (1, 6)
    heat = heat_map(np.array([[-2.0, 0.0, 1.0]]))
    png = base64.b64decode(heat.src.split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    raw = zlib.decompress(png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8])
    pixels = [tuple(raw[1 + 3 * i : 4 + 3 * i]) for i in range(3)]
    assert (width, height) == (3, 1) and heat.scale == 2.0
    assert pixels[0][2] > pixels[0][0] and pixels[1] == (255, 255, 255) and pixels[2][0] > pixels[2][2]


def test_explain_leaves_the_caller_graph_run_and_unchanged():
    g = shared_value_graph()  # never run: explain runs it
    explanation = explain(g)
    assert isinstance(explanation, Explanation) and g["x"].grad == 5.0
    before = format_trace(g)
    explanation.html()
    assert format_trace(g) == before  # tracing the local derivatives leaves the layers as they were


def test_jupyter_shows_the_page_in_a_sandboxed_frame():
    html = explain(apple_orange())._repr_html_()
    assert html.startswith("<iframe") and 'sandbox="allow-scripts"' in html and "srcdoc=" in html


def test_inputs_are_parsed_like_the_cli_and_errors_name_the_input():
    g = EXAMPLES["apple"]()
    apply_inputs(g, {"apple": " 150 "})
    assert g["apple"].value == 150.0 and g["tax"].grad == pytest.approx(300.0)
    with pytest.raises(GraphError, match="input apple must be a number, got 'abc'"):
        apply_inputs(g, {"apple": "abc"})
    with pytest.raises(GraphError, match="finite"):
        apply_inputs(g, {"tax": "nan"})
    with pytest.raises(GraphError, match="'total' is not an input you can set"):
        apply_inputs(g, {"total": "1"})


def test_cli_writes_the_page_and_rejects_bad_input(tmp_path, capsys):
    out = tmp_path / "a.html"
    assert main(["explain", "apple", "-o", str(out), "--input", "apple=150", "--lang", "zh"]) == 0
    html = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and '"value":"150.0"' in html
    assert main(["explain", "apple", "-o", str(out), "--input", "apple=abc"]) == 2
    assert "--input: graph 'apple': input apple must be a number" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", "apple", "--input", "apple"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main(["explain"])


def test_cli_exact_page_and_output_checked_first(tmp_path, capsys):
    out = tmp_path / "exact.html"
    assert main(["explain", "apple-orange", "--exact", "-o", str(out)]) == 0
    doc = json.loads(re.search(r'id="explain-data">(.*?)</script>', out.read_text(encoding="utf-8"), re.S).group(1))
    assert [i["value"] for i in doc["inputs"]] == ["100.0", "2.0", "150.0", "3.0", "1.1"]
    assert not any(i["editable"] for i in doc["inputs"])  # fractions: a fixed page
    capsys.readouterr()
    for argv in (["apple", "--exact", "--serve"], ["apple", "-o", str(tmp_path / "no" / "x.html")]):
        with pytest.raises(SystemExit) as exit_info:
            main(["explain", *argv])
        assert exit_info.value.code == 2 and capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "no").exists()


def test_cli_trace_with_input_matches_the_library(capsys, tmp_path):
    trace = cli_trace(capsys, tmp_path, "apple", "--input", "apple=150", "--input", "tax=1.08")
    g = EXAMPLES["apple"]()
    g.forward(apple=150.0, tax=1.08)
    g.backward()
    assert trace == parse_trace(format_trace(g))


@pytest.fixture
def served():
    server = Explanation(EXAMPLES["apple"]()).serve(0)
    server.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


def post(url: str, body: bytes, host: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url + "api/explain", data=body, headers={"Content-Type": "application/json"})
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_server_recomputes_with_the_graph_and_refuses_bad_requests(served, capsys, tmp_path):
    assert served.url.startswith("http://127.0.0.1:") and served.server_address[0] == "127.0.0.1"
    with urllib.request.urlopen(served.url, timeout=10) as response:
        page = response.read().decode("utf-8")
    assert '"served":true' in page
    status, doc = post(served.url, json.dumps({"inputs": {"apple": "150"}}).encode())
    assert status == 200
    assert results(doc["steps"]) == cli_trace(capsys, tmp_path, "apple", "--input", "apple=150").gradients
    status, error = post(served.url, json.dumps({"inputs": {"apple": "abc"}}).encode())
    assert status == 400 and "input apple must be a number" in error["error"]
    status, error = post(served.url, b"not json")
    assert status == 400
    status, error = post(served.url, json.dumps({"inputs": {"apple": "1"}}).encode(), host="evil.example:80")
    assert status == 403


def test_cli_serve_prints_its_url_and_answers_there(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": f"{source}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule.cli.main", "explain", "apple", "--serve"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = process.stdout.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+/)", line).group(1)
        status, doc = post(url, json.dumps({"inputs": {"tax": "1.08"}}).encode())
        assert status == 200 and doc["served"] and doc["inputs"][2] == {"name": "tax", "value": "1.08", "editable": True}
        assert not (tmp_path / "apple.html").exists()  # serving writes no file unless -o asks for one
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0 and "stopped" in output
