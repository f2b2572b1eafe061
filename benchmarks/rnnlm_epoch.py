"""Training steps of the book's RNN language model: chainrule against a PyTorch twin of the same size.

    CHAINRULE_DATA=... python benchmarks/rnnlm_epoch.py [--threads N] [--blocks 7] [--block-steps 20]

One step is what ``chainrule train --model rnnlm`` does per window: forward and backward through
Embedding -> stateful LSTM -> Affine -> softmax cross-entropy (V=10000, D=H=100, float32), the
gradients clipped to a global norm of 0.25, plain SGD at lr 20, over 20 streams x 35 words.
chainrule's step is :class:`~chainrule.nets.Rnnlm` with ``clip_grads`` and ``SGD``; the twin is
``nn.Embedding + nn.LSTM + nn.Linear`` (its second LSTM bias frozen at 0: the book has one) with
``clip_grad_norm_`` and ``torch.optim.SGD``, starting
from the same weights (gate order mapped) and carrying its state detached from window to window.
Both read the same windows of PTB's training text (``$CHAINRULE_DATA``; random word ids when
PTB is not there, said so), each framework in its own process, one after the other.

After ``--warmup`` steps, ``--blocks`` blocks of ``--block-steps`` steps are timed; the median
block gives seconds per step, and the projected epoch is that times the 1,327 windows of PTB's
training text. The first window's loss of each is printed too: the twins agree on it, which
shows they compute the same thing. PyTorch is optional: without it the twin is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
V, D, H, BATCH, TIME, CLIP, LR = 10000, 100, 100, 20, 35, 0.25, 20.0
EPOCH_STEPS = 1327  # (929,589 - 1) // (20 * 35): the windows of one pass over PTB's training text
SEED = 0


def corpus() -> tuple[Any, str]:
    """PTB's training word ids, or random ids of the same vocabulary when PTB is not at hand."""
    import numpy as np

    from chainrule.data import load_ptb
    from chainrule.errors import ChainruleError

    try:
        return load_ptb("train", download=False)[0], "PTB's training text"
    except (ChainruleError, OSError, TypeError):
        return np.random.default_rng(SEED).integers(0, V, 929_589), "random word ids (PTB not found)"


def chainrule_step(words: Any) -> tuple[Any, Any]:
    """(step function, the model) for chainrule's Rnnlm."""
    import numpy as np

    from chainrule.clipping import clip_grads
    from chainrule.nets import Rnnlm, corpus_windows
    from chainrule.optimizers import SGD

    model, optimizer = Rnnlm(V, D, H, rng=SEED, dtype=np.float32), SGD(LR)
    model.train()
    windows = corpus_windows(words, BATCH, TIME)

    def step() -> float:
        xs, ts = next(windows)
        grads = model.gradient(xs, ts)
        clip_grads(grads, CLIP)
        optimizer.update(model.params, grads)
        return float(model.last_loss)

    return step, model


def torch_step(words: Any) -> tuple[Any, Any]:
    """(step function, the model) for the PyTorch twin, from chainrule's initial weights."""
    import numpy as np
    import torch

    from chainrule.nets import Rnnlm, corpus_windows

    start = {name: np.asarray(value) for name, value in Rnnlm(V, D, H, rng=SEED, dtype=np.float32).params.items()}

    def gates(W: np.ndarray) -> np.ndarray:  # the book's columns f, g, i, o -> PyTorch's rows i, f, g, o
        f, g, i, o = np.split(W, 4, axis=-1)
        return np.ascontiguousarray(np.concatenate([i, f, g, o], axis=-1).T)

    embed, lstm, affine = torch.nn.Embedding(V, D), torch.nn.LSTM(D, H, batch_first=True), torch.nn.Linear(H, V)
    with torch.no_grad():
        embed.weight.copy_(torch.from_numpy(start["embed.W"]))
        lstm.weight_ih_l0.copy_(torch.from_numpy(gates(start["lstm.Wx"])))
        lstm.weight_hh_l0.copy_(torch.from_numpy(gates(start["lstm.Wh"])))
        lstm.bias_ih_l0.copy_(torch.from_numpy(gates(start["lstm.b"][None])[:, 0]))
        lstm.bias_hh_l0.zero_()
        affine.weight.copy_(torch.from_numpy(np.ascontiguousarray(start["affine.W"].T)))
        affine.bias.copy_(torch.from_numpy(start["affine.b"]))
    lstm.bias_hh_l0.requires_grad_(False)  # the book's LSTM has one bias: a second would learn twice as fast
    params = [param for module in (embed, lstm, affine) for param in module.parameters() if param.requires_grad]
    optimizer = torch.optim.SGD(params, lr=LR)
    windows = corpus_windows(words, BATCH, TIME)
    state: list[Any] = [None]

    def step() -> float:
        xs, ts = next(windows)
        optimizer.zero_grad(set_to_none=True)
        hs, (h, c) = lstm(embed(torch.from_numpy(xs.astype(np.int64))), state[0])
        state[0] = (h.detach(), c.detach())  # truncated BPTT: the state carries, its graph does not
        loss = torch.nn.functional.cross_entropy(affine(hs).reshape(-1, V), torch.from_numpy(ts.astype(np.int64)).reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        optimizer.step()
        return loss.item()

    return step, lstm


def child(framework: str, args: argparse.Namespace) -> dict[str, Any]:
    from chainrule.threads import set_threads

    if args.threads:
        set_threads(args.threads)
    words, source = corpus()
    if framework == "pytorch":
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        step, _ = torch_step(words)
    else:
        step, _ = chainrule_step(words)
    first_loss = step()
    for _ in range(args.warmup - 1):
        step()
    blocks = []
    for _ in range(args.blocks):
        started = time.perf_counter()
        for _ in range(args.block_steps):
            step()
        blocks.append((time.perf_counter() - started) / args.block_steps)
    return {"framework": framework, "first_loss": first_loss, "seconds_per_step": statistics.median(blocks),
            "spread": max(blocks) / min(blocks), "source": source}


def torch_installed() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="BLAS (and PyTorch) threads of each process (default: the libraries' own)")
    parser.add_argument("--blocks", type=int, default=7, help="timed blocks (default: %(default)s)")
    parser.add_argument("--block-steps", type=int, default=20, help="steps per block (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default: %(default)s)")
    parser.add_argument("--child", choices=["chainrule", "pytorch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    for option in ("threads", "blocks", "block_steps"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be a positive integer, got {getattr(args, option)}")
    if args.warmup < 0:
        parser.error(f"--warmup must be 0 or more, got {args.warmup}")
    if args.blocks < 1 or args.block_steps < 1 or args.warmup < 1:
        parser.error("--blocks, --block-steps and --warmup must be at least 1")
    if (args.blocks * args.block_steps + args.warmup) > EPOCH_STEPS:
        parser.error(f"at most {EPOCH_STEPS} steps in all: one pass over the corpus")
    if args.child:
        print(json.dumps(child(args.child, args)))
        return 0
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    if args.threads:  # before NumPy loads in the child
        env.update({name: str(args.threads) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    frameworks = ["chainrule", "pytorch"] if torch_installed() else ["chainrule"]
    if len(frameworks) == 1:
        print("PyTorch not installed (pip install torch): the twin is skipped", file=sys.stderr)
    results = []
    for framework in frameworks:
        command = [sys.executable, __file__, "--child", framework, "--blocks", str(args.blocks),
                   "--block-steps", str(args.block_steps), "--warmup", str(args.warmup)]
        if args.threads:
            command += ["--threads", str(args.threads)]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{framework} failed:\n{done.stderr[-2000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"Rnnlm V={V} D=H={H}, batch {BATCH} x time {TIME}, clip {CLIP}, SGD lr {LR}, float32; "
          f"{results[0]['source']}; threads {args.threads or 'default'}; median of {args.blocks} blocks of {args.block_steps} steps")
    print("| framework | first loss | ms per step | projected epoch (1,327 steps), s | block spread max/min |")
    print("|---|---|---|---|---|")
    for result in results:
        seconds = result["seconds_per_step"]
        print(f"| {result['framework']} | {result['first_loss']:.6f} | {1000 * seconds:.1f} | {EPOCH_STEPS * seconds:.1f} | "
              f"{result['spread']:.2f} |")
    if len(results) == 2:
        print(f"chainrule's step / PyTorch's: {results[0]['seconds_per_step'] / results[1]['seconds_per_step']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
