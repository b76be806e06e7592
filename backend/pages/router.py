"""Dashboard pages: server-rendered HTML, drawn on by static/app.js.

Handlers are thin: they read through the same services as the REST API and render a
template. Errors become HTML error pages (PageRoute), never JSON, never a traceback.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import TypeAdapter, ValidationError
from starlette.convertors import Convertor, register_url_convertor

from backend.deps import AccessDep, SessionDep
from backend.experiments import repository as experiment_repository
from backend.experiments import service as experiment_service
from backend.experiments.schemas import ExperimentKind, ExperimentSort, Tag
from backend.fields import Id, OptionalIdQuery, ShareToken
from backend.pages import views
from backend.pages.html import PageError, PageRoute, page
from backend.pages.new_experiment import new_experiment_context
from backend.pages.shared import shared_context
from backend.runs.models import RUN_STATUSES
from frontend.assets import PLOTLY_JS_PATH, PLOTLY_JS_VERSION, STATIC_DIR

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LIST_PAGE_SIZE = 50
# A year: the file name carries plotly.js's version, so a new version is a new URL.
_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}


@router.get(f"/static/vendor/plotly-{PLOTLY_JS_VERSION}.min.js")
def plotly_js() -> FileResponse:
    """plotly.js from the installed plotly package: no CDN."""
    return FileResponse(PLOTLY_JS_PATH, media_type="text/javascript", headers=_IMMUTABLE)


router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


T = TypeVar("T")

ChoiceText = Annotated[str | None, Query(max_length=200)]


def _view_choices(
    x: ChoiceText = None,
    color: ChoiceText = None,
    metric: ChoiceText = None,
    pareto: ChoiceText = None,
    overlay: ChoiceText = None,
    baseline: OptionalIdQuery = None,
    focus: OptionalIdQuery = None,
) -> views.ViewChoices:
    """The chart choices a page's query carries; blank ones are defaults."""
    return views.ViewChoices(
        x_axis=x or None,
        color_axis=color or None,
        metric=metric or None,
        pareto=pareto or None,
        overlay=overlay or None,
        baseline_id=baseline,
        focus_id=focus,
    )


Choices = Annotated[views.ViewChoices, Depends(_view_choices)]


def _choice(adapter: TypeAdapter[T], value: str | None, field: str) -> T | None:
    """A filter from the list page's form: empty means no filter, bad input is a 400 page."""
    if value is None or not value.strip():
        return None
    try:
        return adapter.validate_python(value.strip())
    except ValidationError as error:
        raise PageError(400, f"{field}: {error.errors()[0]['msg']}") from error


@router.get("/", response_class=HTMLResponse)
def experiment_list(
    request: Request,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    sort: Annotated[str | None, Query(max_length=16)] = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> HTMLResponse:
    """Experiments, newest first, with filters, text search, sort and pagination."""
    if status and status not in RUN_STATUSES:
        raise PageError(400, f"status: {status!r} is not one of {', '.join(RUN_STATUSES)}")
    chosen_sort = _choice(TypeAdapter(ExperimentSort), sort, "sort") or "-created_at"
    where = experiment_repository.ListFilter(
        statuses=(status,) if status else (),
        tag=_choice(TypeAdapter(Tag), tag, "tag"),
        text=(q or "").strip() or None,
        kind=_choice(TypeAdapter(ExperimentKind), kind, "kind"),
    )
    listing = experiment_service.list_experiments(
        session, where=where, sort=chosen_sort, cursor=cursor or None, limit=LIST_PAGE_SIZE
    )
    filters = {
        "q": q or "",
        "status": status or "",
        "tag": tag or "",
        "kind": kind or "",
        "sort": chosen_sort,
    }
    return page(
        request,
        "list.html",
        listing=listing,
        filters=filters,
        statuses=RUN_STATUSES,
        paged=bool(cursor),
    )


@router.get("/experiments/new", response_class=HTMLResponse)
def new_experiment(
    request: Request,
    session: SessionDep,
    template: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """Start from a template, tune the generated form or edit the JSON, submit."""
    return page(request, "new.html", **new_experiment_context(session, template_key=template))


@router.get("/experiments/{experiment_id}", response_class=HTMLResponse)
def experiment_page(
    request: Request,
    experiment_id: Id,
    session: SessionDep,
    choices: Choices,
    caller: AccessDep,
) -> HTMLResponse:
    """An experiment: spec, runs with live progress, actions and plots."""
    context = views.experiment_context(
        session,
        experiment_id=experiment_id,
        choices=choices,
        token_id=caller.token_id if caller is not None else None,
    )
    return page(request, "experiment.html", with_plots=True, read_only=False, **context)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: Id, session: SessionDep) -> HTMLResponse:
    """One run: state, summary, series, page sizes and heatmap."""
    context = views.run_context(session, run_id=run_id)
    return page(request, "run.html", with_plots=True, read_only=False, **context)


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    session: SessionDep,
    choices: Choices,
    runs: Annotated[str | None, Query(max_length=2000)] = None,
) -> HTMLResponse:
    """Any set of runs side by side: summary differences and the views across runs."""
    context = views.compare_runs_context(
        session, run_ids=views.parse_run_ids(runs), choices=choices
    )
    return page(request, "compare.html", with_plots=True, read_only=False, **context)


@router.get("/s/{token}", response_class=HTMLResponse)
def shared_page(
    request: Request,
    token: ShareToken,
    session: SessionDep,
    choices: Choices,
) -> HTMLResponse:
    """A share link: the frozen runs, read-only, for anyone who has the link."""
    context = shared_context(session, token=token, choices=choices)
    return page(request, "shared.html", with_plots=True, **context)


class _PagePath(Convertor[str]):
    """Any path outside /api/: the API keeps its own 404 and 405 problem responses."""

    regex = r"(?!api/).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("page_path", _PagePath())


# Last on purpose: it answers only what no other route took.
@router.get("/{path:page_path}", response_class=HTMLResponse)
def page_not_found(path: str) -> HTMLResponse:
    """A person who follows a stale or mistyped link gets a page, not JSON."""
    raise PageError(404, f"there is no page at /{path}")
