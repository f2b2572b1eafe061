"""chainrule.book on the sequel: which book a script is in, the list-based adapters' semantics, the
book's weight pickles, and GPU mode on the strict CuPy stand-in. (The scripts themselves run in
tests/test_book2_scripts.py.)"""

from __future__ import annotations

import os
import pickle
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from chainrule import restricted_pickle
from chainrule.backend import Backend, to_numpy
from chainrule.book import book_imports, run_script
from chainrule.book.sequel import device
from chainrule.book.trees import GPU_VARIABLE, book_tree, sequel_gpu_flag
from chainrule.errors import CheckpointError, ConfigError, UnsafePickleError, UsageError

from book2_support import BOOK2, HAVE_BOOK2, run_book2
from book_support import BOOK, HAVE_BOOK
from strict_backend import STRICT, StrictArray

SRC = Path(__file__).resolve().parents[1] / "src"
SEQUEL_ADAPTERS = SRC / "chainrule" / "book" / "sequel"
DATA = os.environ.get("CHAINRULE_DATA")
HAVE_PTB = bool(DATA) and any((Path(DATA) / sub / "ptb.test.txt").is_file() for sub in ("", "ptb"))
needs_book2 = pytest.mark.skipif(not HAVE_BOOK2, reason=f"needs the sequel's code at {BOOK2} (CHAINRULE_BOOK2_DIR)")
needs_ptb = pytest.mark.skipif(not HAVE_BOOK2 or not HAVE_PTB, reason="needs the sequel's code and PTB in CHAINRULE_DATA")


@pytest.fixture
def sequel():
    """The sequel's ``common`` modules, served as a script would import them."""
    with book_imports(adapters=SEQUEL_ADAPTERS):
        import common.layers
        import common.optimizer
        import common.time_layers
        import common.trainer
        import common.util

        yield types.SimpleNamespace(layers=common.layers, time_layers=common.time_layers, optimizer=common.optimizer,
                                    trainer=common.trainer, util=common.util)


def _sequel_tree(root: Path, gpu: str | None = None) -> Path:
    """A sequel-shaped tree (``common/np.py``, ``config.py``, ``time_layers.py``) with a ch06 folder."""
    (root / "common").mkdir(parents=True)
    for name in ("np.py", "time_layers.py", "__init__.py"):
        (root / "common" / name).write_text("raise ImportError('the book\\'s own module was imported')\n")
    (root / "common" / "config.py").write_text(f"# coding: utf-8\n\nGPU = {gpu or 'False'}\n")
    (root / "ch06").mkdir()
    return root / "ch06"


# -- which book ---------------------------------------------------------------------------------


def test_the_tree_tells_which_book_a_script_is_in(tmp_path: Path) -> None:
    chapter = _sequel_tree(tmp_path / "sequel")
    tree = book_tree(chapter / "train.py")
    assert (tree.book, tree.root, tree.adapters) == (2, tmp_path / "sequel", SEQUEL_ADAPTERS)
    first = tmp_path / "first"
    (first / "common").mkdir(parents=True)
    (first / "common" / "layers.py").write_text("")
    assert book_tree(first / "ch05" / "x.py").book == 1 and book_tree(first / "ch05" / "x.py").root == first
    elsewhere = book_tree(tmp_path / "x.py")  # outside any book: the first book's modules, as before
    assert (elsewhere.book, elsewhere.root) == (1, None)
    if HAVE_BOOK2:
        assert book_tree(BOOK2 / "ch06" / "eval.py").book == 2
    if HAVE_BOOK:
        assert book_tree(BOOK / "ch05" / "train_neuralnet.py").book == 1


def test_gpu_flag_is_read_from_the_books_config_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GPU_VARIABLE, raising=False)
    _sequel_tree(tmp_path / "off")
    _sequel_tree(tmp_path / "on", gpu="True")
    assert sequel_gpu_flag(tmp_path / "off") is False and sequel_gpu_flag(tmp_path / "on") is True
    assert sequel_gpu_flag(None) is False
    (tmp_path / "on" / "common" / "config.py").write_text("import os\nGPU = os.system('true') == 0\n")
    with pytest.raises(ConfigError, match=r"config\.py: GPU must be set to True or False"):
        sequel_gpu_flag(tmp_path / "on")
    monkeypatch.setenv(GPU_VARIABLE, "1")
    assert sequel_gpu_flag(tmp_path / "off") is True
    monkeypatch.setenv(GPU_VARIABLE, "yes")
    with pytest.raises(ConfigError, match=f"{GPU_VARIABLE} must be 1"):
        sequel_gpu_flag(None)


def test_a_sequel_script_gets_the_sequels_modules_inside_its_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chapter = _sequel_tree(tmp_path)
    (chapter / "script.py").write_text(
        "import sys\nsys.path.append('..')\n"
        "from common.time_layers import *\nfrom common.np import *\n"
        "print(TimeLSTM.__module__, type(TimeLSTM(*[np.zeros(s, 'f') for s in [(2, 8), (2, 8), (8,)]]).params).__name__, GPU)\n"
    )
    run_script(chapter / "script.py")
    assert capsys.readouterr().out == "common.time_layers list False\n"
    assert "common" not in sys.modules


# -- the adapters: the book's lists over chainrule's layers -----------------------------------------


def test_params_alias_the_layers_arrays_and_grads_stay_the_same_arrays(sequel) -> None:
    rng = np.random.default_rng(0)
    Wx, Wh, b = (rng.standard_normal(s).astype("f") for s in [(3, 16), (4, 16), (16,)])
    lstm = sequel.time_layers.TimeLSTM(Wx, Wh, b, stateful=True)
    assert lstm.params[0] is Wx and lstm.params[1] is Wh and lstm.params[2] is b
    grads = list(lstm.grads)
    xs = rng.standard_normal((2, 5, 3)).astype("f")
    hs = lstm.forward(xs)
    lstm.backward(np.ones_like(hs))
    assert all(g is h for g, h in zip(lstm.grads, grads)), "a grads array was replaced: models hold the old one"
    for grad, name in zip(lstm.grads, ("Wx", "Wh", "b")):
        np.testing.assert_array_equal(grad, lstm.layer.grads[name])
    assert lstm.h is lstm.layer.h and lstm.h.shape == (2, 4)
    lstm.reset_state()
    assert lstm.h is None
    before = Wx.copy()
    sequel.optimizer.SGD(lr=0.5).update(lstm.params, lstm.grads)  # in place: the layer computes with it
    np.testing.assert_allclose(lstm.layer.params["Wx"], before - 0.5 * lstm.grads[0])
    assert lstm.layer.params["Wx"] is Wx


def test_time_dropout_train_flg_is_the_layers_mode(sequel) -> None:
    drop = sequel.time_layers.TimeDropout(0.5)
    xs = np.ones((2, 3, 4), dtype="f")
    assert drop.train_flg is True and set(np.unique(drop.forward(xs))) <= {0.0, 2.0}
    drop.train_flg = False
    assert drop.layer.training is False
    np.testing.assert_array_equal(drop.forward(xs), xs)


def test_sigmoid_with_loss_and_matmul_match_the_books_formulas(sequel) -> None:
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal(6), rng.integers(0, 2, 6)
    loss_layer = sequel.layers.SigmoidWithLoss()
    y = 1 / (1 + np.exp(-x))
    assert loss_layer.forward(x, t) == pytest.approx(-np.mean(t * np.log(y) + (1 - t) * np.log(1 - y)), rel=1e-12)
    np.testing.assert_allclose(loss_layer.backward(), (y - t) / 6, rtol=1e-12)
    W = rng.standard_normal((4, 3))
    matmul = sequel.layers.MatMul(W)
    h = rng.standard_normal((2, 4))
    np.testing.assert_allclose(matmul.forward(h), h @ W)
    dout = rng.standard_normal((2, 3))
    np.testing.assert_allclose(matmul.backward(dout), dout @ W.T)
    assert len(matmul.params) == 1 and matmul.grads[0].shape == W.shape
    np.testing.assert_allclose(matmul.grads[0], h.T @ dout)


def test_remove_duplicate_merges_shared_and_tied_weights_as_the_book_does(sequel) -> None:
    rng = np.random.default_rng(2)
    E, b = rng.standard_normal((5, 3)), rng.standard_normal(5)
    params = [E, b, E, E.T]
    grads = [np.ones((5, 3)), np.ones(5), 2 * np.ones((5, 3)), np.arange(15.0).reshape(3, 5)]
    first_grad = grads[0]
    kept, summed = sequel.trainer.remove_duplicate(params, grads)
    assert len(kept) == 2 and kept[0] is E and kept[1] is b
    assert summed[0] is first_grad  # added in place, as the book does
    np.testing.assert_array_equal(summed[0], 3 + np.arange(15.0).reshape(3, 5).T)
    assert len(params) == 4, "the caller's lists are left as they were"


def test_the_optimizers_update_lists_in_place_and_refuse_mismatched_lists(sequel) -> None:
    p = [np.ones(3), np.ones((2, 2))]
    g = [np.full(3, 2.0), np.full((2, 2), 4.0)]
    adam = sequel.optimizer.Adam()
    arrays = list(p)
    adam.update(p, g)
    assert all(a is b for a, b in zip(p, arrays)) and adam.iter == 1
    np.testing.assert_allclose(p[0], 1 - 0.001, rtol=1e-6)  # Adam's first step moves by lr
    assert [m.shape for m in adam.m] == [(3,), (2, 2)]
    with pytest.raises(ConfigError, match="same length"):
        sequel.optimizer.SGD().update(p, g[:1])


def test_most_similar_prints_as_the_book_and_says_not_found(sequel, capsys: pytest.CaptureFixture[str]) -> None:
    corpus, word_to_id, id_to_word = sequel.util.preprocess("You say goodbye and I say hello.")
    C = sequel.util.create_co_matrix(corpus, len(word_to_id))
    assert sequel.util.most_similar("you", word_to_id, id_to_word, C, top=2) is None
    assert capsys.readouterr().out == "\n[query] you\n goodbye: 0.7071067691154799\n i: 0.7071067691154799\n"
    sequel.util.most_similar("cat", word_to_id, id_to_word, C)
    sequel.util.analogy("cat", "say", "you", word_to_id, id_to_word, C.astype("f"))
    assert capsys.readouterr().out == "cat is not found\ncat is not found\n"


def test_base_model_writes_the_books_format_and_reads_it_restricted(sequel, tmp_path: Path) -> None:
    with book_imports(adapters=SEQUEL_ADAPTERS):
        from common.base_model import BaseModel

    class Model(BaseModel):
        def __init__(self):
            rng = np.random.default_rng(3)
            self.params = [rng.standard_normal((3, 4)).astype("f"), np.zeros(4, dtype="f")]

    model = Model()
    model.save_params(str(tmp_path / "Model.pkl"))
    saved = pickle.loads((tmp_path / "Model.pkl").read_bytes())
    assert [a.dtype for a in saved] == [np.float16, np.float16]
    other = Model()
    other.params[0][...] = 0
    arrays = list(other.params)
    other.load_params(str(tmp_path / "Model.pkl"))
    assert all(a is b for a, b in zip(other.params, arrays)) and other.params[0].dtype == np.float32
    np.testing.assert_allclose(other.params[0], model.params[0], rtol=1e-3)
    (tmp_path / "short.pkl").write_bytes(pickle.dumps(saved[:1]))
    with pytest.raises(CheckpointError, match="expected a list of 2 arrays"):
        other.load_params(str(tmp_path / "short.pkl"))
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps([np.ones((3, 4)), eval]))
    with pytest.raises(UnsafePickleError):
        other.load_params(str(tmp_path / "evil.pkl"))
    with pytest.raises(IOError, match="No file"):
        other.load_params(str(tmp_path / "missing.pkl"))


def test_sequence_keeps_one_vocabulary_and_seeds_numpy_as_the_book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not HAVE_BOOK2:
        pytest.skip("needs the sequel's dataset/addition.txt")
    monkeypatch.setenv("CHAINRULE_BOOK2_DIR", str(BOOK2))
    with book_imports(adapters=SEQUEL_ADAPTERS):
        from dataset import sequence

        (x_train, t_train), (x_test, t_test) = sequence.load_data("addition.txt")
        after_ours = np.random.rand()
        char_to_id, id_to_char = sequence.get_vocab()
        assert sequence.load_data("nothing.txt") is None
    book = run_book2(
        "from dataset import sequence\nimport numpy as np\n"
        "(x, t), (xt, tt) = sequence.load_data('addition.txt')\n"
        "print(np.random.rand(), repr(x[:2].tolist()), repr(tt[-1].tolist()), sorted(sequence.get_vocab()[0].items()))\n",
        cwd=tmp_path,
    )
    assert book.split(" ", 1)[0] == repr(after_ours)
    assert f"{x_train[:2].tolist()!r} {t_test[-1].tolist()!r} {sorted(char_to_id.items())}" in book
    assert len(x_train) == 45000 and len(x_test) == 5000 and id_to_char[char_to_id["_"]] == "_"


# -- the book's weight files --------------------------------------------------------------------


@needs_book2
def test_the_books_weight_pickles_load_through_the_restricted_unpickler() -> None:
    cbow = restricted_pickle.load_file(BOOK2 / "ch04" / "cbow_params.pkl")
    assert cbow["word_vecs"].dtype == np.float16 and cbow["word_vecs"].shape == (10000, 100)
    assert cbow["id_to_word"][cbow["word_to_id"]["car"]] == "car"
    rnnlm = restricted_pickle.load_file(BOOK2 / "ch06" / "Rnnlm.pkl")
    assert [a.shape for a in rnnlm] == [(10000, 100), (100, 400), (100, 400), (400,), (100, 10000), (10000,)]


@needs_ptb
def test_rnnlm_pkl_gives_the_books_perplexity_under_chainrule_book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ch06/eval.py on the first 3,501 test words: the book's code, chainrule's Rnnlm, and the
    book's script under ``chainrule book`` agree (the whole text: 136.08 in the book's ORIGIN.md)."""
    from chainrule.data import load_ptb
    from chainrule.nets import Rnnlm, perplexity

    corpus = load_ptb("test")[0][:3501]
    np.save(tmp_path / "corpus.npy", corpus)
    book = float(run_book2(
        f"sys.path.insert(0, {str(BOOK2 / 'ch06')!r})\nimport numpy as np\nfrom rnnlm import Rnnlm\n"
        "from common.util import eval_perplexity\nmodel = Rnnlm()\nmodel.load_params()\n"
        f"print('', eval_perplexity(model, np.load({str(tmp_path / 'corpus.npy')!r})))\n",
        cwd=BOOK2 / "ch06",
    ).split()[-1])
    net = Rnnlm()
    net.load_params(BOOK2 / "ch06" / "Rnnlm.pkl")
    assert perplexity(net, corpus) == pytest.approx(book, rel=1e-4)
    monkeypatch.setenv("CHAINRULE_BOOK_PTB_LIMIT", "3501")
    monkeypatch.chdir(BOOK2 / "ch06")
    try:
        scope = run_script("eval.py")
    finally:
        _forget_modules_under(BOOK2)
    assert float(scope["ppl_test"]) == pytest.approx(book, rel=1e-4)
    assert 110 < book < 150


# -- GPU mode, on the strict CuPy stand-in --------------------------------------------------------


def _strict_cupy() -> Backend:
    """The strict backend's module plus the ``cupy.random`` functions the book's scripts call."""
    module = type(STRICT.xp)("strict_cupy")
    module.__dict__.update({k: v for k, v in vars(STRICT.xp).items() if not k.startswith("__")})
    wrap = StrictArray

    def on_device(draw):
        return lambda *args, **kwargs: wrap(np.asarray(draw(*args, **kwargs)))

    module.random = types.SimpleNamespace(randn=on_device(np.random.randn), rand=on_device(np.random.rand),
                                          permutation=on_device(np.random.permutation), seed=np.random.seed)
    return Backend("strict", module)


def _forget_modules_under(folder: Path) -> None:
    """The script's own modules (rnnlm.py): a second run in this process must import its own."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(folder.resolve()):
            del sys.modules[name]


@needs_ptb
def test_gpu_true_in_the_books_config_runs_the_script_on_the_gpu_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ch06/train_rnnlm.py, unchanged, with ``GPU = True`` in a copy of the book's config: every
    array on the (strict) device, the same perplexities as on the CPU from the same seed."""
    monkeypatch.setattr(device, "GPU_BACKEND", _strict_cupy())
    monkeypatch.setenv("CHAINRULE_BOOK_PTB_LIMIT", "701")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv(GPU_VARIABLE, raising=False)
    results = {}
    for gpu in ("False", "True"):
        root = tmp_path / f"gpu-{gpu}"
        (root / "common").mkdir(parents=True)
        for file in (BOOK2 / "common").glob("*.py"):
            text = file.read_text(encoding="utf-8")
            (root / "common" / file.name).write_text(re.sub(r"GPU = False", f"GPU = {gpu}", text) if file.name == "config.py" else text)
        (root / "ch06").mkdir()
        for name in ("train_rnnlm.py", "rnnlm.py"):
            (root / "ch06" / name).write_text((BOOK2 / "ch06" / name).read_text(encoding="utf-8"))
        monkeypatch.chdir(root / "ch06")
        np.random.seed(0)
        _forget_modules_under(BOOK2)
        try:
            scope = run_script("train_rnnlm.py")
        finally:
            _forget_modules_under(root)
        results[gpu] = (capsys.readouterr().out, scope)
    out, scope = results["True"]
    assert "GPU mode (strict_cupy)" in out
    assert all(isinstance(p, StrictArray) for p in scope["model"].params)
    assert isinstance(scope["model"].lstm_layer.layer.h, StrictArray)
    cpu_out, cpu_scope = results["False"]
    assert "GPU mode" not in cpu_out and isinstance(cpu_scope["model"].params[0], np.ndarray)
    assert float(to_numpy(scope["ppl_test"])) == pytest.approx(float(cpu_scope["ppl_test"]), rel=1e-4)
    saved = restricted_pickle.load_file(tmp_path / "gpu-True" / "ch06" / "Rnnlm.pkl")
    assert [a.dtype for a in saved] == [np.float16] * 6


# -- chainrule book --seed: the same start as the book's own code --------------------------------

# Builds the book's Rnnlm (ch06/rnnlm.py) and runs 10 steps of train_rnnlm.py's recipe on a
# random corpus; run by chainrule (run_script) and by the book's code, each seeded the same way.
_RNNLM_START = """
import sys
sys.path.insert(0, {ch06!r})
import numpy as np
from common.optimizer import SGD
from common.trainer import RnnlmTrainer
from rnnlm import Rnnlm
model = Rnnlm(10000, 100, 100)
initial = [param.copy() for param in model.params]
losses = []
forward = model.forward
def recorded(xs, ts):
    loss = forward(xs, ts)
    losses.append(float(loss))
    return loss
model.forward = recorded
words = np.load({corpus!r})
RnnlmTrainer(model, SGD(20.0)).fit(words[:-1], words[1:], max_epoch=1, batch_size=20, time_size=35, max_grad=0.25,
                                   eval_interval=None)
np.savez({out!r}, *initial, losses=np.array(losses))
"""


def _rnnlm_start(tmp_path: Path, seed: int, who: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    out = tmp_path / f"{who}-{seed}.npz"
    code = _RNNLM_START.format(ch06=str(BOOK2 / "ch06"), corpus=str(tmp_path / "words.npy"), out=str(out))
    if who == "book":
        run_book2(f"import numpy\nnumpy.random.seed({seed})\n" + code, cwd=tmp_path)
    else:
        monkeypatch.delenv(GPU_VARIABLE, raising=False)
        chapter = tmp_path / "tree" / "ch06"
        if not chapter.exists():
            _sequel_tree(tmp_path / "tree")
        (chapter / "start.py").write_text(code)
        try:
            run_script(chapter / "start.py", seed=seed)
        finally:
            _forget_modules_under(BOOK2)
    return dict(np.load(out))


@needs_book2
def test_book_seed_draws_the_books_initial_weights_and_follows_its_losses(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``chainrule book --seed N`` and the book's code after ``np.random.seed(N)``: the same weights,
    bit for bit, and the same losses over 10 steps of train_rnnlm.py's recipe (float32 sums in
    another order: close, not bitwise)."""
    np.save(tmp_path / "words.npy", np.random.default_rng(0).integers(0, 10000, 10 * 20 * 35 + 1))
    ours, book = _rnnlm_start(tmp_path, 5, "chainrule", monkeypatch), _rnnlm_start(tmp_path, 5, "book", monkeypatch)
    for index in range(6):
        name = f"arr_{index}"
        assert ours[name].dtype == book[name].dtype == np.float32
        assert np.array_equal(ours[name], book[name]), f"initial weight {index} differs"
    assert len(ours["losses"]) == len(book["losses"]) == 10
    np.testing.assert_allclose(ours["losses"], book["losses"], rtol=1e-6)  # measured over 20 steps: 8e-8 at most
    drawn = (np.random.RandomState(5).randn(10000, 100) / 100).astype("f")
    assert np.array_equal(ours["arr_0"], drawn)  # the seed is what made them equal


def test_book_seed_is_checked_before_the_script_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from chainrule.book.__main__ import main as book_main
    from chainrule.cli.main import main

    with pytest.raises(SystemExit) as stopped:
        main(["book", "--seed", "-1", "train.py"])
    assert stopped.value.code == 2 and "--seed" in capsys.readouterr().err
    assert book_main(["--seed", "x", "train.py"]) == 2
    assert "--seed takes a whole number" in capsys.readouterr().err
    with pytest.raises(UsageError, match=r"seed must be an integer in \[0, 4294967295\], got 4294967296"):
        run_script("train.py", seed=2**32)
