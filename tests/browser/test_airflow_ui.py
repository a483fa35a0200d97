"""What a person sees in Airflow's UI: the WorkMagic connection form, and the Trigger and
Backfill dialogs of an example DAG, usable with the defaults; a backfill made in the dialog runs.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import ui
from browser_airflow import LocalAirflowError

from workmagic_provider.get_provider_info import get_provider_info

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_connection_form_shows_every_workmagic_field_with_its_label(
    airflow: Any, browser: Any
) -> None:
    (conn_type,) = get_provider_info()["connection-types"]
    browser.get(f"{airflow.base_url}/connections")
    ui.click_button(browser, browser, "Add Connection")
    dialog = ui.open_dialog(browser)
    ui.choose_connection_type(browser, dialog, conn_type["hook-name"])

    relabeled = list(conn_type["ui-field-behaviour"]["relabeling"].values())  # standard fields
    ui.wait_for(browser, lambda _: set(relabeled) <= set(ui.visible_labels(dialog)), relabeled)
    ui.click_button(browser, dialog, "Extra Fields")
    wanted = [field["label"] for field in conn_type["conn-fields"].values()]
    ui.wait_for(browser, lambda _: set(wanted) <= set(ui.visible_labels(dialog)), wanted)
    extras = [label for label in ui.visible_labels(dialog) if label in wanted]
    assert extras == wanted  # every field, each once, in the provider's order


def test_an_example_dags_trigger_and_backfill_dialogs_are_enabled_with_the_defaults(
    airflow: Any, browser: Any
) -> None:
    dialog = ui.open_trigger_dialog(browser, airflow.base_url, "workmagic_s3_upload_hourly")
    trigger = ui.wait_for(browser, lambda _: ui.button(dialog, "Trigger"), "the Trigger button")
    ui.wait_for(browser, lambda _: "export_root" in ui.visible_labels(dialog), "the DAG's params")
    assert trigger.is_enabled(), "Trigger is disabled with the DAG's default params"

    ui.choose_card(browser, dialog, "Backfill")
    ui.set_datetime(browser, dialog, 0, "2026/03/08", "01:00")
    ui.set_datetime(browser, dialog, 1, "2026/03/08", "03:00")
    ui.wait_for(
        browser,
        lambda _: ui.datetime_texts(dialog) == ["Mar 08, 2026 01:00", "Mar 08, 2026 03:00"],
        "the range",
    )
    run = ui.wait_for(browser, lambda _: ui.button(dialog, "Run Backfill"), "Run Backfill")
    assert run.is_enabled(), "Run Backfill is disabled with the DAG's default params"


def _finished_runs(airflow: Any, dag_id: str, timeout: float = 300.0) -> list[dict[str, Any]]:
    """The DAG's runs once every one has finished; a REST call that times out on a loaded
    machine (SQLite busy with the scheduler's writes) is asked again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            runs = airflow.dag_runs(dag_id)
        except LocalAirflowError as err:
            if "timed out" not in str(err):
                raise
            continue
        if runs and all(r["state"] in ("success", "failed") for r in runs):
            return list(runs)
        time.sleep(2)
    raise AssertionError(f"the backfill's runs of {dag_id} did not finish in {timeout:.0f} s")


def test_a_backfill_created_in_the_dialog_runs_and_succeeds(airflow: Any, browser: Any) -> None:
    dag_id = "wm_browser_hourly"
    dialog = ui.open_trigger_dialog(browser, airflow.base_url, dag_id)
    ui.choose_card(browser, dialog, "Backfill")
    ui.set_datetime(browser, dialog, 0, "2026/03/08", "01:00")
    ui.set_datetime(browser, dialog, 1, "2026/03/08", "02:00")
    ui.wait_for(
        browser,
        lambda _: ui.datetime_texts(dialog) == ["Mar 08, 2026 01:00", "Mar 08, 2026 02:00"],
        "the range",
    )
    ui.click_button(browser, dialog, "Run Backfill")

    [backfill] = ui.wait_for(
        browser,
        lambda _: airflow.get(f"/api/v2/backfills?dag_id={dag_id}")["backfills"],
        "the backfill",
    )
    assert backfill["from_date"].startswith("2026-03-08T01:00")
    assert backfill["to_date"].startswith("2026-03-08T02:00")
    runs = _finished_runs(airflow, dag_id)
    assert runs and all(r["run_type"] == "backfill" for r in runs)
    assert {r["state"] for r in runs} == {"success"}, runs
