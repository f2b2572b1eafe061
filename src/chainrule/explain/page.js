// chainrule explainer: renders the document's step records and reveals what Python computed; it computes no layer itself.
(function () {
  "use strict";
  var root = document.getElementById("explainer");
  var doc = JSON.parse(document.getElementById("explain-data").textContent);
  var state = { step: 0, lang: root.getAttribute("data-language") || "en", timer: null };
  var MIN_LABEL_PX = 11;

  function $(selector) { return root.querySelector(selector); }
  function word(key) { return doc.words[state.lang][key]; }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) { return values[key]; });
  }
  function say(record) { return fill(word(record.key), record.values); }  // a words record in the reader's language
  function number(n) { return n.toLocaleString("en-US"); }
  function last() { return doc.steps.length - 1; }

  // -- rows: each record of a step as one line of text -------------------------------------------
  function esc(text) {
    return String(text).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; });
  }
  function span(cls, text) { return '<span class="' + cls + '">' + esc(text) + "</span>"; }
  function line(cls, data, html) {
    var attrs = Object.keys(data).map(function (k) { return " data-" + k + '="' + esc(data[k]) + '"'; }).join("");
    return '<p class="' + cls + '"' + attrs + ">" + html + "</p>";
  }
  function gradText(grad) {  // {value: "2.2"}, {norm: "0.01", shape: "(3, 4)"} or null
    if (grad === null) return word("none");
    return grad.norm !== undefined ? fill(word("norm"), { norm: grad.norm }) : grad.value;
  }
  function d(out, name) { return "∂" + out + "/∂" + name; }
  function why(record) { return record ? ' <span class="why">(' + esc(say(record)) + ")</span>" : ""; }

  var ROWS = {
    input: function (r) { return line("input", { edge: r.edge }, esc(r.edge) + " = " + span("value", r.value)); },
    input_array: function (r) { return line("input", { edge: r.edge }, esc(r.edge + " " + r.shape)); },
    labels: function (r) {
      return line("input", { edge: r.edge }, esc(r.edge + " " + r.shape + " · " + fill(word("labels"), { labels: r.labels })));
    },
    forward: function (r) {
      var text = r.numbers ? r.formula + " = " + r.numbers + " = " + r.result : r.formula + " → " + r.result;
      return line("forward", { node: r.node }, esc(text));
    },
    array: function (r) { return line("array", { edge: r.edge }, esc(r.edge + " " + r.shape + " · " + fill(word("norm"), { norm: r.norm }))); },
    params: function (r) {
      return line("params", { node: r.node }, esc(r.params.map(function (p) { return p.name + " " + p.shape; }).join(", ")));
    },
    param_grads: function (r) {
      var text = r.grads.map(function (g) { return g.name + " " + fill(word("norm"), { norm: g.norm }); }).join(", ");
      return line("params grad-params", { node: r.node }, esc(text));
    },
    seed: function (r) { return line("seed", {}, esc(d(r.out, r.out)) + " = " + span("grad", gradText(r.grad))); },
    product: function (r) {
      var head = span("lhs", d(r.out, r.input)) + " = " + esc(d(r.out, r.output)) + " × " + span("local-name", r.local_name);
      var data = { node: r.node, input: r.input };
      if (r.local === null) {  // arrays: the layer's backward applies its Jacobian
        return line("product array", data, head + ": " + span("upstream", gradText(r.upstream)) + " → " +
                    span("grad", gradText(r.grad)) + " " + esc(r.grad.shape || "") + why(r.why) + why(r.factor));
      }
      return line("product", data, head + " = " + span("upstream", gradText(r.upstream)) + " × " + span("local", r.local) +
                  " = " + span("grad", gradText(r.grad)) + why(r.why));
    },
    no_gradient: function (r) {
      return line("product none", { node: r.node, input: r.input }, esc(fill(word("no_gradient"), { input: r.input, node: r.node })));
    },
    sum: function (r) {
      return line("sum", { edge: r.edge }, esc(d(r.out, r.edge) + " = " + r.parts.join(" + ") + " = ") + span("grad", r.grad) + why(r.why));
    },
    heading: function (r) { return line("heading", {}, esc(say(r.words))); },
    note: function (r) { return line("note", {}, esc(say(r.words))); },
    layer: function (r) { return line("note layer", { node: r.node }, esc(say(r.words))); },  // what the layer does
    gate: function (r) {  // an LSTM gate: its formula, what it does, and how open it is
      return line("gate", { node: r.node, gate: r.gate }, esc(r.formula) + why(r.words) + " · " +
                  span("stats", fill(word("gate_stats"), r)));
    },
    gate_grad: function (r) {
      return line("gate-grad", { node: r.node, gate: r.gate }, span("lhs", "∂L/∂" + r.name) + " = " + esc(r.formula) + " → " +
                  span("grad", fill(word("norm"), { norm: r.norm })) + why(r.words));
    },
    paths: function (r) {  // a value read along several paths: the parts of its gradient add
      var parts = r.parts.map(function (p) {
        return esc(p.formula) + " " + span("upstream", "(" + fill(word("norm"), { norm: p.norm }) + ")");
      }).join(" + ");
      return line("paths", { edge: r.edge }, span("lhs", d(r.out, r.edge)) + " = " + parts + " → " +
                  span("grad", gradText(r.grad)) + why(r.why));
    },
    time_norms: function (r) {  // ‖∂L/∂h_t‖ by time step: one row of bars per series, filled as the backward pass goes
      var rows = r.series.map(function (s) {
        var top = Math.max.apply(null, s.norms.map(function (n) { return n || 0; }).concat([1e-300]));
        var cells = s.norms.map(function (n, t) {
          var height = n === null ? 0 : Math.max(100 * n / top, 2);
          return '<td data-name="' + esc(s.names[t]) + '"><span class="bar" aria-hidden="true"><span class="fill" style="height: ' +
                 height.toFixed(1) + '%"></span></span><span class="num">' + esc(s.texts[t] === null ? "·" : s.texts[t]) +
                 '</span><span class="name">' + esc(s.names[t]) + "</span></td>";
        }).join("");
        return '<tr><th scope="col" colspan="' + s.norms.length + '">' + esc(s.label) + "</th></tr><tr>" + cells + "</tr>";
      }).join("");
      return '<div class="time-norms"><p class="heading">' + esc(say(r.words)) + '</p><div class="scroll"><table>' +
             rows + "</table></div></div>";
    },
    result: function (r) {
      var shape = r.grad && r.grad.shape ? " " + span("shape", r.grad.shape) : "";
      return line(r.parameter ? "result parameter" : "result", { edge: r.edge },
                  esc(d(r.out, r.edge)) + " = " + span("grad", gradText(r.grad)) + shape);
    }
  };
  function row(record) { return ROWS[record.kind](record); }

  function drawGraph() {
    $(".graph").innerHTML = doc.svg;
    var svg = $(".graph svg");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", word("graph_label"));
    // Never shrink the smallest label below MIN_LABEL_PX: on a phone a wide graph scrolls in its box instead.
    var smallest = Math.min.apply(null, Array.from(svg.querySelectorAll("text")).map(function (t) {
      return parseFloat(t.getAttribute("font-size")) || MIN_LABEL_PX;
    }).concat([MIN_LABEL_PX]));
    svg.style.minWidth = Math.ceil(svg.viewBox.baseVal.width * MIN_LABEL_PX / smallest) + "px";
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
  }

  function wordGraph() {  // the picture's few words ("norm", the legend) in the reader's language
    var svg = $(".graph svg");
    var legend = svg.querySelector("text.legend");
    if (legend) legend.textContent = say(doc.legend);
    doc.arrows.forEach(function (arrow, i) {
      var text = arrow.norm !== null && svg.querySelector('text.grad[data-arrow="' + i + '"]');
      if (text) text.textContent = fill(word("norm"), { norm: arrow.norm });
    });
    doc.circles.forEach(function (circle, i) {
      svg.querySelectorAll('text.grad[data-circle="' + i + '"]').forEach(function (text, k) {
        var line = circle.norms[k];
        if (line) text.textContent = line[0] + " " + fill(word("norm"), { norm: line[1] });
      });
    });
  }

  function showStep() {
    var step = state.step, current = doc.steps[step];
    $(".step h2").textContent = say(current.title);
    $(".step .text").textContent = say(current.text);
    $(".step .lines").innerHTML = current.rows.map(row).join("");
    var figures = $(".step .figures");
    figures.innerHTML = "";
    current.figures.forEach(function (f) {
      var figure = document.createElement("figure");
      var img = document.createElement("img");
      img.src = f.src;
      var small = f.width <= 16 && f.height <= 16;  // a few cells (an RNN's state): big enough to see each one
      if (f.zoom) {  // maps of a 4-D array, side by side: each about 84 px wide, whatever its size
        img.width = f.width * f.zoom;
        img.height = f.height * f.zoom;
      } else {
        img.width = small ? f.width * 12 : Math.max(f.width * 4, 60);
        img.height = small ? f.height * 12 : Math.max(f.height * 4, 16);
      }
      var words = f.caption.map(say).join(" · ");
      img.alt = words;
      var caption = document.createElement("figcaption");
      caption.textContent = words + " · " + say(f.scale);
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
    wordGraph();
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
    var values = {}, mistake = null;
    $(".inputs form").querySelectorAll("input").forEach(function (field) {
      values[field.name] = field.value;
      var text = field.value.trim(), value = Number(text);
      // the common mistakes, said in the reader's language; chainrule's server checks everything again
      if (!mistake && (text === "" || isNaN(value))) mistake = { key: "input_not_number", values: { name: field.name, text: field.value } };
      else if (!mistake && !isFinite(value)) mistake = { key: "input_not_finite", values: { name: field.name, text: field.value } };
    });
    var status = $(".inputs .status");
    if (mistake) {
      status.className = "status error";
      status.textContent = say(mistake);
      return;
    }
    status.className = "status";
    status.textContent = word("recomputing");
    fetch("api/explain", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ inputs: values })
    }).catch(function () {
      throw new Error(word("server_unreachable"));
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (reply) {
      if (!reply.ok) {  // a words record if the server sends one, else its English message after our words
        throw new Error(reply.body.words ? say(reply.body.words) : fill(word("recompute_failed"), { error: reply.body.error }));
      }
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
