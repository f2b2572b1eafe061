"""The sequel's ``common/base_model.py``: ``save_params``/``load_params`` in the book's format.

The format is the book's: a pickled list of the model's ``params`` in order, as float16 (the
shipped ``Rnnlm.pkl`` and ``BetterRnnlm.pkl``). Writing uses the standard pickle module (the
file holds only arrays; it is written whole, then renamed into place); reading goes through
:mod:`chainrule.restricted_pickle`, which admits only arrays and containers, and checks that the
file has one array of the right shape for each parameter before any is changed.
"""

import os
import pickle

import numpy as _numpy

from chainrule import restricted_pickle as _restricted_pickle
from chainrule.backend import to_numpy as _to_numpy
from chainrule.checkpoint import atomic_write_bytes as _atomic_write_bytes
from chainrule.errors import CheckpointError as _CheckpointError

from .np import *  # noqa: F401,F403 - the book's module exposes np and GPU


class BaseModel:
    def __init__(self):
        self.params, self.grads = None, None

    def forward(self, *args):
        raise NotImplementedError

    def backward(self, *args):
        raise NotImplementedError

    def save_params(self, file_name=None):
        """Write ``params`` as float16 arrays to ``file_name`` (default ``<ClassName>.pkl``)."""
        if file_name is None:
            file_name = self.__class__.__name__ + ".pkl"
        params = [_to_numpy(p).astype(_numpy.float16) for p in self.params]
        _atomic_write_bytes(file_name, pickle.dumps(params, protocol=4))

    def load_params(self, file_name=None):
        """Read ``file_name`` (default ``<ClassName>.pkl``) into ``params``, in place, as float32."""
        if file_name is None:
            file_name = self.__class__.__name__ + ".pkl"
        if "/" in file_name:
            file_name = file_name.replace("/", os.sep)
        if not os.path.exists(file_name):
            raise IOError("No file: " + file_name)
        loaded = _restricted_pickle.load_file(file_name)
        if not isinstance(loaded, (list, tuple)) or len(loaded) != len(self.params):
            found = f"{len(loaded)} arrays" if isinstance(loaded, (list, tuple)) else type(loaded).__name__
            raise _CheckpointError(f"{file_name}: expected a list of {len(self.params)} arrays, one per parameter, got {found}")
        for index, (param, value) in enumerate(zip(self.params, loaded)):
            shape = getattr(value, "shape", None)
            if shape != param.shape:
                raise _CheckpointError(f"{file_name}: array {index} has shape {shape}, the model's parameter {param.shape}")
        for param, value in zip(self.params, loaded):
            param[...] = np.asarray(_numpy.asarray(value, dtype="f"))
