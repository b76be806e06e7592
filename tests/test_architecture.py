"""Imports flow one way (DESIGN.md, Architecture): worker -> backend, pagelab; backend ->
pagelab, frontend; pagelab imports none of them and no web, database or queue library.

The check parses every module (so imports inside functions and under TYPE_CHECKING count) and
also imports the engine in a fresh interpreter, which catches a forbidden library pulled in
through a third-party dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

SERVICE_LIBRARIES = frozenset(
    {
        "fastapi",
        "starlette",
        "sqlalchemy",
        "alembic",
        "celery",
        "kombu",
        "redis",
        "psycopg",
        "psycopg2",
        "jinja2",
        "plotly",
        "uvicorn",
    }
)
APPLICATION_PACKAGES = frozenset({"backend", "worker", "frontend", "pagelab_cli"})

# Package -> top-level modules it must not import. The `pagelab` command (pagelab_cli) is
# the composition root and may import everything. The backend may hold a Celery app object
# to send tasks by name, so it may import celery, but never the worker package.
IMPORT_RULES: Mapping[str, frozenset[str]] = {
    "pagelab": SERVICE_LIBRARIES | APPLICATION_PACKAGES,
    "backend": frozenset({"worker", "pagelab_cli"}),
    "frontend": frozenset({"backend", "worker", "pagelab_cli"}),
    "worker": frozenset({"pagelab_cli"}),
}


@dataclass(frozen=True, order=True)
class Violation:
    path: str  # relative to the scanned root, with forward slashes
    line: int
    imported: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.imported}"


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    """Turn `from ..x import y` inside `module` into the absolute name of `x`."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, target] if target else base)


def imported_names(root: Path, path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line, absolute module name) for every import in the file, wherever it sits."""
    module = _module_name(root, path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield node.lineno, _resolve_relative(module, is_package, node.level, node.module)
            elif node.module:
                yield node.lineno, node.module
        elif isinstance(node, ast.Call) and (target := _dynamic_import_target(node)):
            yield node.lineno, target


def _dynamic_import_target(call: ast.Call) -> str | None:
    """The literal name in `importlib.import_module("x")` or `__import__("x")`, if it is one."""
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    if name not in {"import_module", "__import__"} or not call.args:
        return None
    first = call.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def find_violations(root: Path, rules: Mapping[str, frozenset[str]]) -> list[Violation]:
    """Every import under `root` that breaks `rules`, sorted by file and line."""
    violations = []
    for package, forbidden in rules.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, name in imported_names(root, path):
                if name.split(".")[0] in forbidden:
                    relative = path.relative_to(root).as_posix()
                    violations.append(Violation(relative, line, name))
    return sorted(violations)


def test_packages_import_only_in_the_allowed_direction() -> None:
    for package in IMPORT_RULES:
        # A missing or renamed package would make the rule vacuous.
        assert (REPO_ROOT / package / "__init__.py").is_file(), f"{package}/ is missing"
    violations = find_violations(REPO_ROOT, IMPORT_RULES)
    assert not violations, "imports against DESIGN.md's one-way flow:\n" + "\n".join(
        str(violation) for violation in violations
    )


def test_engine_imports_without_service_libraries() -> None:
    probe = "import sys, pagelab; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    ).stdout.split()
    assert "pagelab" in loaded
    pulled_in = sorted({name for name in loaded if name.split(".")[0] in IMPORT_RULES["pagelab"]})
    assert not pulled_in, f"importing pagelab loads {pulled_in}"


def commits_outside_routers(root: Path) -> list[str]:
    """``file:line`` of every ``.commit()`` call in backend/ outside a ``router.py``: services
    never commit, the request (a router) or the task (worker/) does."""
    found = []
    for path in sorted((root / "backend").rglob("*.py")):
        if path.name == "router.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "commit"
            ):
                found.append(f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return found


def test_only_routers_commit_in_the_backend(tmp_path: Path) -> None:
    assert commits_outside_routers(REPO_ROOT) == []
    _write(tmp_path, "backend/runs/router.py", "def cancel(session):\n    session.commit()\n")
    _write(tmp_path, "backend/runs/service.py", "def cancel(session):\n    session.commit()\n")
    assert commits_outside_routers(tmp_path) == ["backend/runs/service.py:2"]


def test_run_execution_imports_without_creating_the_celery_app() -> None:
    probe = "import sys, worker.execution; print('worker.app' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    ).stdout.strip()
    assert loaded == "False"


def _write(root: Path, relative: str, source: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")


def test_checker_catches_each_kind_of_forbidden_import(tmp_path: Path) -> None:
    _write(tmp_path, "pagelab/__init__.py", "import numpy\nimport fastapi\n")
    _write(
        tmp_path,
        "pagelab/models/tlb.py",
        """\
        from typing import TYPE_CHECKING
        from . import cache
        from ..spec import Spec

        if TYPE_CHECKING:
            from sqlalchemy.orm import Session

        def store():
            import celery.app
        """,
    )
    _write(
        tmp_path, "pagelab/models/cache.py", "import importlib\nimportlib.import_module('redis')"
    )
    _write(
        tmp_path,
        "backend/runs/service.py",
        """\
        import celery
        from pagelab import simulate
        from frontend.figures import timeline
        from .repository import RunRepository

        def enqueue():
            from worker.tasks import run_simulation
        """,
    )
    _write(tmp_path, "frontend/pages.py", "def page():\n    __import__('backend.app')\n")
    _write(tmp_path, "worker/tasks.py", "from backend.runs import service\nimport pagelab\n")
    _write(tmp_path, "pagelab_cli/main.py", "import backend, worker, frontend, uvicorn\n")

    assert find_violations(tmp_path, IMPORT_RULES) == [
        Violation("backend/runs/service.py", 7, "worker.tasks"),
        Violation("frontend/pages.py", 2, "backend.app"),
        Violation("pagelab/__init__.py", 2, "fastapi"),
        Violation("pagelab/models/cache.py", 2, "redis"),
        Violation("pagelab/models/tlb.py", 6, "sqlalchemy.orm"),
        Violation("pagelab/models/tlb.py", 9, "celery.app"),
    ]


def test_relative_imports_resolve_to_absolute_names(tmp_path: Path) -> None:
    _write(tmp_path, "pagelab/models/__init__.py", "from . import tlb\nfrom .. import units\n")
    _write(tmp_path, "pagelab/models/tlb.py", "from .cache import Lru\nfrom ..spec import Spec\n")
    assert _names(tmp_path, "pagelab/models/__init__.py") == ["pagelab.models", "pagelab"]
    assert _names(tmp_path, "pagelab/models/tlb.py") == ["pagelab.models.cache", "pagelab.spec"]


def _names(root: Path, relative: str) -> list[str]:
    return [name for _, name in imported_names(root, root / relative)]
