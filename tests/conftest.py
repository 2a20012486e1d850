import os

import pytest
import torch

os.environ.setdefault("INFOBOUNDS_OFFLINE", "1")


def pytest_addoption(parser):
    # tests/test_pdf.py runs only when given the book's PDF (as tests/site runs only with --site).
    parser.addoption("--pdf", default=None, help="a built PDF of the book (_build/pdf/book.pdf) for tests/test_pdf.py")


@pytest.fixture(autouse=True)
def _small_threads():
    # Unit tests are tiny; one thread keeps them fast and identical on every machine.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
