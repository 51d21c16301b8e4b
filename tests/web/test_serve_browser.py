"""The page in a real browser (Debian's headless Chromium, driven by Selenium): type a query, see thumbnails
load, open one, ask for more like it, move with the keyboard, go back, search by a chosen photo; no script
error and no CSP violation on the way. Screenshots are saved (POCKETCLIP_SCREENSHOTS=DIR keeps copies)."""
import os
import shutil
from pathlib import Path

import pytest
from web_support import CHROMEDRIVER, CHROMIUM, WAIT_S

pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="needs Debian's chromium and chromium-driver (`make test` installs them)")


def grid_ids(driver) -> list[int]:
    return driver.execute_script("return Array.from(document.querySelectorAll('#grid a'), a => Number(a.dataset.id))")


def first_image_loaded(driver) -> bool:
    return driver.execute_script("const img = document.querySelector('#grid img');"
                                 "return !!img && img.complete && img.naturalWidth > 0")


def keep(screenshot: Path) -> None:
    folder = os.environ.get("POCKETCLIP_SCREENSHOTS")
    if folder:
        shutil.copy(screenshot, Path(folder) / screenshot.name)


def test_search_open_more_like_this_keyboard_and_back(browser, server, web_library, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(server.url + "/")
    browser.find_element(By.ID, "q").send_keys("two red circles")
    wait.until(lambda d: "?q=two+red+circles" in d.current_url and grid_ids(d))
    wait.until(first_image_loaded)
    first = browser.find_element(By.CSS_SELECTOR, "#grid a")
    assert "score 0." in first.get_attribute("title") and first.find_element(By.TAG_NAME, "img").get_attribute(
        "loading") == "lazy"
    browser.save_screenshot(str(tmp_path / "serve-search.png"))
    keep(tmp_path / "serve-search.png")

    opened_id = grid_ids(browser)[0]
    first.click()
    wait.until(lambda d: d.find_element(By.ID, "viewer").is_displayed())
    wait.until(lambda d: d.execute_script("return document.getElementById('viewer-img').naturalWidth > 0"))
    browser.save_screenshot(str(tmp_path / "serve-viewer.png"))
    keep(tmp_path / "serve-viewer.png")
    browser.find_element(By.ID, "more-like-this").click()
    wait.until(lambda d: f"?like={opened_id}" in d.current_url and grid_ids(d)[:1] == [opened_id])
    assert not browser.find_element(By.ID, "viewer").is_displayed()
    wait.until(first_image_loaded)
    browser.save_screenshot(str(tmp_path / "serve-similar.png"))
    keep(tmp_path / "serve-similar.png")

    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("/")
    assert browser.switch_to.active_element.get_attribute("id") == "q"
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    second = grid_ids(browser)[1]
    assert browser.switch_to.active_element.get_attribute("data-id") == str(second)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait.until(lambda d: d.find_element(By.ID, "viewer").is_displayed())
    assert f"#{second}" in browser.find_element(By.ID, "viewer-caption").text
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait.until(lambda d: not d.find_element(By.ID, "viewer").is_displayed())

    browser.back()  # popstate: the text query comes back, in the box and in the grid
    wait.until(lambda d: "?q=two+red+circles" in d.current_url and d.find_element(By.ID, "q").get_attribute(
        "value") == "two red circles" and grid_ids(d)[:1] == [opened_id])

    browser.find_element(By.ID, "upload").send_keys(str(web_library.root / "photo_004.jpg"))
    wait.until(lambda d: grid_ids(d)[:1] == [web_library.ok_id] and "not kept" in d.find_element(By.ID, "message").text)

    refused = f"/thumb/{web_library.linked_id} "  # the photo swapped for a link out of the root: 404 by design
    problems = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and refused not in e["message"]]
    assert not problems, problems  # no script error, no refused inline code, no other failed request
    assert browser.execute_script(f"return document.querySelector('#grid a[data-id=\"{web_library.linked_id}\"]')"
                                  "?.classList.contains('missing') ?? true")
