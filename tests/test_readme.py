"""README.md is the contract: CI must run the test command it shows."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_test_command() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- test-command:", 1)[1].split("```bash\n", 1)[1]
    return block.split("\n```", 1)[0].strip()


def test_ci_runs_the_readme_test_command():
    command = readme_test_command()
    assert "pytest" in command
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert command in ci_lines


def python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]


def test_readme_python_examples_run(tmp_path, monkeypatch):
    import functools

    import chainrule
    from chainrule.data import write_fake_dataset

    monkeypatch.chdir(tmp_path)  # examples may write pictures and runs
    # chainrule.train examples run as written, on a small fake MNIST instead of the real one
    write_fake_dataset(tmp_path / "data", train_size=60, test_size=20)
    monkeypatch.setattr(chainrule, "train", functools.partial(
        chainrule.train, data_dir=tmp_path / "data", verify=False, download=False, verbose=0))
    blocks = python_blocks()
    assert len(blocks) >= 3
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
