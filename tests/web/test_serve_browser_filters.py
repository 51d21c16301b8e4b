"""The filters and the duplicates in a real browser (Debian's headless Chromium, driven by Selenium), on the
library of photos with real EXIF: pick a type and a place, search, see only their photos with the date and place
under each; a bad place is the page's error line; a search by photo keeps the filters; the duplicates view shows
the exact copy, and leads back to the search. No script error and no CSP violation on the way."""
import os
import shutil
from pathlib import Path

import pytest
from web_support import CHROMEDRIVER, CHROMIUM, FILTER_COPY, WAIT_S

pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="needs Debian's chromium and chromium-driver (`make test` installs them)")
TRAM, TOWER = "trips/lisbon/tram.jpg", "trips/paris/tower.heic"
CONTROLS = ("q", "f-after", "f-before", "f-folder", "f-place", "f-near", "f-within", "f-camera", "f-type",
            "dup-threshold")


def shown(driver, box: str = "#grid") -> list[dict]:
    """The tiles in `box`: id, and the text under each (date and place; path and score in the duplicates)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' li'), li => ({id: Number("
        "li.querySelector('a').dataset.id), facts: li.querySelector('.facts').innerText.replace(/\\n/g, ' | ')}))",
        box)


def ids(driver, box: str = "#grid") -> set[int]:
    return {tile["id"] for tile in shown(driver, box)}


def message(driver) -> str:
    return driver.find_element("id", "message").text


def save(driver, folder: Path, name: str) -> None:
    driver.save_screenshot(str(folder / name))
    if os.environ.get("POCKETCLIP_SCREENSHOTS"):
        shutil.copy(folder / name, Path(os.environ["POCKETCLIP_SCREENSHOTS"]) / name)


def test_filter_search_then_the_duplicates_and_back(browser, filter_server, filter_library, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)
    photo = filter_library.ids
    lisbon = {photo[TRAM], photo[FILTER_COPY]}
    browser.get(filter_server.url + "/")
    assert browser.execute_script("return arguments[0].every(id => document.getElementById(id).labels.length === 1"
                                  " || document.getElementById(id).getAttribute('aria-label'))", list(CONTROLS))
    wait.until(lambda d: len(Select(d.find_element(By.ID, "f-type")).options) == 4)  # "any" and /api/facets' three
    assert [o.get_attribute("value") for o in Select(browser.find_element(By.ID, "f-folder")).options] == [
        "", "backup", "home", "trips", "trips/lisbon", "trips/paris"]  # a parent folder is a choice of its own

    Select(browser.find_element(By.ID, "f-type")).select_by_value("jpeg")  # no query: the newest JPEGs
    wait.until(lambda d: "/?type=jpeg" in d.current_url and ids(d) == lisbon | {photo["tokyo.jpg"]})
    assert message(browser).startswith("Newest first: 3 photos")
    browser.find_element(By.ID, "f-place").send_keys("Portugal")  # one of the datalist's choices: applied at once
    wait.until(lambda d: "place=Portugal" in d.current_url and ids(d) == lisbon)
    browser.find_element(By.ID, "q").send_keys("red tram")
    wait.until(lambda d: "/?q=red+tram&place=Portugal&type=jpeg" in d.current_url and ids(d) == lisbon
               and "score 0." in d.find_element(By.CSS_SELECTOR, "#grid a").get_attribute("title"))
    assert [tile["facts"] for tile in shown(browser)] == ["14 Jun 2023, 10:30 | Lisbon, Portugal"] * 2
    save(browser, tmp_path, "serve-filters.png")

    place = browser.find_element(By.ID, "f-place")
    place.clear()
    place.send_keys("Xyzzyland", Keys.ENTER)  # not a place: the API's one line, in the page's error area
    wait.until(lambda d: "no such place" in message(d) and "error" in d.find_element(By.ID, "message")
               .get_attribute("class") and not ids(d))
    browser.find_element(By.ID, "clear-filters").click()
    wait.until(lambda d: d.current_url.endswith("/?q=red+tram") and len(ids(d)) == 5)
    garden = next(t for t in shown(browser) if t["id"] == photo["home/garden.png"])
    assert garden["facts"] == "20 May 2024, 09:15"  # no GPS: no place under it
    browser.find_element(By.ID, "f-within").send_keys("50")  # a distance alone is no filter yet
    browser.find_element(By.ID, "f-near").send_keys("Tokyo", Keys.ENTER)
    wait.until(lambda d: "near=Tokyo&within_km=50" in d.current_url and ids(d) == {photo["tokyo.jpg"]})
    browser.find_element(By.ID, "clear-filters").click()
    wait.until(lambda d: d.current_url.endswith("/?q=red+tram") and len(ids(d)) == 5)

    browser.execute_script("const after = document.getElementById('f-after'); after.value = '2024-01-01';"
                           "after.dispatchEvent(new Event('change'))")  # what picking a day in the calendar does
    wait.until(lambda d: "after=2024-01-01" in d.current_url and ids(d) == {photo[TOWER], photo["home/garden.png"]})
    Select(browser.find_element(By.ID, "f-type")).select_by_value("heic")
    wait.until(lambda d: ids(d) == {photo[TOWER]})
    browser.find_element(By.ID, "upload").send_keys(str(filter_library.root / TRAM))  # by photo, under the filter
    wait.until(lambda d: "not kept" in message(d) and ids(d) == {photo[TOWER]})
    assert "/?after=2024-01-01&type=heic" in browser.current_url

    browser.find_element(By.ID, "show-duplicates").click()
    wait.until(lambda d: "/?duplicates=1" in d.current_url and ids(d, "#duplicate-groups") == lisbon)
    assert not browser.find_element(By.ID, "grid").is_displayed()
    group = browser.find_element(By.CSS_SELECTOR, ".duplicate-group.exact h2").text
    assert group == "Exact copies · 2 photos" and "1 group of exact copies" in message(browser)
    assert {t["facts"] for t in shown(browser, "#duplicate-groups")} == {
        f"{path} | cosine 1.0000 · same bytes" for path in (TRAM, FILTER_COPY)}
    save(browser, tmp_path, "serve-duplicates.png")
    browser.find_element(By.CSS_SELECTOR, "#duplicate-groups a").click()  # a copy opens in the viewer
    wait.until(lambda d: d.find_element(By.ID, "viewer").is_displayed())
    first = min(lisbon)  # a group's first photo is its lowest id
    assert browser.find_element(By.ID, "viewer-caption").text.endswith(f"score 1.0000 · #{first}")
    browser.find_element(By.ID, "viewer-close").click()

    browser.find_element(By.ID, "back-to-search").click()
    wait.until(lambda d: "/?after=2024-01-01&type=heic" in d.current_url and ids(d) == {photo[TOWER]}
               and d.find_element(By.ID, "grid").is_displayed()
               and not d.find_element(By.ID, "duplicates").is_displayed())
    browser.back()  # history brings the duplicates back
    wait.until(lambda d: "/?duplicates=1" in d.current_url and ids(d, "#duplicate-groups") == lisbon)

    browser.get(filter_server.url + "/?q=red+tram&after=2024&folder=trips")  # a URL's filters, as a bookmark keeps them
    wait.until(lambda d: ids(d) == {photo[TOWER]} and d.find_element(By.ID, "f-after").get_attribute("value") ==
               "2024-01-01" and Select(d.find_element(By.ID, "f-folder")).first_selected_option.text == "trips")

    refused = "status of 400"  # the bad place's request, answered as designed
    problems = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and refused not in e["message"]]
    assert not problems, problems
