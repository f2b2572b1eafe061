"""Every sentence of the explainer in English and Chinese (the method's readers are often Chinese-speaking).

Formulas and numbers are the same in both languages; only the words around them change. A
template is filled with ``str.format``-style ``{name}`` fields: the explainer's document carries
``words(key, **values)`` records, and the page's script fills them in the reader's language, so a
translator edits this table only.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = {"en": "English", "zh": "中文"}
HTML_LANG = {"en": "en", "zh": "zh-CN"}

WORDS: dict[str, dict[str, str]] = {
    # page furniture
    "subtitle": {"en": "the chain rule, step by step", "zh": "链式法则，一步一步"},
    "reset": {"en": "Reset", "zh": "重置"},
    "back": {"en": "Back", "zh": "上一步"},
    "play": {"en": "Play", "zh": "播放"},
    "pause": {"en": "Pause", "zh": "暂停"},
    "next": {"en": "Next", "zh": "下一步"},
    "step_of": {"en": "Step {step} of {steps}", "zh": "第 {step} 步，共 {steps} 步"},
    "keys": {
        "en": "Keys: ← → one step, Home first step, End last step.",
        "zh": "键盘：← → 前后一步，Home 第一步，End 最后一步。",
    },
    "graph_label": {
        "en": "Computational graph: forward values above the arrows, gradients below in red",
        "zh": "计算图：箭头上方是正向传播的值，下方红色是梯度",
    },
    "legend": {
        "en": "above an arrow: its name and forward value  ·  below, in red: the gradient ∂{out}/∂(that value)",
        "zh": "箭头上方：名称和正向传播的值  ·  下方红色：梯度 ∂{out}/∂(该值)",
    },
    "legend_arrays": {
        "en": "above an arrow: its name and forward value (shape of an array)  ·  below, in red: the gradient ∂{out}/∂(that value) or its norm",
        "zh": "箭头上方：名称和正向传播的值（数组显示形状）  ·  下方红色：梯度 ∂{out}/∂(该值)或其范数",
    },
    "cost_heading": {"en": "Two ways to get the gradient", "zh": "求梯度的两种方法"},
    "cost_unit": {
        "en": "counted in node operations (one layer's forward or backward)",
        "zh": "以节点运算计数（一个层的一次 forward 或 backward）",
    },
    "cost_parameters": {"en": "Gradients with respect to the {unknowns} parameters.", "zh": "对 {unknowns} 个参数求梯度。"},
    "cost_inputs": {"en": "Gradients with respect to the {unknowns} inputs.", "zh": "对 {unknowns} 个输入求梯度。"},
    "backprop": {"en": "Backpropagation", "zh": "误差反向传播法"},
    "numerical": {"en": "Numerical differentiation", "zh": "数值微分"},
    "backprop_count": {
        "en": "{ops} of {total} operations (forward {forward} + backward {backward}) · gradients known: {known} of {unknowns}",
        "zh": "已做 {ops} / {total} 次运算（正向 {forward} + 反向 {backward}）· 已得梯度：{known} / {unknowns}",
    },
    "numerical_count": {
        "en": "gradients known so far: {known}, at {ops} operations (2 forward passes of {nodes} nodes each); all {unknowns}: {total} operations",
        "zh": "已得的 {known} 个梯度需 {ops} 次运算（每个梯度 2 次正向传播，每次 {nodes} 个节点）；全部 {unknowns} 个需 {total} 次",
    },
    "cost_ratio": {
        "en": "At the end: numerical differentiation needs {ratio}× the operations of backpropagation.",
        "zh": "最终：数值微分所需运算是误差反向传播法的 {ratio} 倍。",
    },
    "inputs_heading": {"en": "Inputs", "zh": "输入值"},
    "recompute": {"en": "Recompute", "zh": "重新计算"},
    "inputs_static": {
        "en": "This page is a file: its numbers are fixed. To change an input and recompute every gradient "
        "with chainrule's own layers, run: {command}",
        "zh": "本页是静态文件，数值固定。要修改输入并用 chainrule 自己的层重新计算所有梯度，请运行：{command}",
    },
    "inputs_served": {
        "en": "Type a value and press Recompute (or Enter): chainrule recomputes the graph on this computer.",
        "zh": "输入数值后按“重新计算”（或回车）：chainrule 在本机重新计算整个计算图。",
    },
    "inputs_none": {
        "en": "The inputs of this graph are arrays (a batch of data), shown in the steps above.",
        "zh": "这个计算图的输入是数组（一批数据），见上方各步骤。",
    },
    "recomputing": {"en": "Recomputing…", "zh": "正在重新计算……"},
    "recomputed": {"en": "Recomputed with the new inputs.", "zh": "已用新的输入重新计算。"},
    "input_not_number": {
        "en": "input {name} must be a number, got '{text}'",
        "zh": "输入 {name} 必须是数字，而不是“{text}”",
    },
    "input_not_finite": {
        "en": "input {name} must be a finite number, got '{text}'",
        "zh": "输入 {name} 必须是有限的数，而不是“{text}”",
    },
    "recompute_failed": {"en": "Could not recompute: {error}", "zh": "无法重新计算：{error}"},
    "server_unreachable": {
        "en": "The server does not answer; is chainrule explain --serve still running?",
        "zh": "服务器没有响应；chainrule explain --serve 是否仍在运行？",
    },
    "heat_scale": {
        "en": "blue negative, red positive; full colour at |value| = {scale}",
        "zh": "蓝色为负，红色为正；|值| = {scale} 时颜色最深",
    },
    "heat_image": {"en": "sample 0 as a {side}×{side} image", "zh": "第 0 个样本，显示为 {side}×{side} 图像"},
    "heat_blocks": {"en": "block means, {rows}×{columns} blocks", "zh": "分块平均，{rows}×{columns} 块"},
    "heat_full": {"en": "every entry", "zh": "全部元素"},
    # steps
    "phase_start": {"en": "Inputs", "zh": "输入"},
    "phase_forward": {"en": "Forward pass {index}/{count}: {node}", "zh": "正向传播 {index}/{count}：{node}"},
    "phase_seed": {"en": "Backward pass begins", "zh": "反向传播开始"},
    "phase_backward": {"en": "Backward pass {index}/{count}: {node}", "zh": "反向传播 {index}/{count}：{node}"},
    "phase_done": {"en": "All gradients", "zh": "全部梯度"},
    "text_start": {
        "en": "The graph's inputs. Press Next (or →) to run the forward pass one node at a time.",
        "zh": "计算图的输入。按“下一步”（或 →）逐个节点进行正向传播。",
    },
    "text_forward": {
        "en": "Node {node} reads {inputs} and computes {output}.",
        "zh": "节点 {node} 读取 {inputs}，计算出 {output}。",
    },
    "text_seed": {
        "en": "The backward pass starts at the output: the derivative of {out} with respect to itself is {seed}.",
        "zh": "反向传播从输出开始：{out} 对自身的导数为 {seed}。",
    },
    "text_backward_scalar": {
        "en": "Node {node} receives the upstream gradient ∂{out}/∂{output} and multiplies it by its local "
        "derivative for each input: upstream × local = the gradient that flows back.",
        "zh": "节点 {node} 收到上游梯度 ∂{out}/∂{output}，对每个输入乘以局部导数：上游 × 局部 = 向后传递的梯度。",
    },
    "text_backward_array": {
        "en": "Node {node} receives the upstream gradient ∂{out}/∂{output}; its backward applies the local Jacobian "
        "(each output entry's derivative with respect to each input entry) to it: the chain rule for arrays.",
        "zh": "节点 {node} 收到上游梯度 ∂{out}/∂{output}；其 backward 把局部雅可比矩阵（每个输出元素对每个输入元素的导数）"
        "作用于它：数组形式的链式法则。",
    },
    "text_done": {
        "en": "Every gradient of {out}, from one forward and one backward pass.",
        "zh": "{out} 的全部梯度，只用了一次正向传播和一次反向传播。",
    },
    "why_add": {"en": "addition passes it on", "zh": "加法节点原样传递"},
    "sum_note": {
        "en": "{edge} is read {count} times: the gradients add",
        "zh": "{edge} 被读取 {count} 次：梯度相加",
    },
    "no_gradient": {
        "en": "{input}: no gradient ({node} does not differentiate this input)",
        "zh": "{input}：没有梯度（{node} 不对该输入求导）",
    },
    "labels": {"en": "labels: {labels}", "zh": "标签：{labels}"},
    "figure_value": {"en": "{name} = value {shape}", "zh": "{name} 的值 {shape}"},
    "figure_grad": {"en": "∂{out}/∂{name} {shape}", "zh": "∂{out}/∂{name} {shape}"},
    "why_formula": {"en": "{formula}", "zh": "{formula}"},
    "norm": {"en": "norm {norm}", "zh": "范数 {norm}"},
    "none": {"en": "none", "zh": "无"},
    "results_inputs": {"en": "With respect to the inputs:", "zh": "对输入的梯度："},
    # a recurrent net unrolled in time (chainrule explain --model rnn / lstm)
    "text_start_time": {
        "en": "A sequence of {steps} inputs, one per time step, and the label the last step must predict. "
        "Press Next (or →) to run the cells forward one time step at a time.",
        "zh": "一个由 {steps} 个输入组成的序列（每个时间步一个），以及最后一步要预测的标签。"
        "按“下一步”（或 →）逐个时间步进行正向传播。",
    },
    "shared_weights": {
        "en": "Every time step uses the same weights: the {steps} {cell} cells of the picture are one layer, unrolled.",
        "zh": "每个时间步使用同一组权重：图中的 {steps} 个 {cell} 单元是同一个层按时间展开。",
    },
    "gate_f": {"en": "forget gate: how much of c to keep", "zh": "遗忘门：保留多少 c"},
    "gate_g": {"en": "candidate: what new to write into c", "zh": "候选值：向 c 写入的新信息"},
    "gate_i": {"en": "input gate: how much of g to write", "zh": "输入门：写入多少 g"},
    "gate_o": {"en": "output gate: how much of tanh(c) to show as h", "zh": "输出门：把多少 tanh(c) 作为 h 输出"},
    "gate_stats": {"en": "mean {mean}, from {low} to {high}", "zh": "平均 {mean}，范围 {low} 至 {high}"},
    "text_backward_rnn": {
        "en": "Back through time step {t}: {node} receives ∂L/∂h_{t} and sends on ∂L/∂h_{prev}, the upstream "
        "gradient times the cell's local Jacobian: first the tanh's slope (1 − h²), then Whᵀ.",
        "zh": "反向经过时间步 {t}：{node} 收到 ∂L/∂h_{t}，向前传出 ∂L/∂h_{prev}，即上游梯度乘以该单元的局部雅可比矩阵："
        "先乘 tanh 的斜率 (1 − h²)，再乘 Whᵀ。",
    },
    "text_backward_lstm": {
        "en": "Back through time step {t}: {node} receives ∂L/∂h_{t} and ∂L/∂c_{t}; the gradient goes through "
        "the gates f, g, i, o, and along the cell state it is only multiplied by the forget gate: ∂L/∂c_{prev}.",
        "zh": "反向经过时间步 {t}：{node} 收到 ∂L/∂h_{t} 和 ∂L/∂c_{t}；梯度经过 f、g、i、o 各门，"
        "而沿记忆单元 c 只乘以遗忘门：得到 ∂L/∂c_{prev}。",
    },
    "two_paths": {
        "en": "{edge} reaches the loss along two paths, through {next} and through {hidden}: the gradients add",
        "zh": "{edge} 经两条路径影响损失：经过 {next} 和经过 {hidden}，梯度相加",
    },
    "norm_factor": {"en": "the norm is multiplied by {factor}", "zh": "范数乘以 {factor}"},
    "shares_add": {
        "en": "dWx, dWh and db are complete now: each is the sum of the {steps} time steps' shares.",
        "zh": "dWx、dWh 和 db 现已完整：每个都是 {steps} 个时间步各自贡献之和。",
    },
    "time_norms_heading": {
        "en": "The gradient's norm at each time step (each bar relative to the largest of its row):",
        "zh": "各时间步的梯度范数（条形长度相对于该行的最大值）：",
    },
    "time_vanish": {
        "en": "The gradient vanishes: going back {steps} steps, the RNN's ‖∂L/∂h‖ fell from {last} to {first}, "
        "×{ratio} in all, about ×{per_step} per step. Each step back multiplies it by the tanh's slope (1 − h²) "
        "and by Whᵀ, and here that shrinks it, so the first inputs hardly change the weights.",
        "zh": "梯度消失：往回 {steps} 步，RNN 的 ‖∂L/∂h‖ 从 {last} 降到 {first}，共乘以 {ratio}，"
        "平均每步约乘以 {per_step}。每往回一步都要乘以 tanh 的斜率 (1 − h²) 和 Whᵀ，这里它们使梯度变小，"
        "所以最早的输入几乎不影响权重的更新。",
    },
    "time_shrink": {
        "en": "Going back {steps} steps, the RNN's ‖∂L/∂h‖ fell from {last} to {first} (×{ratio}, about ×{per_step} "
        "per step): it shrinks, though over so few steps it has not vanished yet.",
        "zh": "往回 {steps} 步，RNN 的 ‖∂L/∂h‖ 从 {last} 降到 {first}（乘以 {ratio}，平均每步约 {per_step}）："
        "梯度在变小，只是步数太少，尚未消失。",
    },
    "time_grow": {
        "en": "Going back {steps} steps, the RNN's ‖∂L/∂h‖ went from {last} to {first} (×{ratio}): here it did not "
        "shrink. With larger weights Whᵀ stretches more than the tanh's slope squeezes, and gradients explode instead.",
        "zh": "往回 {steps} 步，RNN 的 ‖∂L/∂h‖ 从 {last} 变为 {first}（乘以 {ratio}）：这里没有变小。"
        "权重更大时 Whᵀ 的放大超过 tanh 斜率的压缩，梯度反而会爆炸。",
    },
    "lstm_compare": {
        "en": "Along the LSTM's cell state each step back multiplies ∂L/∂c only by the forget gate (mean {forget} here), "
        "element by element, with no weight matrix and no tanh slope: over {steps} steps ‖∂L/∂c‖ went from {last} "
        "to {first}, ×{ratio}, where the RNN's ‖∂L/∂h‖ went ×{rnn_ratio}.",
        "zh": "沿 LSTM 的记忆单元 c，每往回一步 ∂L/∂c 只逐元素乘以遗忘门（这里平均为 {forget}），"
        "不乘权重矩阵，也不乘 tanh 的斜率：{steps} 步中 ‖∂L/∂c‖ 从 {last} 变为 {first}，乘以 {ratio}；"
        "而 RNN 的 ‖∂L/∂h‖ 乘以 {rnn_ratio}。",
    },
    "text_done_time": {
        "en": "Every gradient of {out} from one forward and one backward pass through {steps} time steps "
        "(backpropagation through time).",
        "zh": "{out} 的全部梯度，只用了一次经过 {steps} 个时间步的正向传播和反向传播（随时间反向传播，BPTT）。",
    },
    # heat maps of 4-D arrays: a few maps side by side
    "heat_channels": {
        "en": "sample 0, channels 0–{last} of {count}, side by side",
        "zh": "第 0 个样本的通道 0–{last}（共 {count} 个），并排显示",
    },
    "heat_samples": {
        "en": "samples 0–{last} of {count} (channel 0), side by side",
        "zh": "样本 0–{last}（共 {count} 个，通道 0），并排显示",
    },
    "heat_filters": {
        "en": "filters 0–{last} of {count} (input channel 0), side by side",
        "zh": "滤波器 0–{last}（共 {count} 个，输入通道 0），并排显示",
    },
    # what each layer of a network does (explain/layer_words.py): forward, then backward ("_back")
    "layer_Affine": {
        "en": "Affine: {output} = {input} · {W} + {b}; each of the {outputs} outputs is a weighted sum of the "
        "{inputs} inputs plus its bias.",
        "zh": "Affine：{output} = {input} · {W} + {b}；{outputs} 个输出中的每一个都是 {inputs} 个输入的加权和再加上偏置。",
    },
    "layer_Affine_back": {
        "en": "Backward: ∂{out}/∂{input} = ∂{out}/∂{output} · {W}ᵀ; d{W} = {input}ᵀ · ∂{out}/∂{output}; "
        "d{b} = ∂{out}/∂{output} summed over the batch.",
        "zh": "反向：∂{out}/∂{input} = ∂{out}/∂{output} · {W}ᵀ；d{W} = {input}ᵀ · ∂{out}/∂{output}；"
        "d{b} = ∂{out}/∂{output} 沿批次求和。",
    },
    "layer_Relu": {
        "en": "ReLU keeps each entry above 0 and sets the others to 0: {share}% of {input}'s entries pass.",
        "zh": "ReLU 保留大于 0 的元素，其余置为 0：{input} 中有 {share}% 的元素通过。",
    },
    "layer_Relu_back": {
        "en": "Backward: the upstream gradient passes where {input} > 0 and is stopped (0) where {input} ≤ 0.",
        "zh": "反向：在 {input} > 0 处上游梯度原样通过，在 {input} ≤ 0 处被截断（为 0）。",
    },
    "layer_LeakyRelu": {
        "en": "Leaky ReLU: entries above 0 pass, the others are multiplied by {alpha}; {share}% of {input}'s entries "
        "are positive.",
        "zh": "Leaky ReLU：大于 0 的元素原样通过，其余乘以 {alpha}；{input} 中有 {share}% 的元素为正。",
    },
    "layer_LeakyRelu_back": {
        "en": "Backward: the upstream gradient × 1 where {input} > 0, × {alpha} elsewhere.",
        "zh": "反向：在 {input} > 0 处上游梯度乘以 1，其余处乘以 {alpha}。",
    },
    "layer_Sigmoid": {
        "en": "Sigmoid squashes each entry into (0, 1): {output} = 1 / (1 + exp(−{input})).",
        "zh": "Sigmoid 把每个元素压缩到 (0, 1)：{output} = 1 / (1 + exp(−{input}))。",
    },
    "layer_Sigmoid_back": {
        "en": "Backward: the upstream gradient × {output}(1 − {output}), entry by entry (never more than 0.25).",
        "zh": "反向：上游梯度逐元素乘以 {output}(1 − {output})（不超过 0.25）。",
    },
    "layer_Tanh": {
        "en": "tanh squashes each entry into (−1, 1): {output} = tanh({input}).",
        "zh": "tanh 把每个元素压缩到 (−1, 1)：{output} = tanh({input})。",
    },
    "layer_Tanh_back": {
        "en": "Backward: the upstream gradient × (1 − {output}²), entry by entry.",
        "zh": "反向：上游梯度逐元素乘以 (1 − {output}²)。",
    },
    "layer_Convolution": {
        "en": "Convolution: {filters} filters of {channels}×{fh}×{fw} slide over {input} (stride {stride}, padding {pad}); "
        "at each position a filter's products with the window are summed and its bias added. One output channel per "
        "filter: {in_shape} → {out_shape}.",
        "zh": "卷积：{filters} 个 {channels}×{fh}×{fw} 的滤波器在 {input} 上滑动（步幅 {stride}，填充 {pad}）；"
        "在每个位置，滤波器与窗口逐元素相乘后求和，再加上偏置。每个滤波器输出一个通道：{in_shape} → {out_shape}。",
    },
    "layer_Convolution_back": {
        "en": "Backward: d{W} sums every window × its upstream gradient, over all positions and samples; d{b} sums "
        "each channel's upstream gradient; ∂{out}/∂{input} sends each upstream value back over its window, weighted "
        "by the filter (im2col in reverse: col2im).",
        "zh": "反向：d{W} 是每个窗口乘以其上游梯度、对所有位置和样本求和；d{b} 是每个通道上游梯度之和；"
        "∂{out}/∂{input} 把每个上游值按滤波器的权重分回它的窗口（im2col 的逆过程：col2im）。",
    },
    "layer_Pooling": {
        "en": "Max pooling: the largest entry of each {ph}×{pw} window (stride {stride}, padding {pad}), channel by "
        "channel, with no parameters: {in_shape} → {out_shape}.",
        "zh": "最大池化：每个 {ph}×{pw} 窗口（步幅 {stride}，填充 {pad}）取最大值，逐通道进行，没有参数：{in_shape} → {out_shape}。",
    },
    "layer_Pooling_back": {
        "en": "Backward: each window's upstream gradient goes to the entry that was its maximum; the window's other "
        "entries get 0.",
        "zh": "反向：每个窗口的上游梯度只传给该窗口中的最大元素，其余元素的梯度为 0。",
    },
    "layer_AvgPooling": {
        "en": "Average pooling: the mean of each {ph}×{pw} window (stride {stride}, padding {pad}), channel by channel: "
        "{in_shape} → {out_shape}.",
        "zh": "平均池化：每个 {ph}×{pw} 窗口（步幅 {stride}，填充 {pad}）取平均值，逐通道进行：{in_shape} → {out_shape}。",
    },
    "layer_AvgPooling_back": {
        "en": "Backward: each window's upstream gradient is shared equally by its {size} entries (× 1/{size}).",
        "zh": "反向：每个窗口的上游梯度由其 {size} 个元素平分（乘以 1/{size}）。",
    },
    "layer_BatchNormalization_eval": {
        "en": "Batch normalization at inference: {input} is normalized with the running mean μ and variance σ² kept "
        "from training ({count} of each), then scaled and shifted: {output} = {gamma} · ({input} − μ)/√(σ² + ε) + {beta}.",
        "zh": "推理时的批归一化：用训练中累积的滑动平均 μ 和方差 σ²（各 {count} 个）对 {input} 归一化，再缩放和平移："
        "{output} = {gamma} · ({input} − μ)/√(σ² + ε) + {beta}。",
    },
    "layer_BatchNormalization_eval_back": {
        "en": "Backward: μ and σ² are constants here, so ∂{out}/∂{input} = {gamma}/√(σ² + ε) × upstream; "
        "d{gamma} = Σ upstream · x̂ and d{beta} = Σ upstream (x̂: the normalized input).",
        "zh": "反向：这里 μ 和 σ² 是常数，所以 ∂{out}/∂{input} = {gamma}/√(σ² + ε) × 上游梯度；"
        "d{gamma} = Σ 上游梯度 · x̂，d{beta} = Σ 上游梯度（x̂ 为归一化后的输入）。",
    },
    "layer_BatchNormalization_train": {
        "en": "Batch normalization: {input} is normalized with this batch's mean μ and variance σ² ({count} of each), "
        "then scaled and shifted: {output} = {gamma} · ({input} − μ)/√(σ² + ε) + {beta}.",
        "zh": "批归一化：用本批数据的均值 μ 和方差 σ²（各 {count} 个）对 {input} 归一化，再缩放和平移："
        "{output} = {gamma} · ({input} − μ)/√(σ² + ε) + {beta}。",
    },
    "layer_BatchNormalization_train_back": {
        "en": "Backward: μ and σ² depend on {input} too, so with dx̂ = {gamma} × upstream, ∂{out}/∂{input} = "
        "(dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂))/√(σ² + ε); d{gamma} = Σ upstream · x̂, d{beta} = Σ upstream.",
        "zh": "反向：μ 和 σ² 也依赖于 {input}，记 dx̂ = {gamma} × 上游梯度，则 ∂{out}/∂{input} = "
        "(dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂))/√(σ² + ε)；d{gamma} = Σ 上游梯度 · x̂，d{beta} = Σ 上游梯度。",
    },
    "layer_Dropout_eval": {
        "en": "Dropout at inference: the identity. Every entry passes; inverted dropout (ratio {ratio}) already "
        "scaled the kept entries while training.",
        "zh": "推理时的 Dropout：恒等映射。所有元素都通过；反向 Dropout（比例 {ratio}）在训练时已对保留的元素做了缩放。",
    },
    "layer_Dropout_eval_back": {
        "en": "Backward: the identity too; the upstream gradient passes unchanged.",
        "zh": "反向：同样是恒等映射，上游梯度原样通过。",
    },
    "layer_Dropout_eval_book": {
        "en": "Dropout at inference, the book's way: every entry × (1 − {ratio}) = × {keep}.",
        "zh": "推理时的 Dropout（书中的做法）：每个元素乘以 (1 − {ratio}) = {keep}。",
    },
    "layer_Dropout_eval_book_back": {
        "en": "Backward: the upstream gradient × {keep} as well.",
        "zh": "反向：上游梯度同样乘以 {keep}。",
    },
    "layer_Dropout_train": {
        "en": "Dropout while training: each entry is dropped (set to 0) with probability {ratio}; {kept}% were kept "
        "this time.",
        "zh": "训练时的 Dropout：每个元素以概率 {ratio} 被丢弃（置为 0）；这次保留了 {kept}%。",
    },
    "layer_Dropout_train_back": {
        "en": "Backward: the gradient flows back only through the entries that were kept (the same mask).",
        "zh": "反向：梯度只通过被保留的元素（同一个掩码）向后传递。",
    },
    "layer_Flatten": {
        "en": "Flatten: each sample's {sample} entries are laid out in one row, with no arithmetic: "
        "{in_shape} → {out_shape}.",
        "zh": "Flatten：把每个样本的 {sample} 个元素排成一行，不做任何运算：{in_shape} → {out_shape}。",
    },
    "layer_Flatten_back": {
        "en": "Backward: the upstream gradient is reshaped back to {in_shape}; nothing else changes.",
        "zh": "反向：把上游梯度变回 {in_shape} 的形状，别的都不变。",
    },
    "layer_SoftmaxWithLoss": {
        "en": "Softmax turns each sample's {classes} scores into probabilities y; the loss is the cross-entropy −log y "
        "of the true label, averaged over the {batch} samples.",
        "zh": "Softmax 把每个样本的 {classes} 个得分变为概率 y；损失是正确标签的交叉熵 −log y 在 {batch} 个样本上的平均。",
    },
    "layer_SoftmaxWithLoss_back": {
        "en": "Backward: ∂{out}/∂{input} = (y − t)/{batch}, each probability minus the one-hot label, divided by "
        "the batch size.",
        "zh": "反向：∂{out}/∂{input} = (y − t)/{batch}，即每个概率减去 one-hot 标签，再除以批大小。",
    },
    "results_parameters": {
        "en": "With respect to the {count} parameter arrays ({unknowns} numbers), each as its norm:",
        "zh": "对 {count} 个参数数组（共 {unknowns} 个数）的梯度，显示为范数：",
    },
}


def words(key: str, **values: Any) -> dict[str, Any]:
    """A sentence as data: ``{"key": "norm", "values": {"norm": "0.5"}}``; the page fills it in its language."""
    if key not in WORDS:
        raise KeyError(f"explain: no sentence {key!r} in the words table")
    return {"key": key, "values": {name: str(value) for name, value in values.items()}}


def say(record: dict[str, Any], language: str = "en") -> str:
    """A :func:`words` record as text in ``language`` (what the page's script shows)."""
    return WORDS[record["key"]][language].format(**record["values"])


def words_for_page() -> dict[str, dict[str, str]]:
    """The page's fixed labels, by language: ``{"en": {"next": "Next", ...}, "zh": {...}}``."""
    return {language: {key: text[language] for key, text in WORDS.items()} for language in LANGUAGES}
