"""Where the dashboard's static files live and the URLs pages load them from.

Our own files are addressed with a content hash in the query string and plotly.js with its
version in the file name, so browsers may cache both for good and still never run stale code.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import plotly
from plotly.offline import get_plotlyjs_version

STATIC_DIR = Path(__file__).parent / "static"
PLOTLY_JS_PATH = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
PLOTLY_JS_VERSION = get_plotlyjs_version()
PLOTLY_JS_URL = f"/static/vendor/plotly-{PLOTLY_JS_VERSION}.min.js"


@cache
def asset_url(name: str) -> str:
    """``/static/app.js?v=<hash>`` for a file in STATIC_DIR."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"
