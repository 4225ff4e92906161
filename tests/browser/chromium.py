"""Headless Debian Chromium driven by Selenium through its own chromedriver: nothing is downloaded.
Shared by the browser tests (the book's pages, JupyterLab)."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("IFL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("IFL_CHROMEDRIVER", "/usr/bin/chromedriver")


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator["object"]:
    """A headless Chromium WebDriver (sandbox-friendly flags, private profile), quit on exit."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: run `bash tests/browser/ensure_chromium.sh` "
                    "(installs Debian's chromium and chromium-driver)")
    # The explicit Service path makes Selenium skip Selenium Manager; were it ever to run, SE_OFFLINE
    # keeps it from downloading a browser or driver.
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="ifl-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--disable-extensions", "--hide-scrollbars",
                 "--force-device-scale-factor=1", "--lang=en-US", f"--window-size={width},{height}",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
