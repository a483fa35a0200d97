"""An Airflow the browser tests start (the demo's LocalAirflow) and a headless Chromium.

Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); Selenium is told
their paths, so it never tries to download a browser. A failing test leaves a screenshot in
its tmp dir (never committed) and names it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_airflow import LocalAirflow
from dag_helpers import REPO_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: one example DAG as a user copies it, and our tiny DAG whose backfill needs no cloud
DAG_FILES = [
    REPO_ROOT / "dags" / "workmagic_s3_upload_hourly.py",
    Path(__file__).parent / "dags" / "wm_browser_hourly.py",
]


@pytest.fixture(scope="package")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("browser-airflow")
    dags = root / "dags"
    dags.mkdir()
    for dag_file in DAG_FILES:
        shutil.copy(dag_file, dags)
    local = LocalAirflow(root / "home", dags, parallelism=4)
    local.start(timeout=300)
    try:
        local.wait_for_dags(["workmagic_s3_upload_hourly", "wm_browser_hourly"], timeout=180)
        yield local
    finally:
        local.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("headless Chromium missing: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        if request.node.stash.get(_FAILED, False):
            shot = tmp_path / "failure.png"
            driver.save_screenshot(str(shot))
            print(f"screenshot of the failing page: {shot}")
        driver.quit()
