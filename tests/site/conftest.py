"""The browser test of the built site runs only when given a site: ``pytest tests/site --site DIR``.

The README's test command builds the site and then runs it; the unit-test run skips this folder.
"""

import shutil
from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption("--site", default=None, help="folder of a built site (…/_build/html) to test in Chromium")
    parser.addoption("--screenshots", default=None, help="where to save a screenshot of each page")
    parser.addoption("--book-pdf", default=None,
                     help="the site offers the whole book as a PDF at this path under its root (the test and "
                          "book --pdf commands copy it there): check that every page's download menu links it")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--site"):
        return
    skip = pytest.mark.skip(reason="needs --site DIR (the test command passes the site it built)")
    for item in items:
        if "tests/site" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def site(request) -> Path:
    path = Path(request.config.getoption("--site")).resolve()
    if not (path / "index.html").is_file():
        pytest.fail(f"{path} holds no built site (no index.html)")
    return path


@pytest.fixture(scope="session")
def screenshot_dir(request, site) -> Path:
    path = Path(request.config.getoption("--screenshots") or site.parent / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by its chromedriver; closed (with its processes) at the end."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from headless_chromium import new_driver

    try:
        driver, profile_dir = new_driver("infobounds-chromium-")
    except RuntimeError as missing:
        pytest.fail(f"the browser test {missing}")
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def book_pdf(request) -> str:
    offered = request.config.getoption("--book-pdf")
    if not offered:
        pytest.skip("needs --book-pdf PATH (the test command builds the PDF and passes where the site offers it)")
    return offered
