// chainrule explainer: reveals and highlights what Python computed; it computes no layer itself.
(function () {
  "use strict";
  var root = document.getElementById("explainer");
  var doc = JSON.parse(document.getElementById("explain-data").textContent);
  var state = { step: 0, lang: root.getAttribute("data-language") || "en", timer: null };

  function $(selector) { return root.querySelector(selector); }
  function word(key) { return doc.words[state.lang][key]; }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }
  function number(n) { return n.toLocaleString("en-US"); }
  function last() { return doc.steps.length - 1; }

  function drawGraph() {
    $(".graph").innerHTML = doc.svg;
    var svg = $(".graph svg");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", word("graph_label"));
    // Never shrink below 3/4 size: on a phone a wide graph scrolls in its box instead of becoming unreadable.
    svg.style.minWidth = Math.round(0.75 * svg.viewBox.baseVal.width) + "px";
  }

  function revealGraph(step) {
    var svg = $(".graph svg");
    var current = doc.steps[step];
    svg.querySelectorAll("[data-arrow], [data-circle]").forEach(function (el) {
      var arrow = el.getAttribute("data-arrow");
      var owner = arrow !== null ? doc.arrows[+arrow] : doc.circles[+el.getAttribute("data-circle")];
      var cls = el.classList;
      var pending = false;
      if (cls.contains("value")) pending = owner.value > step;
      else if (cls.contains("grad")) pending = owner.grad === null || owner.grad > step;
      cls.toggle("pending", pending);
      var active = arrow !== null ? current.arrows.indexOf(+arrow) >= 0
                                  : current.circles.indexOf(+el.getAttribute("data-circle")) >= 0;
      if (el.tagName === "polyline" || el.tagName === "circle") cls.toggle("active", active);
    });
    var node = svg.querySelector("circle.active");
    var box = $(".graph");
    if (node && box.scrollWidth > box.clientWidth) {  // a graph wider than the screen: bring the active node into view
      var at = node.getBoundingClientRect(), frame = box.getBoundingClientRect();
      box.scrollLeft += (at.left + at.width / 2) - (frame.left + frame.width / 2);
    }
    var legend = svg.querySelector("text.legend");
    if (legend) legend.textContent = doc.legend[state.lang];
  }

  function showStep() {
    var step = state.step, current = doc.steps[step];
    $(".step h2").textContent = current.title[state.lang];
    $(".step .text").textContent = current.text[state.lang];
    $(".step .lines").innerHTML = current.lines.map(function (line) { return line[state.lang]; }).join("");
    var figures = $(".step .figures");
    figures.innerHTML = "";
    current.figures.forEach(function (f) {
      var figure = document.createElement("figure");
      var img = document.createElement("img");
      img.src = f.src;
      img.width = Math.max(f.width * 4, 60);
      img.height = Math.max(f.height * 4, 16);
      img.alt = f.caption[state.lang];
      var caption = document.createElement("figcaption");
      caption.textContent = f.caption[state.lang] + " · " + f.scale[state.lang];
      figure.appendChild(img);
      figure.appendChild(caption);
      figures.appendChild(figure);
    });
    $(".position").textContent = fill(word("step_of"), { step: step + 1, steps: doc.steps.length });
    $("[data-action=back]").disabled = step === 0;
    $("[data-action=reset]").disabled = step === 0;
    $("[data-action=next]").disabled = step === last();
    revealGraph(step);
    showCost(current.cost);
  }

  function showCost(cost) {
    var totals = doc.cost;
    var ops = cost.forward + cost.backward;
    var top = Math.max(totals.numerical, totals.backprop, 1);
    function share(n) { return n ? Math.max(100 * n / top, 0.75) + "%" : "0"; }  // a sliver stays visible
    $(".backprop .fill").style.width = share(ops);
    $(".numerical .fill").style.width = share(cost.numerical);
    $(".backprop .count").textContent = fill(word("backprop_count"), {
      ops: number(ops), forward: number(cost.forward), backward: number(cost.backward),
      known: number(cost.known), unknowns: number(totals.unknowns), total: number(totals.backprop)
    });
    $(".numerical .count").textContent = fill(word("numerical_count"), {
      ops: number(cost.numerical), known: number(cost.known), nodes: number(totals.nodes),
      total: number(totals.numerical), unknowns: number(totals.unknowns)
    });
    $(".cost .what").textContent = fill(word("cost_" + totals.kind), { unknowns: number(totals.unknowns) });
    $(".backprop").setAttribute("data-ops", ops);
    $(".numerical").setAttribute("data-ops", cost.numerical);
    var ratio = totals.backprop ? totals.numerical / totals.backprop : 0;
    $(".cost .ratio").textContent = fill(word("cost_ratio"), { ratio: number(Math.round(ratio * 10) / 10) });
  }

  function showWords() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    root.querySelectorAll("[data-word]").forEach(function (el) {
      el.textContent = word(el.getAttribute("data-word"));
    });
    root.querySelectorAll("[data-language-choice]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-language-choice") === state.lang));
    });
    $("[data-action=play]").textContent = word(state.timer ? "pause" : "play");
    $(".graph svg").setAttribute("aria-label", word("graph_label"));
    $(".graph").setAttribute("aria-label", word("graph_label"));
    var hint = $(".inputs .hint");
    var editable = doc.inputs.some(function (input) { return input.editable; });
    hint.textContent = !editable ? word("inputs_none")
      : doc.served ? word("inputs_served") : fill(word("inputs_static"), { command: "" });
    if (editable && !doc.served) {
      var code = document.createElement("code");
      code.textContent = doc.serve_command;
      hint.appendChild(code);
    }
    showStep();
  }

  function drawInputs() {
    var form = $(".inputs form");
    form.innerHTML = "";
    doc.inputs.filter(function (input) { return input.editable; }).forEach(function (input) {
      var label = document.createElement("label");
      var name = document.createElement("span");
      name.textContent = input.name;
      var field = document.createElement("input");
      field.type = "text";
      field.inputMode = "decimal";
      field.name = input.name;
      field.value = input.value;
      field.readOnly = !doc.served;
      label.appendChild(name);
      label.appendChild(field);
      form.appendChild(label);
    });
    if (doc.served && form.children.length) {
      var button = document.createElement("button");
      button.type = "submit";
      button.setAttribute("data-word", "recompute");
      button.textContent = word("recompute");
      form.appendChild(button);
    }
  }

  function go(step) {
    state.step = Math.max(0, Math.min(last(), step));
    showStep();
  }

  function stop() {
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    $("[data-action=play]").textContent = word("play");
    $("[data-action=play]").setAttribute("aria-pressed", "false");
  }

  function play() {
    if (state.timer) { stop(); return; }
    if (state.step === last()) go(0);
    $("[data-action=play]").textContent = word("pause");
    $("[data-action=play]").setAttribute("aria-pressed", "true");
    state.timer = setInterval(function () {
      if (state.step >= last()) { stop(); return; }
      go(state.step + 1);
    }, +(root.getAttribute("data-play-ms") || 1200));
  }

  root.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) return;
    var action = target.getAttribute("data-action");
    var language = target.getAttribute("data-language-choice");
    if (language) { state.lang = language; showWords(); return; }
    if (action === "play") { play(); return; }
    if (action) stop();
    if (action === "next") go(state.step + 1);
    if (action === "back") go(state.step - 1);
    if (action === "reset") go(0);
  });

  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT" || event.altKey || event.ctrlKey || event.metaKey) return;
    var moves = { ArrowRight: 1, ArrowLeft: -1 };
    if (event.key in moves) { stop(); go(state.step + moves[event.key]); event.preventDefault(); }
    else if (event.key === "Home") { stop(); go(0); event.preventDefault(); }
    else if (event.key === "End") { stop(); go(last()); event.preventDefault(); }
  });

  $(".inputs form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!doc.served) return;
    var values = {};
    $(".inputs form").querySelectorAll("input").forEach(function (field) { values[field.name] = field.value; });
    var status = $(".inputs .status");
    status.className = "status";
    status.textContent = word("recomputing");
    fetch("api/explain", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ inputs: values })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (reply) {
      if (!reply.ok) throw new Error(reply.body.error);
      var step = state.step;
      doc = reply.body;
      drawGraph();
      drawInputs();
      state.step = Math.min(step, last());
      showWords();
      status.textContent = word("recomputed");
      root.setAttribute("data-recomputed", String(+(root.getAttribute("data-recomputed") || 0) + 1));
    }).catch(function (error) {
      status.className = "status error";
      status.textContent = error.message;
    });
  });

  drawGraph();
  drawInputs();
  showWords();
  root.setAttribute("data-ready", "true");
})();
