"""The service commands as a user types them: help with examples, migrate, and tokens
created, listed and revoked."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.auth.models import ApiToken
from backend.db import make_engine, make_session_factory

# Each test starts `pagelab` processes.
pytestmark = pytest.mark.processes

PAGELAB = Path(sys.executable).with_name("pagelab")


def _pagelab(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("PAGELAB_")}
    return subprocess.run(
        [str(PAGELAB), *args], capture_output=True, text=True, timeout=60,
        env={**clean, "PAGELAB_HOME": str(home), **env},
    )  # fmt: skip


@pytest.mark.parametrize("command", [["serve"], ["api"], ["worker"], ["migrate"],
                                     ["token"], ["token", "create"], ["token", "list"],
                                     ["token", "revoke"]])  # fmt: skip
def test_every_service_command_has_help_with_an_example(command: list[str], tmp_path: Path) -> None:
    shown = _pagelab(*command, "--help", home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Example:" in shown.stdout and f"pagelab {command[0]}" in shown.stdout


def test_migrate_then_token_create_stores_only_the_hash(tmp_path: Path) -> None:
    migrated = _pagelab("migrate", home=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "is up to date" in migrated.stdout

    # --first, as docker-compose.yml runs it: the database holds no token, so one is made.
    created = _pagelab("token", "create", "--scope", "write", "--name", "ci", "--first",
                       home=tmp_path)  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("plt_") and len(secret) > 40
    assert "shown only this once" in created.stderr

    engine = make_engine(f"sqlite:///{tmp_path / 'pagelab.db'}")
    with make_session_factory(engine)() as session:
        (stored,) = session.scalars(select(ApiToken)).all()
    engine.dispose()
    assert stored.name == "ci" and stored.scope == "write" and stored.expires_at is None
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()


def test_tokens_are_listed_with_their_state_and_revoked_by_id(tmp_path: Path) -> None:
    assert _pagelab("migrate", home=tmp_path).returncode == 0
    reader = _pagelab("token", "create", "--scope", "read", "--name", "alice", "--expires", "30d",
                      home=tmp_path)  # fmt: skip
    assert reader.returncode == 0, reader.stderr
    assert "read token 1 ('alice') created, valid until 20" in reader.stderr
    assert _pagelab("token", "create", "--scope", "write", home=tmp_path).returncode == 0

    revoked = _pagelab("token", "revoke", "2", home=tmp_path)
    assert revoked.returncode == 0 and "token 2 ('default') revoked" in revoked.stdout
    listed = _pagelab("token", "list", home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    header, alice, default = listed.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "SCOPE", "STATE", "CREATED", "EXPIRES", "REVOKED"]
    assert alice.split()[:4] == ["1", "alice", "read", "active"]
    assert default.split()[:4] == ["2", "default", "write", "revoked"]
    assert reader.stdout.strip() not in listed.stdout  # the token itself is not kept

    again = _pagelab("token", "create", "--scope", "write", "--first", home=tmp_path)
    assert again.returncode == 0 and again.stdout == "" and "exist already" in again.stderr
    missing = _pagelab("token", "revoke", "99", home=tmp_path)
    assert missing.returncode == 1 and "token 99 does not exist" in missing.stderr
    for bad in (["--scope", "admin"], ["--scope", "read", "--expires", "soon"], []):
        refused = _pagelab("token", "create", *bad, home=tmp_path)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, bad


def test_commands_fail_clearly_on_a_database_they_cannot_reach(tmp_path: Path) -> None:
    unreachable = {"PAGELAB_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    migrated = _pagelab("migrate", home=tmp_path, **unreachable)
    assert migrated.returncode == 1
    assert "cannot migrate postgresql+psycopg://nobody@127.0.0.1:1/none" in migrated.stderr
    created = _pagelab("token", "create", "--scope", "read", home=tmp_path)  # not migrated yet
    assert created.returncode == 1
    assert "run 'pagelab migrate' first?" in created.stderr
    listed = _pagelab("token", "list", home=tmp_path)
    assert listed.returncode == 1 and "run 'pagelab migrate' first?" in listed.stderr
    assert "Traceback" not in migrated.stderr + created.stderr + listed.stderr
