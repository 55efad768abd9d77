"""The report in a real headless browser: Debian's chromium + chromium-driver via selenium.

Both are installed by the Makefile's system-deps (APT_PKGS; .ci/run calls it): nothing is
downloaded at run time. The page must load without console errors, the connection links
must lead to the connection's section, the table filters must hide the other rows, and a
screenshot of the overview is saved (in pytest's tmp dir, and in $SYNACK_SCREENSHOT_DIR
when set, to look at).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import analyzer
from analyzer.render.report import write_report

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    r = analyzer.analyze(str(ROOT / "sample_pcaps" / "15_busy.pcap"))
    return write_report(r, tmp_path_factory.mktemp("report"), max_sections=12)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    assert os.path.exists(CHROMIUM) and os.path.exists(DRIVER), \
        "chromium and chromium-driver are required (apt-get install -y chromium " \
        "chromium-driver; `make system-deps`)"
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--no-first-run",
                "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def _visible_rows(driver) -> list[object]:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return [r for r in driver.find_elements(By.CSS_SELECTOR, "#connections tbody tr")
            if r.is_displayed()]


def test_page_loads_without_console_errors(browser, report: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    browser.get(report.as_uri())
    assert browser.title.startswith("synack report")
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    shot = tmp_path / "overview.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("SYNACK_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["SYNACK_SCREENSHOT_DIR"]) / "report_overview.png")


def test_connection_link_leads_to_its_section(browser, report: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    browser.get(report.as_uri())
    link = browser.find_elements(By.CSS_SELECTOR, "a.conn-link")[0]
    target = link.get_attribute("href").split("#")[1]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    assert browser.execute_script("return location.hash") == f"#{target}"
    section = browser.find_element(By.ID, target)
    top = browser.execute_script("return arguments[0].getBoundingClientRect().top", section)
    assert 0 <= top < 200  # scrolled to it
    assert section.find_element(By.CSS_SELECTOR, "svg.figure").is_displayed()
    finding = browser.find_elements(By.CSS_SELECTOR, "a.finding-link")[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", finding)
    finding.click()
    assert browser.execute_script("return location.hash").startswith(("#conn-", "#row-"))


def test_table_filters_and_sorting(browser, report: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(report.as_uri())
    total = len(_visible_rows(browser))
    assert total == 300
    check = Select(browser.find_element(By.ID, "filter-check"))
    check.select_by_value("fin_retransmitted")
    rows = _visible_rows(browser)
    assert 0 < len(rows) < total
    assert all("fin_retransmitted" in r.get_attribute("data-checks").split() for r in rows)
    assert browser.find_element(By.ID, "shown-count").text == str(len(rows))
    check.select_by_value("")
    state = Select(browser.find_element(By.ID, "filter-state"))
    state.select_by_value("CLOSED")
    assert all(r.get_attribute("data-state") == "CLOSED" for r in _visible_rows(browser))
    state.select_by_value("")
    box = browser.find_element(By.ID, "filter-text")
    box.send_keys("10.213.0.2:8080")
    assert len(_visible_rows(browser)) == total
    box.clear()
    header = browser.find_elements(By.CSS_SELECTOR, "#connections th")[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", header)
    header.click()
    header.click()  # descending
    first = _visible_rows(browser)[0].find_elements(By.TAG_NAME, "td")[0].text
    assert first == "299"
