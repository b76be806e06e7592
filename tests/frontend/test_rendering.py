"""Pages escape user text, embed figures as inert JSON, and keep scripts to our own files."""

from __future__ import annotations

import json
import re

import plotly.graph_objects as go

import pagelab
from frontend import forms
from frontend.figures import Chart
from frontend.rendering import CONTENT_SECURITY_POLICY, environment, query

HOSTILE = "</script><script>alert(1)</script>"


def test_a_figure_block_cannot_end_its_script_element_early() -> None:
    figure = go.Figure(go.Scatter(x=[1], y=[2], name=HOSTILE))
    chart = Chart("series-x", HOSTILE, figure)
    html = (
        environment()
        .from_string('{% from "_macros.html" import chart %}{{ chart(item) }}')
        .render(item=chart)
    )
    assert "<script>alert" not in html
    assert "&lt;/script&gt;" in html  # the heading, escaped as text
    block = re.search(r'<script type="application/json" id="figure-series-x">(.*?)</script>', html)
    assert block is not None
    assert json.loads(block.group(1))["data"][0]["name"] == HOSTILE


def test_scripts_come_only_from_this_origin() -> None:
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


def test_links_keep_the_other_choices_and_drop_empty_ones() -> None:
    current = {"x": "policy.thp", "baseline": None, "focus": 7}
    assert query(current, baseline=3) == "x=policy.thp&baseline=3&focus=7"
    assert query(current, x="") == "focus=7"


def test_help_texts_show_literals_as_code_and_escape_the_rest() -> None:
    kvstore = next(e for e in pagelab.workloads_catalog() if e["name"] == "kvstore")
    html = environment().from_string("{{ text | help_text }}").render(text=kvstore["description"])
    assert "<code>objects</code>" in html
    assert "``" not in html
    field = forms.FormField(
        key="size_bytes", label="Size", kind="size", value=1, default=1, hint="``a`` <b>"
    )
    macro = environment().get_template("_fields.html").module.field_input  # type: ignore[attr-defined]
    html = str(macro(field, "data-param", "size_bytes", "g"))
    assert '<div class="hint"><code>a</code> &lt;b&gt;</div>' in html
