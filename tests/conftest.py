import os

import pytest
import torch

os.environ.setdefault("INFOBOUNDS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _small_threads():
    # Unit tests are tiny; one thread keeps them fast and identical on every machine.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
