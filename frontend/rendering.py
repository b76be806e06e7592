"""Render dashboard pages from the Jinja2 templates, with user text always escaped."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import urlencode

import jinja2
from plotly.io.json import to_json_plotly

from frontend import formatting
from frontend.assets import PLOTLY_JS_URL, asset_url
from frontend.chart_sets import run_choices
from frontend.figures.metrics import lower_is_better, metric_label
from frontend.metric_help import metric_help
from pagelab import ENGINE_VERSION

# Scripts only from this origin (our app.js and the vendored plotly.js), no inline script and
# no eval. plotly.js inserts <style> elements and style attributes as it draws, hence
# 'unsafe-inline' for styles alone; it also draws PNG exports through data: and blob: images.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Same-origin requests keep their Referer and a real Origin (a write is checked against
    # it; under no-referrer a browser sends "Origin: null"); no other site sees our URLs.
    "Referrer-Policy": "same-origin",
}


def query(current: Mapping[str, Any], **changes: Any) -> str:
    """A query string from ``current`` with ``changes`` applied; empty values are left out."""
    merged = {**current, **changes}
    return urlencode({key: value for key, value in merged.items() if value not in (None, "")})


def better_direction(metric: str) -> str:
    """``lower``, ``higher`` or empty: which end of a table column is the good one."""
    lower = lower_is_better(metric)
    return "" if lower is None else "lower" if lower else "higher"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("frontend", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # `tojson` writes figures through plotly's encoder (numpy arrays become typed arrays) and
    # Jinja then escapes <, >, & and ' so the JSON is safe inside a <script> data block.
    env.policies["json.dumps_function"] = to_json_plotly
    env.policies["json.dumps_kwargs"] = {}
    env.filters.update(
        number=formatting.number,
        metric=formatting.metric_value,
        timestamp=formatting.timestamp,
        duration=formatting.duration,
        percent=formatting.percent,
        param=formatting.param,
        metric_label=metric_label,
        metric_help=metric_help,
        pretty_json=formatting.pretty_json,
        help_text=formatting.help_text,
    )
    env.globals.update(
        asset=asset_url,
        plotly_js_url=PLOTLY_JS_URL,
        engine_version=ENGINE_VERSION,
        query=query,
        run_choices=run_choices,
        better=better_direction,
    )
    return env


def render(template_name: str, /, **context: Any) -> str:
    """The HTML of the template ``template_name`` filled with ``context``."""
    return environment().get_template(template_name).render(**context)
