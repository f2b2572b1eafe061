"""``chainrule.threads.set_threads`` limits BLAS (checked in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chainrule.threads import set_threads

CHILD = """
import json, numpy as np
from threadpoolctl import threadpool_info
from chainrule.threads import set_threads
set_threads(1)
blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
print(json.dumps({"blas": blas}))
"""


def test_set_threads_limits_blas():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["blas"] and set(result["blas"]) == {1}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_threads_refuses_what_is_not_a_positive_integer(bad):
    with pytest.raises(ValueError, match="positive integer"):
        set_threads(bad)
