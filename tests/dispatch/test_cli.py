"""``fishwatch dispatch``: set up an empty database from the command line, errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from dispatch.cli import app
from dispatch.db import head_revision
from fishwatch.cli import app as root_app
from fishwatch.config import FishwatchConfig


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_set_up_a_new_database(tmp_path: Path) -> None:
    url = ["--database-url", f"sqlite:///{tmp_path / 'new.db'}"]
    code, out = run("db", "upgrade", *url)
    assert code == 0 and out.startswith(f"database at revision {head_revision()}")
    assert run("sync", *url) == (0, "1 departments in the database\n")
    code, out = run("add-user", "root", "--role", "admin", "--name", "Root", *url)
    assert code == 0 and out.startswith("user root (admin): ")
    code, out = run("add-camera", "box-7", "cam-1", "--area", "north", "--grid", "N1", *url)
    assert code == 0 and out.startswith("camera box-7/cam-1: ")
    code, out = run("work", "--once", *url)
    assert code == 0 and "checked 0 orders" in out and "0 delivered" in out
    code, out = run("ledger", "orders", "--as", "root", "--out", str(tmp_path / "o.xlsx"),
                    "--since", "2026-05-01", *url)
    assert code == 0 and out.startswith("0 rows: ") and (tmp_path / "o.xlsx").exists()
    code, out = run("stats", "--as", "root", "--type", "angling", *url)
    assert code == 0 and json.loads(out)["orders"] == 0
    assert run("audit", "verify", *url) == (0, "audit chain intact: 4 records\n")
    # The root command line offers the verifier as auditors know it: `fishwatch audit verify`.
    result = CliRunner().invoke(root_app, ["audit", "verify", *url])
    assert (result.exit_code, result.output) == (0, "audit chain intact: 4 records\n")


@pytest.mark.parametrize(("args", "message"), [
    (["add-user", "s", "--role", "department_staff", "--name", "S"],
     "error: department staff need a department"),
    (["add-user", "s", "--role", "department_staff", "--name", "S", "--department", "x"],
     "error: no active department 'x'"),
    (["ledger", "orders", "--as", "nobody", "--out", "x.csv"], "error: no user 'nobody'"),
    (["ledger", "orders", "--as", "nobody", "--out", "x.pdf"], "error: x.pdf: the output must"),
])
def test_refusals_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    url = ["--database-url", f"sqlite:///{tmp_path / 'new.db'}"]
    run("db", "upgrade", *url)
    code, out = run(*args, *url)
    assert code == 2 and out.startswith(message) and len(out.strip().splitlines()) == 1


def test_keygen_prints_a_usable_key() -> None:
    code, out = run("keygen")
    assert code == 0
    Fernet(out.strip())


@pytest.mark.skipif("dispatch" not in FishwatchConfig.model_fields,
                    reason="the root config does not mount the dispatch: section yet")
def test_database_url_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "fishwatch.yaml"
    config.write_text(f"dispatch:\n  database_url: sqlite:///{tmp_path / 'c.db'}\n")
    assert run("db", "upgrade", "--config", str(config))[0] == 0
    assert (tmp_path / "c.db").exists()
