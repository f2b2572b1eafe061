"""The explainer in a real browser: Debian's headless Chromium driven by Selenium.

The tests press the page's controls as a reader would, read the numbers shown at every step and
hold them against ``chainrule graph --trace``; edit an input in served mode; switch language;
check contrast, keyboard use and narrow screens; and save screenshots at 360 and 1280 px
(to ``$CHAINRULE_SCREENSHOTS`` when set, for a person to look at). They skip where no browser
is installed; CI installs one (``.ci/run``).
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from chainrule.cli.main import main
from chainrule.explain import Explanation
from chainrule import TwoLayerNet
from chainrule.graph import EXAMPLES, network_graph

from explain_helpers import cli_trace

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")


def unavailable(reason: str) -> None:
    """Skip, unless CI installed the browser (CHAINRULE_REQUIRE_BROWSER=1): then it is a failure."""
    if os.environ.get("CHAINRULE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser tests must run here: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM or not CHROMEDRIVER:
        unavailable("no Chromium/chromedriver installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"):
        options.add_argument(argument)
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    except WebDriverException as error:  # a browser that cannot start is an environment problem
        unavailable(f"Chromium did not start: {error.msg}")
    driver.set_window_size(1280, 1000)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    made = {}
    for name in sorted(EXAMPLES):
        made[name] = folder / f"{name}.html"
        assert main(["explain", name, "-o", str(made[name])]) == 0  # the page the command writes
    return made


@pytest.fixture
def width(browser):
    """Emulate a screen ``width`` px wide (a phone at 360); restored to 1280 afterwards."""

    def set_width(pixels: int) -> None:
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": pixels, "height": 900, "deviceScaleFactor": 1, "mobile": pixels < 600},
        )

    yield set_width
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def open_page(browser, url: str) -> None:
    browser.get(url)
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "explainer").get_attribute("data-ready"))


def press(browser, action: str) -> None:
    browser.find_element(By.CSS_SELECTOR, f"[data-action={action}]").click()


def shown(browser) -> dict:
    """What the page shows now: step counter, title, forward lines, products, results, counts."""
    return browser.execute_script(
        """
        const q = (s) => Array.from(document.querySelectorAll(s));
        const span = (p, c) => { const e = p.querySelector('.' + c); return e ? e.textContent : undefined; };
        return {
          position: document.querySelector('.position').textContent,
          title: document.querySelector('.step h2').textContent,
          forward: q('.lines .forward').map(p => [p.dataset.node, p.textContent]),
          products: q('.lines .product').map(p => [p.dataset.node, p.dataset.input,
                     {upstream: span(p, 'upstream'), local: span(p, 'local'), grad: span(p, 'grad')}]),
          results: q('.lines .result:not(.parameter)').map(p => [p.dataset.edge, p.querySelector('.grad').textContent]),
          parameterResults: q('.lines .result.parameter').map(p => [p.dataset.edge, p.querySelector('.grad').textContent]),
          visibleGrads: q('svg text.grad:not(.pending)').map(t => t.textContent),
          activeNodes: q('svg circle.node.active').map(c => c.dataset.name),
          backpropOps: +document.querySelector('.meter.backprop').dataset.ops,
          numericalOps: +document.querySelector('.meter.numerical').dataset.ops,
          lang: document.documentElement.lang,
        };
        """
    )


def walk(browser) -> list[dict]:
    """Every step from the first to the last, pressing Next."""
    press(browser, "reset")
    seen = [shown(browser)]
    while browser.find_element(By.CSS_SELECTOR, "[data-action=next]").is_enabled():
        press(browser, "next")
        seen.append(shown(browser))
    return seen


def compare_with_trace(seen: list[dict], trace) -> None:
    forward = {node: text for step in seen for node, text in step["forward"]}
    assert forward == trace.forward
    products = {}
    for step in seen:
        for node, name, numbers in step["products"]:
            products[(node, name)] = {k: v for k, v in numbers.items() if v is not None}
    assert products == trace.products
    assert dict(seen[-1]["results"]) == trace.gradients


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_stepping_shows_the_numbers_of_chainrule_graph_trace(browser, pages, name, capsys, tmp_path):
    open_page(browser, pages[name].as_uri())
    seen = walk(browser)
    compare_with_trace(seen, cli_trace(capsys, tmp_path, name))
    nodes = len(trace_order(name))
    assert len(seen) == 2 * nodes + 3  # inputs, forward, seed, backward, summary
    assert seen[0]["visibleGrads"] == [] and seen[-1]["position"] == f"Step {len(seen)} of {len(seen)}"
    assert [s["activeNodes"] for s in seen[1 : nodes + 1]] == [[n] for n in trace_order(name)]
    # gradients appear only in the backward pass, and all of them by its end
    assert all(s["visibleGrads"] == [] for s in seen[: nodes + 1])
    assert len(seen[-1]["visibleGrads"]) > len(seen[nodes + 2]["visibleGrads"]) > 0
    # operation counts: backprop ends at 2 × nodes; numerical grows with each gradient it would need
    assert seen[-1]["backpropOps"] == 2 * nodes
    assert seen[-1]["numericalOps"] == 2 * nodes * len(seen[-1]["results"])
    assert [s["numericalOps"] for s in seen] == sorted(s["numericalOps"] for s in seen)
    # Back undoes Next
    press(browser, "back")
    assert shown(browser)["products"] == seen[-2]["products"]


def trace_order(name: str) -> list[str]:
    return [node.name for node in EXAMPLES[name]().order()]


def test_keyboard_arrows_and_tab_reach_everything(browser, pages):
    open_page(browser, pages["apple"].as_uri())
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    assert shown(browser)["position"] == "Step 3 of 7"
    body.send_keys(Keys.ARROW_LEFT)
    assert shown(browser)["position"] == "Step 2 of 7"
    body.send_keys(Keys.END)
    assert shown(browser)["position"] == "Step 7 of 7"
    body.send_keys(Keys.HOME)
    assert shown(browser)["position"] == "Step 1 of 7"
    # Tab visits every enabled control, each with a visible focus ring
    reached = []
    for _ in range(12):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        element = browser.switch_to.active_element
        label = element.get_attribute("data-action") or element.get_attribute("data-language-choice") or element.get_attribute("name")
        outline = browser.execute_script("return getComputedStyle(arguments[0]).outlineStyle", element)
        reached.append((label, outline))
    labels = {label for label, _ in reached}
    assert {"en", "zh", "play", "next"} <= labels
    assert all(outline != "none" for label, outline in reached if label in ("en", "zh", "play", "next"))
    # Enter on a focused button presses it
    browser.find_element(By.CSS_SELECTOR, "[data-action=next]").send_keys(Keys.ENTER)
    assert shown(browser)["position"] == "Step 2 of 7"


def test_play_runs_to_the_end(browser, pages):
    open_page(browser, pages["apple-orange"].as_uri())
    browser.execute_script("document.getElementById('explainer').dataset.playMs = '40'")
    press(browser, "play")
    WebDriverWait(browser, 10).until(lambda d: shown(d)["position"] == "Step 11 of 11")
    assert browser.find_element(By.CSS_SELECTOR, "[data-action=play]").text == "Play"
    assert dict(shown(browser)["results"])["tax"] == "650.0"


def test_language_switch(browser, pages):
    open_page(browser, pages["apple-orange"].as_uri())
    press(browser, "next")
    browser.find_element(By.CSS_SELECTOR, "[data-language-choice=zh]").click()
    now = shown(browser)
    assert now["lang"] == "zh-CN" and now["position"] == "第 2 步，共 11 步"
    assert now["title"] == "正向传播 1/4：mul_apple"
    assert browser.find_element(By.CSS_SELECTOR, "[data-action=next]").text == "下一步"
    assert "反向传播" in browser.find_element(By.CSS_SELECTOR, ".meter.backprop").text
    assert browser.find_element(By.CSS_SELECTOR, "svg text.legend").text.startswith("箭头上方")
    browser.find_element(By.CSS_SELECTOR, "[data-language-choice=en]").click()
    assert shown(browser)["title"] == "Forward pass 1/4: mul_apple"


def test_served_page_recomputes_a_typed_input(browser, capsys, tmp_path):
    server = Explanation(EXAMPLES["apple-orange"]()).serve(0)
    server.start_in_thread()
    try:
        open_page(browser, server.url)
        field = browser.find_element(By.CSS_SELECTOR, ".inputs input[name=apple]")
        assert field.get_attribute("readonly") is None
        field.clear()
        field.send_keys("120", Keys.ENTER)
        WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "explainer").get_attribute("data-recomputed") == "1")
        compare_with_trace(walk(browser), cli_trace(capsys, tmp_path, "apple-orange", "--input", "apple=120"))
        field = browser.find_element(By.CSS_SELECTOR, ".inputs input[name=tax]")
        field.clear()
        field.send_keys("lots", Keys.ENTER)
        status = browser.find_element(By.CSS_SELECTOR, ".inputs .status")
        WebDriverWait(browser, 10).until(lambda d: "error" in status.get_attribute("class"))
        assert "input tax must be a number, got 'lots'" in status.text
    finally:
        server.shutdown()
        server.server_close()


def test_static_page_inputs_are_read_only_and_say_how_to_edit(browser, pages):
    open_page(browser, pages["apple"].as_uri())
    assert browser.find_element(By.CSS_SELECTOR, ".inputs input[name=apple]").get_attribute("readonly") is not None
    assert "chainrule explain apple --serve" in browser.find_element(By.CSS_SELECTOR, ".inputs .hint").text


def test_network_on_a_random_batch_matches_chainrule_graph_model(browser, tmp_path, capsys):
    path = tmp_path / "net.html"
    assert main(["explain", "--model", "two-layer", "--random-batch", "-o", str(path)]) == 0
    open_page(browser, path.as_uri())
    seen = walk(browser)
    trace = cli_trace(capsys, tmp_path, "--model", "two-layer")
    compare_with_trace(seen, trace)
    # the summary lists the 39,760 parameter gradients the cost meter counts, not only ∂loss/∂x
    net = TwoLayerNet(784, 50, 10, rng=0)
    network_graph(net, batch_size=100, seed=0)  # the batch and the run of --random-batch
    grads = {f"{key}{n}": net.layers[f"Affine{n}"].grads[key] for n in (1, 2) for key in ("W", "b")}
    assert dict(seen[-1]["parameterResults"]) == {k: f"norm {np.linalg.norm(g):.3g}" for k, g in grads.items()}
    assert sum(net.params[key].size for key in grads) == 39_760
    press(browser, "back")  # the last backward step (Affine1): heat maps of its gradients
    images = browser.find_elements(By.CSS_SELECTOR, ".figures img")
    assert images and all(img.get_attribute("alt") for img in images)
    assert all(browser.execute_script("return arguments[0].naturalWidth", img) > 0 for img in images)


def test_network_on_real_mnist(browser, tmp_path):
    data = os.environ.get("CHAINRULE_DATA")
    if not data or not Path(data).is_dir():
        pytest.skip("CHAINRULE_DATA does not point at the MNIST files")
    path = tmp_path / "mnist.html"
    assert main(["explain", "--model", "two-layer", "--batch-size", "20", "--no-download", "-o", str(path)]) == 0
    open_page(browser, path.as_uri())
    assert "mnist" in browser.find_element(By.TAG_NAME, "h1").text
    caption = browser.find_element(By.CSS_SELECTOR, ".figures figcaption").text
    assert caption.startswith("x = value (20, 784)") and "28×28 image" in caption
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.END)
    assert shown(browser)["title"] == "All gradients" and shown(browser)["numericalOps"] > 10_000


def test_phone_reads_the_step_under_the_controls_and_graph_labels_of_11_px(browser, pages, width):
    """At 360 px the explanation used to start ~650 px below Next, and the graph's labels were 9.75 px."""
    width(360)
    for name in ("apple-orange", "apple"):
        open_page(browser, pages[name].as_uri())
        for _ in range(6):
            press(browser, "next")
        layout = browser.execute_script(
            """
            const next = document.querySelector('[data-action=next]').getBoundingClientRect();
            const step = document.querySelector('.step'), line = step.querySelector('.lines p').getBoundingClientRect();
            const svg = document.querySelector('.graph svg');
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            const sizes = Array.from(svg.querySelectorAll('text')).map(t => parseFloat(t.getAttribute('font-size')) * scale);
            return {gap: step.getBoundingClientRect().top - next.bottom, line: line.top - next.bottom,
                    graphBelowStep: document.querySelector('.graph').getBoundingClientRect().top >= step.getBoundingClientRect().bottom,
                    smallest: Math.min(...sizes), page: document.documentElement.scrollWidth};
            """
        )
        assert 0 <= layout["gap"] < 60 and layout["line"] < 300, layout  # the step's first line is in view
        assert layout["graphBelowStep"]
        assert layout["smallest"] >= 11 and layout["page"] <= 360, layout


def test_network_page_in_chinese_words_norms_and_missing_gradients(browser, tmp_path):
    path = tmp_path / "net-zh.html"
    assert main(["explain", "--model", "two-layer", "--random-batch", "--hidden-size", "5", "--lang", "zh", "-o", str(path)]) == 0
    open_page(browser, path.as_uri())
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.END)
    results = dict(shown(browser)["results"])
    assert results["t"] == "无" and results["x"].startswith("范数 ")
    assert all(grad.startswith("范数 ") for _, grad in shown(browser)["parameterResults"])
    texts = browser.execute_script("return Array.from(document.querySelectorAll('svg text.grad')).map(t => t.textContent)")
    assert texts and not any("norm" in text for text in texts) and any(text.startswith("dW1 范数 ") for text in texts)
    lines = browser.find_element(By.CSS_SELECTOR, ".step .lines").text
    assert "norm" not in lines and "none" not in lines
    browser.find_element(By.CSS_SELECTOR, "[data-language-choice=en]").click()
    assert dict(shown(browser)["results"])["t"] == "none"


def test_served_page_says_input_errors_in_chinese(browser):
    server = Explanation(EXAMPLES["apple"](), language="zh").serve(0)
    server.start_in_thread()
    try:
        open_page(browser, server.url)
        status = browser.find_element(By.CSS_SELECTOR, ".inputs .status")
        for typed, expected in (("lots", "输入 tax 必须是数字，而不是“lots”"), ("0x10", "无法重新计算：")):
            field = browser.find_element(By.CSS_SELECTOR, ".inputs input[name=tax]")
            field.clear()
            field.send_keys(typed, Keys.ENTER)
            WebDriverWait(browser, 10).until(lambda d: "error" in status.get_attribute("class") and status.text)
            assert status.text.startswith(expected), status.text
            browser.execute_script("arguments[0].className = 'status'; arguments[0].textContent = ''", status)
    finally:
        server.shutdown()
        server.server_close()


CONTRAST = """
function luminance(rgb) {
  const c = rgb.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}
function parse(color) { const m = color.match(/[\\d.]+/g).map(Number); return { rgb: m.slice(0, 3), a: m.length > 3 ? m[3] : 1 }; }
function background(el) {
  for (; el; el = el.parentElement) {
    const c = parse(getComputedStyle(el).backgroundColor);
    if (c.a > 0 && el.tagName !== 'svg') return c.rgb;
    if (el.tagName === 'svg') { const r = el.querySelector('rect'); if (r) return parse(getComputedStyle(r).fill).rgb; }
  }
  return [255, 255, 255];
}
const failures = [], checked = [];
for (const el of document.querySelectorAll('body *')) {
  const style = getComputedStyle(el);
  const text = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  if (!text || style.visibility === 'hidden' || style.display === 'none' || el.getClientRects().length === 0) continue;
  const fg = parse(el.namespaceURI.endsWith('svg') ? (el.getAttribute('fill') || style.fill) : style.color).rgb;
  const a = luminance(fg), b = luminance(background(el));
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const size = parseFloat(style.fontSize), bold = +style.fontWeight >= 700;
  const needed = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
  checked.push(el.tagName);
  if (ratio < needed) failures.push(el.tagName + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
}
return { failures, checked: checked.length };
"""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_contrast_of_every_text_meets_wcag_aa(browser, pages, language):
    open_page(browser, pages["apple-orange"].as_uri())
    browser.find_element(By.CSS_SELECTOR, f"[data-language-choice={language}]").click()
    for _ in range(7):
        press(browser, "next")
    result = browser.execute_script(CONTRAST)
    assert result["checked"] > 30 and result["failures"] == []


@pytest.mark.parametrize("pixels", [360, 1280])
def test_axe_core_finds_no_violations(browser, pages, width, pixels):
    axe = pytest.importorskip("selenium_axe_python", reason="selenium-axe-python carries axe-core's script")
    width(pixels)
    open_page(browser, pages["apple-orange"].as_uri())
    for _ in range(7):
        press(browser, "next")
    script = Path(axe.__file__).parent / "axe-core" / "axe.min.js"
    browser.execute_script(script.read_text(encoding="utf-8"))
    results = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']}})"
        ".then(done, e => done({error: String(e)}));"
    )
    assert "error" not in results, results
    violations = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]]
    assert violations == []


def screenshot_folder(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CHAINRULE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def not_blank(png: bytes) -> tuple[int, float]:
    """Distinct colours and the share of pixels that are not the page's white."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    colours = len(np.unique(pixels, axis=0))
    return colours, float((pixels != 255).any(axis=1).mean())


@pytest.mark.parametrize("pixels", [360, 1280])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_screenshots_are_readable_from_phone_to_wide_screen(browser, pages, width, tmp_path, pixels, language):
    pytest.importorskip("PIL", reason="Pillow (a matplotlib dependency) reads the screenshots")
    width(pixels)
    open_page(browser, pages["apple-orange"].as_uri())
    browser.find_element(By.CSS_SELECTOR, f"[data-language-choice={language}]").click()
    for _ in range(7):
        press(browser, "next")
    layout = browser.execute_script(
        """
        const graph = document.querySelector('.graph'), svg = graph.querySelector('svg');
        const font = parseFloat(getComputedStyle(document.querySelector('.lines p')).fontSize);
        const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        const node = graph.querySelector('circle.active').getBoundingClientRect(), box = graph.getBoundingClientRect();
        return {page: document.documentElement.scrollWidth, view: window.innerWidth,
                nodeInView: node.left >= box.left && node.right <= box.right,
                scale: scale, font: font,
                buttons: Array.from(document.querySelectorAll('.controls button')).map(b => b.getBoundingClientRect().height)};
        """
    )
    assert layout["view"] == pixels
    assert layout["page"] <= pixels  # no sideways scrolling of the page; a wide graph scrolls in its own box
    assert layout["scale"] * 13 >= 11 and layout["font"] >= 14  # the graph's 13 px labels stay >= 11 px
    assert min(layout["buttons"]) >= 44  # touch targets
    assert layout["nodeInView"]  # a graph wider than a phone scrolls to the active node
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": pixels, "height": min(height, 4000), "deviceScaleFactor": 1, "mobile": pixels < 600},
    )
    png = browser.get_screenshot_as_png()
    (screenshot_folder(tmp_path) / f"explain-apple-orange-{pixels}-{language}.png").write_bytes(png)
    colours, inked = not_blank(png)
    assert colours > 50 and 0.03 < inked < 0.9


@pytest.mark.parametrize("pixels", [360, 1280])
def test_rnn_page_ends_with_the_gradient_norms_by_time_step_in_both_languages(browser, width, tmp_path, pixels):
    """``chainrule explain --model rnn``: step to the end; the bars of ‖∂L/∂h_t‖ and the vanishing sentence show."""
    width(pixels)
    path = tmp_path / "rnn.html"
    assert main(["explain", "--model", "rnn", "-o", str(path)]) == 0
    open_page(browser, path.as_uri())
    seen = walk(browser)
    assert len(seen) == 15 and seen[-1]["title"] == "All gradients"
    assert [s["activeNodes"] for s in seen[1:5]] == [["RNN_1"], ["RNN_2"], ["RNN_3"], ["RNN_4"]]
    assert seen[-1]["backpropOps"] == 12 and len(seen[-1]["parameterResults"]) == 5

    def summary() -> dict:
        return browser.execute_script(
            """
            const box = document.querySelector('.step .time-norms'), r = box.getBoundingClientRect();
            return {visible: r.width > 0 && r.height > 0 && getComputedStyle(box).visibility === 'visible',
                    heading: box.querySelector('.heading').textContent,
                    labels: Array.from(box.querySelectorAll('th')).map(th => th.textContent),
                    names: Array.from(box.querySelectorAll('td')).map(td => td.dataset.name),
                    heights: Array.from(box.querySelectorAll('.bar .fill')).map(f => f.getBoundingClientRect().height),
                    notes: Array.from(document.querySelectorAll('.step .lines .note')).map(p => p.textContent),
                    page: document.documentElement.scrollWidth};
            """
        )

    en = summary()
    assert en["visible"] and en["heading"].startswith("The gradient's norm at each time step")
    assert en["labels"] == ["RNN ‖∂L/∂h_t‖"] and en["names"] == ["h_0", "h_1", "h_2", "h_3", "h_4"]
    assert en["heights"] == sorted(en["heights"]) and en["heights"][0] < en["heights"][-1] / 10  # it vanishes going back
    assert len(en["notes"]) == 1 and en["notes"][0].startswith("The gradient vanishes")
    assert en["page"] <= pixels
    browser.find_element(By.CSS_SELECTOR, "[data-language-choice=zh]").click()
    zh = summary()
    assert zh["visible"] and zh["heading"].startswith("各时间步的梯度范数") and zh["heights"] == en["heights"]
    assert zh["notes"][0].startswith("梯度消失")
    press(browser, "back")  # the first time step's backward: a product along h with its factor, and the bars so far
    lines = browser.find_element(By.CSS_SELECTOR, ".step .lines").text
    assert "∂L/∂h_0 = ∂L/∂h_1 × ∂h_1/∂h_0" in lines and "范数乘以" in lines
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.END)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": pixels, "height": min(height, 4000), "deviceScaleFactor": 1, "mobile": pixels < 600},
    )
    # headless Chromium paints a box that was below the old viewport only on the next frames
    browser.execute_async_script("const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(done));")
    png = browser.get_screenshot_as_png()
    (screenshot_folder(tmp_path) / f"explain-rnn-{pixels}-zh.png").write_bytes(png)
    browser.find_element(By.CSS_SELECTOR, "[data-language-choice=en]").click()
    (screenshot_folder(tmp_path) / f"explain-rnn-{pixels}-en.png").write_bytes(browser.get_screenshot_as_png())


@pytest.mark.parametrize("pixels", [1280, 360])
def test_onnx_cnn_page_steps_to_the_end_with_layer_sentences_and_channel_maps(browser, width, tmp_path, pixels, capsys):
    """``chainrule explain --onnx``: a CNN read from ONNX, stepped through forward and backward; screenshots."""
    pytest.importorskip("onnx")
    from explain_helpers import tiny_cnn_onnx
    from interop_support import HAVE_MNIST

    from chainrule.data import write_fake_dataset

    data = Path(os.environ["CHAINRULE_DATA"]) if HAVE_MNIST else tmp_path / "data"
    if not HAVE_MNIST:
        write_fake_dataset(data, train_size=20, test_size=10)
    model = tiny_cnn_onnx(tmp_path / "cnn.onnx")
    path = tmp_path / "cnn.html"
    assert main(["explain", "--onnx", str(model), "--batch-size", "4", "--data-dir", str(data), "--no-download",
                 "-o", str(path)]) == 0
    width(pixels)
    open_page(browser, path.as_uri())
    seen = walk(browser)
    layers = ["Conv1", "BatchNorm1", "Relu1", "Pool1", "Flatten1", "Affine1", "Relu2", "Affine2", "loss_layer"]
    assert len(seen) == 2 * len(layers) + 3 and seen[-1]["title"] == "All gradients"
    assert [s["activeNodes"] for s in seen[1 : len(layers) + 1]] == [[n] for n in layers]
    assert seen[-1]["backpropOps"] == 2 * len(layers)
    assert [name for name, _ in seen[-1]["parameterResults"]] == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "W3", "b3"]
    assert all(grad.startswith("norm ") for _, grad in seen[-1]["parameterResults"])

    def step_view() -> dict:
        return browser.execute_script(
            """
            return {layer: Array.from(document.querySelectorAll('.lines .layer')).map(p => p.textContent),
                    images: Array.from(document.querySelectorAll('.figures img')).map(i =>
                        [i.naturalWidth, i.getBoundingClientRect().width, i.alt]),
                    page: document.documentElement.scrollWidth};
            """
        )

    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.HOME, Keys.ARROW_RIGHT)  # forward through Conv1: its sentence and its 4 channels side by side
    conv = step_view()
    assert conv["layer"][0].startswith("Convolution: 4 filters of 1×3×3 slide over x (stride 1, padding 1)")
    natural, shown_width, alt = conv["images"][0]
    assert natural == 4 * 28 + 3 and "channels 0–3 of 4, side by side" in alt
    assert shown_width >= min(natural * 3, pixels - 80)  # enlarged, or as wide as a phone allows
    assert conv["page"] <= pixels
    browser.find_element(By.CSS_SELECTOR, "[data-language-choice=zh]").click()
    assert step_view()["layer"][0].startswith("卷积：4 个 1×3×3 的滤波器")
    browser.find_element(By.CSS_SELECTOR, "[data-language-choice=en]").click()
    body.send_keys(Keys.END, Keys.ARROW_LEFT)  # the last backward step: Conv1's, with dW1 drawn filter by filter
    back = step_view()
    assert back["layer"][0].startswith("Backward: dW1 sums every window")
    assert any("filters 0–3 of 4" in alt for _, _, alt in back["images"])
    assert all(natural > 0 for natural, _, _ in back["images"])
    for name, keys in (("", (Keys.HOME, Keys.ARROW_RIGHT)), ("-backward", (Keys.END, Keys.ARROW_LEFT))):
        body.send_keys(*keys)
        (screenshot_folder(tmp_path) / f"explain-onnx-cnn{name}-{pixels}.png").write_bytes(whole_page(browser, pixels))


def whole_page(browser, pixels: int) -> bytes:
    """A screenshot of the whole page as it is now (up to 4,000 px tall), painted."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": pixels, "height": 900, "deviceScaleFactor": 1, "mobile": pixels < 600})
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": pixels, "height": min(height, 4000), "deviceScaleFactor": 1, "mobile": pixels < 600},
    )
    # headless Chromium paints a box that was below the old viewport only on the next frames
    browser.execute_async_script("const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(done));")
    return browser.get_screenshot_as_png()
