"""Ctrl-C at any instant of a ``chainrule`` command, its imports included: one line, exit 130.

Each run starts the command in a fresh interpreter, waits until the guard is imported (the child's
``-X importtime`` report says so on stderr; before that only the interpreter's own start-up and
a few milliseconds of light imports run, which no program can guard), sleeps and sends SIGINT. The delays reach
from the import of NumPy and of the subcommands, through parsing, to the command's last line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")

SRC = str(Path(__file__).resolve().parent.parent / "src")
# What the console script does (pip writes it from pyproject's [project.scripts]).
CONSOLE_SCRIPT = "import sys; from chainrule.cli.entry import main; sys.argv[0] = 'chainrule'; sys.exit(main())"
INTERRUPTED = ("chainrule: interrupted", "chainrule demo: interrupted", "chainrule train: interrupted")


def interrupt(
    launcher: list[str], argv: list[str], delay: float, marker: str = "chainrule.cli.entry"
) -> tuple[int, str, bool]:
    """Run ``launcher + argv``, send SIGINT ``delay`` s after ``marker``, the last module imported
    before the guard, is imported; return (exit status, stderr without the import report, whether
    the signal was sent before the command ended)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen(
        [sys.executable, "-X", "importtime", *launcher, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    entered = threading.Event()

    def read_stderr() -> None:  # drain the pipe all along, so the child never blocks on it
        for line in child.stderr:
            lines.append(line)
            if line.startswith("import time:") and line.rstrip().endswith(f"| {marker}"):
                entered.set()
        entered.set()  # it ended without the marker: let the assertions below say so

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        assert entered.wait(60), "the command never imported its entry module"
        time.sleep(delay)
        sent = child.poll() is None
        if sent:
            child.send_signal(signal.SIGINT)
        code = child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    reader.join(10)
    assert any(marker in line for line in lines), "".join(lines)[-2000:]
    report = "".join(line for line in lines if not line.startswith("import time:"))
    return code, report, sent


def assert_interrupted_cleanly(code: int, stderr: str, sent: bool) -> None:
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    if code in (0, -signal.SIGINT):  # it finished first, or the signal stopped it on its way out
        assert stderr == "", stderr
        return
    assert sent and code == 130, (code, stderr)
    assert stderr.strip() in INTERRUPTED, stderr


@pytest.mark.parametrize("delay", [0.001, 0.01, 0.03, 0.08, 0.15, 0.3, 0.6])
def test_ctrl_c_during_imports_parsing_or_running_is_one_line_and_130(delay):
    assert_interrupted_cleanly(*interrupt(["-c", CONSOLE_SCRIPT], ["demo", "apple"], delay))


@pytest.mark.parametrize("delay", [0.001, 0.05, 0.2])
def test_ctrl_c_while_help_is_built(delay):
    assert_interrupted_cleanly(*interrupt(["-c", CONSOLE_SCRIPT], ["train", "--help"], delay))


@pytest.mark.parametrize("delay", [0.001, 0.05, 0.2])
def test_python_dash_m_is_guarded_too(delay):
    launcher = ["-m", "chainrule.cli.main"]
    assert_interrupted_cleanly(*interrupt(launcher, ["demo", "apple"], delay, marker="chainrule.cli.interrupts"))


def test_the_entry_module_and_the_package_import_nothing_heavy():
    """What runs before the guard: importing them must not load NumPy, argparse or the commands."""
    code = "import sys; import chainrule.cli.entry; print(' '.join(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    loaded = done.stdout.split()
    ours = [name for name in loaded if name.startswith("chainrule")]
    assert ours == ["chainrule", "chainrule.cli", "chainrule.cli.entry", "chainrule.cli.interrupts", "chainrule.errors"]
    assert not {"numpy", "argparse", "typing"} & set(loaded)


def test_the_console_script_is_the_guarded_entry():
    text = (Path(SRC).parent / "pyproject.toml").read_text(encoding="utf-8")
    assert 'chainrule = "chainrule.cli.entry:main"' in text


def test_an_interrupt_caught_inside_exec_text_still_exits_130_under_python_dash_m(tmp_path):
    """CPython marks a KeyboardInterrupt that left ``exec(text)`` as unhandled even when it was
    caught, and ``python -m`` then dies by SIGINT (-2) instead of exiting 130; dataclasses and
    namedtuple exec text while modules load, so a Ctrl-C there hit this at random."""
    (tmp_path / "interrupted_in_exec.py").write_text(
        "import sys\n"
        "import chainrule.cli.main as cli\n"
        "def build_parser():\n"
        "    exec('raise KeyboardInterrupt', {})\n"
        "cli.build_parser = build_parser\n"
        "from chainrule.cli.entry import main\n"
        "sys.exit(main(['demo', 'apple']))\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, str(tmp_path)])}
    done = subprocess.run([sys.executable, "-m", "interrupted_in_exec"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert (done.returncode, done.stderr) == (130, "chainrule: interrupted\n")


def run_with_patched_build_parser(tmp_path: Path, build_parser: str) -> subprocess.CompletedProcess:
    """``chainrule demo apple`` under ``python -m``, its ``build_parser`` replaced by ``build_parser``
    (source of a function that may call ``build()``, the real one): a Ctrl-C at a chosen point."""
    (tmp_path / "patched_cli.py").write_text(
        "import signal, sys, weakref\n"
        "import chainrule.cli.main as cli\n"
        "build = cli.build_parser\n"
        f"{build_parser}\n"
        "cli.build_parser = build_parser\n"
        "from chainrule.cli.entry import main\n"
        "sys.exit(main())\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, str(tmp_path)])}
    command = [sys.executable, "-m", "patched_cli", "demo", "apple"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def test_an_interrupt_lost_in_a_callback_is_not_a_traceback(tmp_path):
    """A KeyboardInterrupt raised inside a weakref callback cannot propagate: Python would print
    'Exception ignored in ...' with a traceback and carry on. The entry point says interrupted."""
    done = run_with_patched_build_parser(tmp_path, (
        "class Thing: pass\n"
        "def build_parser():\n"
        "    thing = Thing()\n"
        "    ref = weakref.ref(thing, lambda _: signal.raise_signal(signal.SIGINT))\n"
        "    del thing\n"
        "    return build()"
    ))
    assert (done.returncode, done.stderr) == (130, "chainrule: interrupted\n")


def test_an_interrupt_that_c_code_turned_into_another_error_still_exits_130(tmp_path):
    """NumPy's C import, interrupted, reports 'ImportError: PyCapsule_Import could not import
    module "datetime"': the KeyboardInterrupt never reaches Python code. The Ctrl-C was counted."""
    done = run_with_patched_build_parser(tmp_path, (
        "def build_parser():\n"
        "    try:\n"
        "        signal.raise_signal(signal.SIGINT)\n"
        "    except KeyboardInterrupt:\n"
        "        raise ImportError('PyCapsule_Import could not import module \"datetime\"') from None"
    ))
    assert (done.returncode, done.stderr) == (130, "chainrule: interrupted\n")


def test_every_public_name_of_the_lazy_package_resolves():
    import chainrule

    assert sorted(name for name in chainrule.__all__ if not hasattr(chainrule, name)) == []
    assert set(chainrule.__all__) <= set(dir(chainrule))
    assert chainrule.Relu is __import__("chainrule.layers", fromlist=["Relu"]).Relu
    assert chainrule.data.MNIST.name == "MNIST"  # a subpackage, imported on first use as before
    with pytest.raises(AttributeError, match="no attribute 'Rellu'"):
        chainrule.Rellu
