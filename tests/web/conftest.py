"""One indexed library and one running `pocketclip serve` shared by the web tests (the model loads once).

The library is built the way a user builds one (`pocketclip index`), then hurt the ways the server must
survive: a photo deleted since (its row says 'deleted') and a photo swapped for a symlink that leads out
of the root after the last index run (its row still says 'ok'). A second, small library of photos with real
EXIF (web_support.FILTER_PHOTOS) serves the filter tests; `browser` is headless Chromium for the page tests.
"""
from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest
from web_support import (
    CHROMEDRIVER,
    CHROMIUM,
    WAIT_S,
    index,
    make_filter_photos,
    photo_id,
    photo_ids,
    serving,
)


@pytest.fixture(scope="session")
def web_library(tmp_path_factory, fp32_bundle):
    from tests_support import draw_photos

    base = tmp_path_factory.mktemp("web-library")
    root = base / "photos"
    draw_photos(root, 24)
    outside = base / "outside" / "secret.jpg"
    outside.parent.mkdir()
    shutil.copy(root / "photo_002.jpg", outside)
    db = base / "library.db"
    index(root, fp32_bundle.root, db)
    deleted_id, linked_id = photo_id(db, "photo_001.jpg"), photo_id(db, "photo_002.jpg")
    (root / "photo_001.jpg").unlink()
    index(root, fp32_bundle.root, db)
    (root / "photo_002.jpg").unlink()
    (root / "photo_002.jpg").symlink_to(outside)
    return SimpleNamespace(root=root, db=db, bundle=fp32_bundle, deleted_id=deleted_id, linked_id=linked_id,
                           ok_id=photo_id(db, "photo_004.jpg"), outside=outside)


@pytest.fixture(scope="session")
def server(web_library, tmp_path_factory):
    with serving(web_library.db, tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture(scope="session")
def filter_library(tmp_path_factory, fp32_bundle):
    """Five photos with real EXIF (web_support.FILTER_PHOTOS and an exact copy), indexed with Library.create;
    `ids` by path."""
    from pocketclip.runtime.library import Library

    base = tmp_path_factory.mktemp("filter-library")
    root, db = base / "photos", base / "library.db"
    make_filter_photos(root)
    library = Library.create(db, root, fp32_bundle)
    try:
        library.index()
    finally:
        library.close()
    return SimpleNamespace(root=root, db=db, ids=photo_ids(db))


@pytest.fixture(scope="session")
def filter_server(filter_library, tmp_path_factory):
    with serving(filter_library.db, tmp_path_factory.mktemp("serve-filters")) as running:
        yield running


@pytest.fixture
def browser(tmp_path, monkeypatch):
    """Debian's headless Chromium driven by Selenium, offline, with the page's console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager never downloads a driver or a browser
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,860", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()
