"""The new-experiment form's fields in the browser: every field shows its description as a
hint, a nested object's scalar fields (policy.khugepaged, the costs, thp_access_aware) are
inputs of their own, kept in step with the JSON editor, and what is set there is what the
experiment stores."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from playwright.sync_api import expect

from .conftest import LiveServer, Session, screenshot


def test_a_nested_field_set_in_the_form_is_stored_with_the_experiment(
    live_server: LiveServer, open_browser: Callable[..., Session]
) -> None:
    page = open_browser().page
    page.goto(f"{live_server.url}/experiments/new?template=access-aware-thp")
    expect(page.locator(".template[aria-current=true]")).to_contain_text("Access-aware THP")
    # Fields that had no hint have one: the Linux knob they stand for.
    expect(page.locator("#policy-thp_defrag + .hint")).to_contain_text(
        "/sys/kernel/mm/transparent_hugepage/defrag"
    )
    khugepaged = page.locator("fieldset[data-spec-object='policy.khugepaged']")
    expect(khugepaged.locator("legend")).to_contain_text("Khugepaged")
    expect(khugepaged).to_contain_text("khugepaged/pages_to_scan")
    # Unions stay with the JSON editor, named with their descriptions.
    expect(page.locator("fieldset:has(> legend:text-is('Policy')) .editor-only")).to_contain_text(
        "tiering"
    )

    # The template's khugepaged.enabled: false fills its checkbox; its thp_access_aware
    # (the default variant) is an object at its defaults, which the form leaves out.
    expect(page.locator("#policy-khugepaged-enabled")).not_to_be_checked()
    body = json.loads(page.input_value("#spec-editor"))
    assert body["spec"]["policy"]["khugepaged"] == {"enabled": False}
    assert "thp_access_aware" not in body["spec"]["policy"]

    page.fill("#gen-kvstore-accesses", "200000")
    page.fill("#controls-epoch_accesses", "50000")
    page.fill("#policy-khugepaged-pages_to_scan", "8192")
    page.select_option("#policy-thp_access_aware-variant", "collapse_only")
    page.fill("#policy-fault_cost-entry_ns", "1500")
    # Back to its default, a nested field leaves no empty object behind.
    page.fill("#policy-migration_cost-fixed_ns", "800")
    assert json.loads(page.input_value("#spec-editor"))["spec"]["policy"]["migration_cost"] == {
        "fixed_ns": 800
    }
    page.fill("#policy-migration_cost-fixed_ns", "720")
    policy = json.loads(page.input_value("#spec-editor"))["spec"]["policy"]
    assert policy["khugepaged"] == {"enabled": False, "pages_to_scan": 8192}
    assert policy["thp_access_aware"] == {"variant": "collapse_only"}
    assert policy["fault_cost"] == {"entry_ns": 1500}
    assert "migration_cost" not in policy
    khugepaged.scroll_into_view_if_needed()
    screenshot(page, "new-experiment-nested-fields")

    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/experiments/\d+$"))
    experiment_id = int(page.url.rsplit("/", 1)[1])
    with live_server.api() as api:
        experiment = api.get(f"/experiments/{experiment_id}").json()
        stored = experiment["spec"]["policy"]
        assert stored["khugepaged"] == {"enabled": False, "pages_to_scan": 8192}
        assert stored["thp_access_aware"] == {"variant": "collapse_only"}
        assert stored["fault_cost"] == {"entry_ns": 1500}
        assert "migration_cost" not in stored
        assert experiment["sweep"] == {"policy.thp": ["never", "always", "access_aware"]}
        # Nothing more to see here: the runs need not take the worker's time (409: they
        # were done already).
        assert api.post(f"/experiments/{experiment_id}/cancel").status_code in {200, 409}
