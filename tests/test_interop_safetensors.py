"""safetensors: the state dict under chainrule's names, with the config that rebuilds the network, bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("safetensors")

from chainrule.errors import CheckpointError, ConfigError  # noqa: E402
from chainrule.interop import (  # noqa: E402
    load_safetensors, model_from_safetensors, read_safetensors, save_safetensors,
)
from chainrule.models import build_model, model_config  # noqa: E402
from chainrule.nets import TwoLayerNet  # noqa: E402
from interop_support import NETWORKS, make_network  # noqa: E402


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_round_trip_is_bit_exact(name, dtype, tmp_path):
    net, x = make_network(name, dtype, trained=True)
    path = tmp_path / "model.safetensors"
    save_safetensors(net, path)
    state, metadata = read_safetensors(path)
    assert metadata["model"] == "sequential" and metadata["dtype"] == dtype
    assert json.loads(metadata["output_size"]) == 10 and isinstance(json.loads(metadata["hidden_sizes"]), list)
    assert set(state) == set(net.state_dict())
    for key, value in net.state_dict().items():
        assert state[key].dtype == value.dtype and state[key].tobytes() == value.tobytes()
    rebuilt, config = model_from_safetensors(path)
    assert config["dtype"] == dtype
    assert list(rebuilt.layers) == list(net.layers)
    np.testing.assert_array_equal(rebuilt.predict(x), net.predict(x))
    fresh, _ = make_network(name, dtype, trained=False)
    load_safetensors(fresh, path)
    np.testing.assert_array_equal(fresh.predict(x), net.predict(x))


def test_a_runs_config_is_kept_and_rebuilds_the_model(tmp_path):
    config = model_config("mlp", hidden_sizes=[16], dtype="float64")
    net = build_model(config, rng=0)
    save_safetensors(net, tmp_path / "mlp.safetensors", config=config)
    _, metadata = read_safetensors(tmp_path / "mlp.safetensors")
    assert json.loads(metadata["chainrule.config"]) == config and metadata["model"] == "mlp"
    rebuilt, _ = model_from_safetensors(tmp_path / "mlp.safetensors")
    assert type(rebuilt).__name__ == "MultiLayerNet"


def test_bad_files_and_mismatched_networks_are_clear_errors(tmp_path):
    path = tmp_path / "net.safetensors"
    save_safetensors(TwoLayerNet(6, 4, 3, rng=0), path)
    with pytest.raises(CheckpointError, match="missing keys"):
        load_safetensors(_three_layer(), path)
    with pytest.raises(CheckpointError, match="W1"):
        load_safetensors(TwoLayerNet(7, 4, 3), path)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}")
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        read_safetensors(corrupt)
    from safetensors.numpy import save_file

    save_file({"weight": np.zeros(3, np.float32)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(CheckpointError, match="not written by chainrule"):
        model_from_safetensors(tmp_path / "foreign.safetensors")


def _three_layer():
    from chainrule.nets import MultiLayerNet

    return MultiLayerNet(6, [4, 4], 3)


def test_a_layer_without_a_config_is_refused(tmp_path):
    from chainrule.layers import Affine, Softmax
    from chainrule.nets import Sequential

    net = Sequential([Affine(np.zeros((3, 2)), np.zeros(2)), Softmax()])
    with pytest.raises(ConfigError, match="Softmax"):
        save_safetensors(net, tmp_path / "x.safetensors")
