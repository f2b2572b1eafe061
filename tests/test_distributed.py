"""Data-parallel training (chainrule.distributed): the pieces alone, then real MPI jobs.

The MPI tests start ``mpiexec -n 2`` (from the ``mpi`` extra) on tests/mpi_worker.py and skip
when mpi4py or mpiexec is missing. Their claim: two processes, each with half of every batch,
end with the weights one process reaches with the whole batch, to rounding.

Tolerances, relative to the largest weight: float64 1e-10, float32 1e-5. The two runs differ
only in the order of summation (each rank sums its shard, MPI adds the shards) and in scaling
the mean gradient by the shard size and back, a few ulp per step; ten steps of Adam, which
divides by the gradients' running RMS, can grow that by a few orders of magnitude at most. A
real mistake (an overlapping or missing shard, a wrong weighting) shows up at 1e-3 or more.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mpi_worker
from chainrule.distributed import FlatBuffer, create_multi_node_optimizer, shard_bounds
from chainrule.distributed.batchnorm import GlobalBatchMean
from chainrule.layers.normalization import local_batch_mean
from chainrule.optimizers import SGD, Adam

WORKER = Path(__file__).with_name("mpi_worker.py")
SRC = Path(__file__).resolve().parents[1] / "src"
TOLERANCE = {"float64": 1e-10, "float32": 1e-5}


# -- the pieces, in one process -----------------------------------------------------------------


@pytest.mark.parametrize("n, size", [(0, 3), (1, 2), (10, 2), (10, 3), (7, 7), (5, 8), (60000, 64)])
def test_shards_are_disjoint_contiguous_and_cover_everything(n: int, size: int) -> None:
    bounds = [shard_bounds(n, rank, size) for rank in range(size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(stop == start for (_, stop), (start, _) in zip(bounds, bounds[1:]))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def test_shard_bounds_rejects_a_rank_outside_the_job() -> None:
    with pytest.raises(ValueError, match="rank must be in"):
        shard_bounds(10, 2, 2)


def test_flat_buffer_packs_views_and_unpacks() -> None:
    arrays = {"W": np.arange(6.0).reshape(2, 3), "b": np.array([7.0, 8.0])}
    buffer = FlatBuffer.like(arrays, extra=1)
    buffer.pack(arrays, scale=2.0)
    assert buffer.data.shape == (9,) and buffer.data.flags.c_contiguous
    np.testing.assert_array_equal(buffer.views()["W"], 2 * arrays["W"])
    target = {k: np.zeros_like(v) for k, v in arrays.items()}
    buffer.unpack_into(target)
    np.testing.assert_array_equal(target["b"], [14.0, 16.0])
    np.testing.assert_array_equal(arrays["W"], np.arange(6.0).reshape(2, 3))  # the input is untouched
    with pytest.raises(ValueError, match="'W' has shape"):
        buffer.pack({"W": np.zeros(6), "b": np.zeros(2)})
    with pytest.raises(ValueError, match="expected arrays"):
        buffer.pack({"W": arrays["W"]})


class FakeRanks:
    """Stands in for the other ranks of a job: ``allreduce_sum`` adds what they would send."""

    def __init__(self, others: list[np.ndarray] | None = None, rank: int = 0, size: int = 1) -> None:
        self.others, self.rank, self.size, self.calls = others or [], rank, size, 0

    is_root = property(lambda self: self.rank == 0)

    def ranks_on_this_node(self) -> int:
        return self.size

    def shard(self, n: int) -> slice:
        return slice(*shard_bounds(n, self.rank, self.size))

    def allreduce_sum(self, buffer: np.ndarray) -> np.ndarray:
        self.calls += 1
        for other in self.others:
            buffer += other
        return buffer


def test_multi_node_optimizer_averages_weighted_by_samples_in_one_call() -> None:
    params = {"W": np.ones((2, 2)), "b": np.zeros(2)}
    mine = {"W": np.full((2, 2), 1.0), "b": np.full(2, 1.0)}  # mean gradient over my 3 samples
    # The other rank: mean gradient 4 over 1 sample, so it sends 4 * 1 and its count 1.
    other = np.concatenate([np.full(4, 4.0), np.full(2, 4.0), [1.0]])
    ranks = FakeRanks([other], size=2)
    optimizer = create_multi_node_optimizer(SGD(lr=0.5), ranks, share=lambda: 3)
    optimizer.update(params, mine)
    # Global mean gradient: (3 * 1 + 1 * 4) / 4 = 1.75.
    np.testing.assert_allclose(params["W"], 1 - 0.5 * 1.75)
    np.testing.assert_allclose(params["b"], -0.5 * 1.75)
    assert ranks.calls == 1
    np.testing.assert_array_equal(mine["W"], 1.0)  # gradients are only read


def test_multi_node_optimizer_is_the_wrapped_optimizer_otherwise() -> None:
    inner = Adam(lr=0.01)
    optimizer = create_multi_node_optimizer(inner, FakeRanks())
    optimizer.lr = 0.5  # a schedule sets the wrapped optimizer's rate
    assert inner.lr == 0.5 and optimizer.lr == 0.5
    params = {"W": np.ones(3)}
    optimizer.update(params, {"W": np.ones(3)})
    assert optimizer.iterations == 1 and optimizer.state_dict().keys() == inner.state_dict().keys()
    with pytest.raises(TypeError, match="already wrapped"):
        create_multi_node_optimizer(optimizer, FakeRanks())
    with pytest.raises(ValueError, match="share has no samples"):
        optimizer.update(params, None)


def test_a_rank_with_an_empty_shard_contributes_nothing() -> None:
    params = {"W": np.ones(2)}
    other = np.array([6.0, 6.0, 2.0])  # the other rank: 2 samples, mean gradient 3
    optimizer = create_multi_node_optimizer(SGD(lr=1.0), FakeRanks([other], size=2), share=lambda: 0)
    optimizer.update(params, None)
    np.testing.assert_allclose(params["W"], 1 - 3.0)


@pytest.mark.parametrize("n, batch_size, size", [(45, 10, 2), (7, 2, 3), (5, 10, 8)])
def test_data_parallel_hands_out_shares_and_steps_alone_where_a_share_is_empty(n: int, batch_size: int,
                                                                                size: int) -> None:
    """Every rank's shares together are the epoch's batches, once each; a rank whose share of a
    batch is empty takes that step's Allreduce itself, so every rank makes one per batch."""
    from chainrule.distributed import DataParallel
    from chainrule.nets import MultiLayerNet

    order = np.random.default_rng(0).permutation(n)
    batches = -(-n // batch_size)
    seen: list[list[int]] = [[] for _ in range(batches)]
    for rank in range(size):
        ranks = FakeRanks(rank=rank, size=size)
        parallel = DataParallel(MultiLayerNet(3, [2], 2, rng=0), SGD(0.1), ranks)
        for step, share in parallel.batches(order, batch_size):
            assert len(share) == parallel.share > 0
            parallel.optimizer.update(parallel.net.params, {k: np.zeros_like(v) for k, v in parallel.net.params.items()})
            seen[step].extend(share.tolist())
        assert ranks.calls == batches, f"rank {rank}"
    assert [sorted(indices) for indices in seen] == [sorted(order[i : i + batch_size]) for i in range(0, n, batch_size)]


def test_the_epoch_loop_has_no_branch_on_the_communicator() -> None:
    """Distribution is one seam chosen in the constructor: the loop reads the same for one
    process and for many, and calls update(params, grads) as a one-process loop does."""
    import inspect
    import re

    from chainrule.training import Trainer

    for method in (Trainer._train_epoch, Trainer.fit):
        source = inspect.getsource(method)
        assert not re.search(r"\bcomm\b|communicator is (not )?None|\.size\b|\.rank\b", source), method.__name__
    loop = inspect.getsource(Trainer._train_epoch)
    assert "self.optimizer.update(net.params, grads)" in loop and "samples" not in loop
    assert "self.parallel.batches(" in loop


def test_global_batch_mean_equals_the_mean_over_the_whole_batch() -> None:
    rng = np.random.default_rng(0)
    whole = rng.standard_normal((7, 3, 2, 2))
    mine, theirs = whole[:4], whole[4:]
    axes = (0, 2, 3)
    # Forward: plain means. The other rank sends its sums and its element count.
    other = np.concatenate([theirs.sum(axis=axes), [theirs.size / 3]])
    (mean,) = GlobalBatchMean(FakeRanks([other], size=2))(axes, mine)
    np.testing.assert_allclose(mean, local_batch_mean(axes, whole)[0], rtol=1e-14)
    # Backward: gradients of each rank's mean loss, i.e. per-sample values / shard size.
    per_sample = rng.standard_normal((7, 3, 2, 2))
    other = np.concatenate([(per_sample[4:] / 3).sum(axis=axes) * 3, [theirs.size / 3]])
    (mean,) = GlobalBatchMean(FakeRanks([other], size=2))(axes, per_sample[:4] / 4, gradients=True)
    # One process on the whole batch: the loss is averaged over 7, so the values are / 7 ...
    expected = local_batch_mean(axes, per_sample / 7)[0]
    np.testing.assert_allclose(mean * 4 / 7, expected, rtol=1e-14)  # ... and this rank's are / 4


def test_train_distributed_without_mpi4py_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    from chainrule.cli.main import main

    monkeypatch.setitem(sys.modules, "mpi4py", None)  # as if the mpi extra were not installed
    assert main(["train", "--distributed", "--output-dir", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "mpi extra" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_sync_batchnorm_needs_distributed(capsys: pytest.CaptureFixture) -> None:
    from chainrule.cli.main import main

    assert main(["train", "--batchnorm", "--sync-batchnorm"]) == 2
    assert "--sync-batchnorm applies to --distributed" in capsys.readouterr().err


def test_synchronised_batch_norm_refuses_a_batch_that_leaves_a_rank_empty() -> None:
    from chainrule.distributed import synchronize_batch_norm
    from chainrule.nets import MultiLayerNet
    from chainrule.training import Trainer

    net = MultiLayerNet(3, [4], 2, use_batchnorm=True, rng=0)
    ranks = FakeRanks(size=2)
    assert synchronize_batch_norm(net, ranks) == 1
    x, t = np.zeros((41, 3)), np.zeros(41, dtype=int)  # batches of 10, then one of 1: rank 1 gets none
    with pytest.raises(ValueError, match="leaves a batch of 1"):
        Trainer(net, SGD(0.1), batch_size=10, verbose=0, communicator=ranks).fit(x, t)
    assert ranks.calls == 0  # refused before any communication
    per_rank = MultiLayerNet(3, [4], 2, use_batchnorm=True, rng=0)  # statistics of each rank's shard
    with pytest.raises(ValueError, match="per-rank batch normalisation needs 2 samples"):
        Trainer(per_rank, SGD(0.1), batch_size=3, verbose=0, communicator=ranks).fit(x[:39], t[:39])


def test_each_rank_gets_its_share_of_the_cores_blas_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from chainrule.distributed import set_blas_threads
    from chainrule.distributed.runtime import available_cores
    from chainrule.threads import THREAD_VARIABLES

    for variable in THREAD_VARIABLES:  # set_threads also exports them for child processes: undo after
        monkeypatch.setenv(variable, os.environ.get(variable, ""))

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]

    if not blas_threads():
        pytest.skip("threadpoolctl sees no BLAS library")
    before = max(blas_threads())
    try:
        assert set_blas_threads(FakeRanks(size=2)) == max(1, available_cores() // 2)
        assert set(blas_threads()) == {max(1, available_cores() // 2)}
        assert set_blas_threads(FakeRanks(size=2), 1) == 1
    finally:
        threadpoolctl.threadpool_limits(limits=before, user_api="blas")


# -- real MPI jobs ------------------------------------------------------------------------------


def _mpiexec() -> str | None:
    beside_python = Path(sys.executable).with_name("mpiexec")
    return str(beside_python) if beside_python.is_file() else shutil.which("mpiexec")


def _mpi_ready() -> str:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (the mpi extra)"
    if _mpiexec() is None:
        return "mpiexec is not on PATH"
    return ""


# .ci/run sets CHAINRULE_REQUIRE_MPI=1 once the mpi extra is installed: there these tests must run.
REQUIRE_MPI = os.environ.get("CHAINRULE_REQUIRE_MPI") == "1"
needs_mpi = pytest.mark.skipif(bool(_mpi_ready()) and not REQUIRE_MPI, reason=_mpi_ready() or "MPI ready")


def mpirun(ranks: int, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """``mpiexec -n RANKS python tests/mpi_worker.py ARGS`` with chainrule's source on the path."""
    assert not _mpi_ready(), f"CHAINRULE_REQUIRE_MPI=1 but {_mpi_ready()}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    command = [_mpiexec(), "-n", str(ranks), sys.executable, str(WORKER), *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def weights(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as saved:
        return {k: saved[k] for k in saved.files}


def assert_same_model(found: dict[str, np.ndarray], net: Any, dtype: str) -> None:
    for key, expected in net.state_dict().items():
        difference = np.abs(found[f"model/{key}"] - expected).max()
        scale = max(np.abs(expected).max(), 1e-3)
        assert difference <= TOLERANCE[dtype] * scale, f"{key}: max |Δ| {difference:.3g} (scale {scale:.3g})"


EQUIVALENT = {"mlp": "float64", "mlp32": "float32", "cnn": "float64", "batchnorm-sync": "float64"}
RANK_LOCAL = ("batchnorm", "dropout")  # per-rank statistics and masks: equal across ranks only


@pytest.fixture(scope="module")
def two_rank_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All scenarios in one ``mpiexec -n 2`` (each start costs about a second)."""
    out = tmp_path_factory.mktemp("mpi") / "run"
    mpirun(2, ",".join([*EQUIVALENT, *RANK_LOCAL]), str(out))
    return out


@needs_mpi
@pytest.mark.parametrize("scenario", list(EQUIVALENT))
def test_two_ranks_with_half_batches_reach_one_process_weights(two_rank_runs: Path, scenario: str) -> None:
    (net, _), history = mpi_worker.train(scenario)
    rank0 = weights(Path(f"{two_rank_runs}-{scenario}.rank0.npz"))
    rank1 = weights(Path(f"{two_rank_runs}-{scenario}.rank1.npz"))
    assert_same_model(rank0, net, EQUIVALENT[scenario])
    for key in rank0:  # every rank applied the same averaged update: bit-identical weights
        if key.startswith("model/"):
            np.testing.assert_array_equal(rank0[key], rank1[key], err_msg=key)
    # Metrics are reduced over ranks: the whole epoch's and the whole test set's.
    np.testing.assert_allclose(rank0["history/test_acc"], history.test_acc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rank0["history/train_loss"], history.train_loss, rtol=TOLERANCE[EQUIVALENT[scenario]])


@needs_mpi
def test_one_allreduce_per_step(two_rank_runs: Path) -> None:
    # mlp: 45 samples in batches of 10 = 5 steps, 2 epochs; per epoch one more call sums the
    # training metrics and one the test metrics (no batch norm, so no buffers to average).
    calls = int(weights(Path(f"{two_rank_runs}-mlp.rank0.npz"))["allreduce_calls"])
    assert calls == 2 * 5 + 2 * 2


@needs_mpi
@pytest.mark.parametrize("scenario", RANK_LOCAL)
def test_rank_local_randomness_still_ends_in_one_model(two_rank_runs: Path, scenario: str) -> None:
    rank0 = weights(Path(f"{two_rank_runs}-{scenario}.rank0.npz"))
    rank1 = weights(Path(f"{two_rank_runs}-{scenario}.rank1.npz"))
    for key in rank0:
        if key.startswith("model/"):  # batch-norm running statistics are averaged every epoch
            np.testing.assert_array_equal(rank0[key], rank1[key], err_msg=key)


@needs_mpi
@pytest.mark.parametrize("first, second", [(2, 1), (1, 2)])
def test_resume_with_another_number_of_processes(tmp_path: Path, first: int, second: int) -> None:
    """2 epochs on FIRST ranks, saved, then the third on SECOND ranks = 3 uninterrupted epochs."""
    out = tmp_path / "run"
    if first == 1:
        (net, optimizer), history = mpi_worker.train("mlp", epochs=2)
        mpi_worker.save(f"{out}-mlp.rank0.npz", net, optimizer, history)
    else:
        mpirun(first, "mlp", str(out))
    mpirun(second, "resume", str(out), f"{out}-mlp.rank0.npz", "3", "mlp")
    (net, _), history = mpi_worker.train("mlp", epochs=3)
    resumed = weights(Path(f"{out}-resume.rank0.npz"))
    assert_same_model(resumed, net, "float64")
    assert list(resumed["history/epoch"]) == [1, 2, 3]


@needs_mpi
@pytest.mark.parametrize("how, says", [("fail-raise", "rank 1 of 2 failed (RuntimeError: injected failure)"),
                                       ("fail-kill", "BAD TERMINATION")])
def test_a_failing_rank_ends_the_whole_job_within_seconds(tmp_path: Path, how: str, says: str) -> None:
    """Rank 1 fails at its 5th step of a 1000-epoch run; rank 0 must not wait for it forever."""
    started = time.monotonic()
    result = mpirun(2, how, str(tmp_path / "run"), timeout=60, check=False)
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert says in result.stdout + result.stderr
    assert elapsed < 30, f"the job took {elapsed:.1f} s to end"  # typically 2 s, start-up included


# -- chainrule train --distributed --------------------------------------------------------------


def cli_train(data_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    return ["train", "--data-dir", str(data_dir), "--no-verify", "--no-download", "--output-dir", str(run_dir),
            "--hidden-sizes", "8", "--batch-size", "16", "--dtype", "float64", "--schedule", "constant", "-v", "2", *extra]


@needs_mpi
def test_cli_distributed_run_resumes_across_process_counts(tmp_path: Path) -> None:
    """1 process, then 2 ranks, then 1 process again: the weights of 3 uninterrupted epochs.

    A constant rate: a cosine schedule is planned over --epochs, which the resumes change.
    """
    from chainrule.checkpoint import load_checkpoint
    from chainrule.cli.main import main
    from chainrule.data import write_fake_dataset

    data_dir = tmp_path / "data"
    write_fake_dataset(data_dir, train_size=60, test_size=20)
    assert main(cli_train(data_dir, tmp_path / "whole", "--epochs", "3")) == 0
    assert main(cli_train(data_dir, tmp_path / "split", "--epochs", "1")) == 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    command = [_mpiexec(), "-n", "2", sys.executable, "-m", "chainrule.cli.main",
               *cli_train(data_dir, tmp_path / "split", "--epochs", "2", "--resume", "--distributed")]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("epoch 2/2") == 1, result.stdout  # rank 0 alone prints
    assert "distributed: 2 ranks" in result.stdout and "resuming at epoch 2" in result.stdout
    assert main(cli_train(data_dir, tmp_path / "split", "--epochs", "3", "--resume")) == 0
    whole, _, _ = load_checkpoint(tmp_path / "whole")
    split, _, _ = load_checkpoint(tmp_path / "split")
    for key in whole:
        np.testing.assert_allclose(split[key], whole[key], rtol=0, atol=TOLERANCE["float64"] * np.abs(whole[key]).max())
    assert not (tmp_path / "runs").exists()  # no other rank made a run directory of its own


@needs_mpi
def test_cli_killed_rank_ends_the_job_and_the_last_checkpoint_resumes(tmp_path: Path) -> None:
    """SIGKILL rank 1 of a long distributed run: mpiexec ends rank 0 too, within seconds, and the
    run directory continues from its last checkpoint in one process."""
    import json
    import re
    import signal

    from chainrule.cli.main import main
    from chainrule.data import write_fake_dataset

    data_dir, run_dir = tmp_path / "data", tmp_path / "run"
    write_fake_dataset(data_dir, train_size=60, test_size=20)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    command = [_mpiexec(), "-n", "2", sys.executable, "-m", "chainrule.cli.main",
               *cli_train(data_dir, run_dir, "--epochs", "100000", "--distributed")]
    job = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        header = job.stdout.readline()  # "distributed: 2 ranks, ... (ranks 0: pid P on H, 1: pid Q on H)"
        rank1 = int(re.search(r"1: pid (\d+)", header).group(1))
        while "epoch 3/" not in job.stdout.readline():  # two checkpoints written, training goes on
            assert job.poll() is None, "the run ended by itself"
        os.kill(rank1, signal.SIGKILL)
        killed = time.monotonic()
        output = job.communicate(timeout=60)[0]
        ended = time.monotonic() - killed
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode != 0 and "BAD TERMINATION" in output, output
    assert ended < 20, f"rank 0 went on for {ended:.1f} s after rank 1 was killed"
    epochs = len(json.loads((run_dir / "metrics.json").read_text())["epoch"])
    assert epochs >= 2
    assert main(cli_train(data_dir, run_dir, "--epochs", str(epochs + 1), "--resume")) == 0
    assert len(json.loads((run_dir / "metrics.json").read_text())["epoch"]) == epochs + 1


# -- ranks agree that they can start, or all stop with one message ------------------------------


def report(facts: dict | None = None, error: str | None = None, where: str = "", usage: bool = False) -> dict:
    return {"facts": facts, "error": error, "where": where, "usage": usage}


def test_agreement_names_the_ranks_that_failed_or_differ() -> None:
    from chainrule.distributed.agreement import disagreement

    same = {"training samples": 60, "contents fingerprint": "ab"}
    assert disagreement([report(same), report(dict(same))], "data") is None
    message, usage = disagreement([report(same, where="/a"), report(error="no MNIST files", where="/b", usage=True)],
                                  "data")
    assert message == "rank 1 (/b) failed (data): no MNIST files" and usage
    message, usage = disagreement([report(same, where="/a"), report(same, where="/a"),
                                   report({**same, "training samples": 50}, where="/c")], "data")
    assert message == "data differ between ranks: training samples 50 on rank 2 (/c), 60 on rank 0 (/a)" and not usage
    message, usage = disagreement([report({"epochs": 3}), report({"epochs": 3, "lr": 0.5})], "options")
    assert message == "options differ between ranks: lr 0.5 on rank 1, not given on rank 0" and usage
    many = [report(error=f"error {rank}") for rank in range(6)]
    assert disagreement(many, "options")[0].endswith("rank 2 failed (options): error 2; and 3 more")


def test_fingerprint_sees_labels_and_a_sample_of_the_images() -> None:
    from chainrule.distributed.agreement import FINGERPRINT_BYTES, fingerprint

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 1000)
    images = rng.random((4 * FINGERPRINT_BYTES // (8 * 100), 100))  # 4 times the budget: every 4th row hashed
    base = fingerprint(labels, images)
    assert fingerprint(labels.copy(), images.copy()) == base
    changed = labels.copy()
    changed[-1] = (changed[-1] + 1) % 10
    assert fingerprint(changed, images) != base  # the labels are hashed whole
    for row, seen in ((0, True), (4, True), (1, False)):
        other = images.copy()
        other[row, 0] += 1
        assert (fingerprint(labels, other) != base) == seen, row
    assert fingerprint(labels[:-1], images) != base
    assert fingerprint(labels, images.astype(np.float32)) != base


def test_agreement_without_ranks_raises_this_process_error() -> None:
    from chainrule.distributed.agreement import agree, attempt
    from chainrule.errors import DataError

    def fails() -> None:
        raise DataError("broken")

    assert agree(None, "data", attempt(lambda: 5), lambda value: {"value": value}) == 5
    with pytest.raises(DataError, match="broken"):
        agree(None, "data", attempt(fails), lambda value: {})


def mpmd(commands: list[list[str]], cwd: Path, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    """``mpiexec -n 1 COMMAND0 : -n 1 COMMAND1 ...`` (one rank each, each with its own command line)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    command = [_mpiexec()]
    for rank, arguments in enumerate(commands):
        command += [":"] * (rank > 0) + ["-n", "1", sys.executable, "-m", "chainrule.cli.main", *arguments]
    started = time.monotonic()
    job = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                           start_new_session=True)
    try:
        stdout, stderr = job.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)  # mpiexec and every rank it started: none is left waiting
        stdout, stderr = job.communicate()
        raise AssertionError(f"the job still ran after {timeout} s:\n{stdout}\n{stderr}") from None
    return subprocess.CompletedProcess(command, job.returncode, stdout, stderr), time.monotonic() - started


@needs_mpi
@pytest.mark.parametrize("rank1, status, says", [
    (["--epochs", "0"], 2, "argument --epochs: expected a positive integer"),
    (["--data-dir", "missing"], 2, "'missing' does not exist"),
    (["--data-dir", "smaller"], 1, "data differ between ranks: training samples 50 on rank 1 (smaller), 60 on rank 0 (data)"),
    (["--data-dir", "relabelled"], 1, "data differ between ranks: contents fingerprint"),
    (["--data-dir", "empty"], 2, "rank 1 (empty) failed (data): empty: no MNIST files"),
    (["--lr", "0.5"], 2, "options differ between ranks: lr 0.5 on rank 1, not given on rank 0"),
])
def test_a_rank_that_cannot_start_ends_every_rank_with_its_message(tmp_path: Path, rank1: list[str], status: int,
                                                                   says: str) -> None:
    """Rank 1 alone has a bad option, no data folder, other data or other options: the job ends
    at once, with one message naming rank 1 and what differs, instead of hanging or training."""
    from chainrule.data import write_fake_dataset

    write_fake_dataset(tmp_path / "data", train_size=60, test_size=20)
    write_fake_dataset(tmp_path / "smaller", train_size=50, test_size=20)
    write_fake_dataset(tmp_path / "relabelled", train_size=60, test_size=20, seed=1)
    (tmp_path / "empty").mkdir()
    rank0 = cli_train(Path("data"), Path("run"), "--epochs", "1", "--distributed")
    result, elapsed = mpmd([rank0, [*rank0, *rank1]], cwd=tmp_path)
    assert result.returncode == status, result.stdout + result.stderr
    assert says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "epoch 1/1" not in result.stdout
    assert elapsed < 30, f"the job took {elapsed:.1f} s to end"  # typically 2 s, start-up included
    assert not (tmp_path / "run").exists()  # refused before training: no run directory is left
