"""Fixtures shared by several test files."""

import pytest

from chainrule.data import write_fake_dataset


@pytest.fixture
def data_dir(tmp_path):
    """A folder holding a small fake MNIST (60 training, 20 test images) in IDX files."""
    directory = tmp_path / "data"
    write_fake_dataset(directory, train_size=60, test_size=20)
    return directory
