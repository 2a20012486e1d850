"""Debian's headless Chromium with its chromedriver, as the site test and the PDF printer drive it.

``new_driver(profile_prefix)`` returns ``(driver, profile_dir)``: a Selenium driver with the book's
flags (headless, no network services, a fresh profile in ``profile_dir``, which the caller removes
when done) and the given page-load strategy. A missing browser raises
``RuntimeError`` with what to install (a test tool's own browser download does not work offline).
"""

from __future__ import annotations

import shutil
import tempfile

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1000"]


def new_driver(profile_prefix: str, page_load_strategy: str = "normal"):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        raise RuntimeError("needs Debian's chromium and chromium-driver (scripts/setup.sh installs them "
                           "when run as root; else: apt-get install chromium chromium-driver)")
    profile_dir = tempfile.mkdtemp(prefix=profile_prefix)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*FLAGS, f"--user-data-dir={profile_dir}"]:
        options.add_argument(flag)
    options.page_load_strategy = page_load_strategy
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options), profile_dir
