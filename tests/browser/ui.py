"""What a person does in Airflow 3's UI, as Selenium steps that wait for the page, not for time.

Selectors are the UI's own accessible names and test ids (``Trigger Dag``, ``datetime-input``)
and visible texts, so a step fails where a person would be stuck.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

#: how long one step may wait for the page (a loaded 2-core machine renders slowly)
STEP_SECONDS = 60
DIALOG = "[role=dialog][data-state=open], [role=dialog]:not([data-state])"


def wait_for(driver: WebDriver, find: Callable[[WebDriver], Any], what: str) -> Any:
    """The first truthy result of ``find``; on timeout the error says what was awaited.

    React re-renders replace elements under a running lookup: such a lookup is tried again.
    """
    retried = (StaleElementReferenceException, NoSuchElementException, IndexError)
    waiter = WebDriverWait(driver, STEP_SECONDS, poll_frequency=0.25, ignored_exceptions=retried)
    return waiter.until(lambda d: find(d), message=f"waited {STEP_SECONDS} s for {what}")


def button(scope: WebDriver | WebElement, text: str) -> WebElement | None:
    """The visible button whose text (or accessible name) is ``text``."""
    for candidate in scope.find_elements(By.TAG_NAME, "button"):
        names = (candidate.text.strip(), candidate.get_attribute("aria-label") or "")
        if text in names and candidate.is_displayed():
            return candidate
    return None


def click_button(driver: WebDriver, scope: WebDriver | WebElement, text: str) -> WebElement:
    """Click the button once it is there (found and clicked in one try, so a re-render between
    the two cannot leave a stale element)."""

    def press(_: WebDriver) -> WebElement | None:
        found = button(scope, text)
        if found is not None:
            found.click()
        return found

    return wait_for(driver, press, f"a button {text!r}")


def visible_labels(scope: WebDriver | WebElement) -> list[str]:
    """Label texts a person sees (without the required-field asterisk)."""
    labels = scope.find_elements(By.TAG_NAME, "label")
    texts = (label.text.replace("*", "").strip() for label in labels if label.is_displayed())
    return [text for text in texts if text]


def open_dialog(driver: WebDriver) -> WebElement:
    return wait_for(
        driver,
        lambda d: next(
            (e for e in d.find_elements(By.CSS_SELECTOR, DIALOG) if e.is_displayed()), None
        ),
        "a dialog",
    )


def choose_connection_type(driver: WebDriver, dialog: WebElement, type_name: str) -> None:
    """Type into the "Connection Type" select and pick the match, as a person would."""
    box = wait_for(
        driver,
        lambda _: dialog.find_element(By.CSS_SELECTOR, "input[role=combobox]"),
        "the type select",
    )
    box.send_keys(type_name)
    wait_for(
        driver,
        lambda d: any(
            o.text == type_name for o in d.find_elements(By.CSS_SELECTOR, "[role=option]")
        ),
        f"the option {type_name!r}",
    )
    box.send_keys(Keys.ENTER)


def open_trigger_dialog(driver: WebDriver, base_url: str, dag_id: str) -> WebElement:
    driver.get(f"{base_url}/dags/{dag_id}")
    click_button(driver, driver, "Trigger Dag")
    return open_dialog(driver)


def choose_card(driver: WebDriver, dialog: WebElement, title: str) -> None:
    """Click the radio card whose title is ``title`` ("Single Run", "Backfill")."""
    card = wait_for(
        driver,
        lambda _: next(
            (c for c in dialog.find_elements(By.TAG_NAME, "label") if c.text.startswith(title)),
            None,
        ),
        f"the {title!r} option",
    )
    card.click()


def set_datetime(driver: WebDriver, dialog: WebElement, index: int, date: str, hour: str) -> None:
    """Fill the ``index``-th date-time field (From = 0, To = 1) through its picker."""
    fields = wait_for(
        driver,
        lambda _: dialog.find_elements(By.CSS_SELECTOR, "[data-testid=datetime-input]")[index:],
        "the date range fields",
    )
    fields[0].click()
    picker = wait_for(
        driver,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, "[data-scope=popover][data-part=content][data-state=open]"
        )[-1:],
        "the date picker",
    )[0]
    picker.find_element(By.CSS_SELECTOR, "input[placeholder='YYYY/MM/DD']").send_keys(date)
    time_box = picker.find_element(By.CSS_SELECTOR, "input[placeholder='HH:mm']")
    time_box.send_keys(Keys.CONTROL, "a")  # the picker pre-fills a time once a date is typed
    time_box.send_keys(hour)
    time_box.send_keys(Keys.ESCAPE)


def datetime_texts(dialog: WebElement) -> list[str]:
    return [f.text for f in dialog.find_elements(By.CSS_SELECTOR, "[data-testid=datetime-input]")]
