"""The shared leaf modules: one vocabulary for edge and centre, the strict base, CLI errors."""

from __future__ import annotations

import subprocess
import sys

import pydantic
import pytest
import typer
from typer.testing import CliRunner

from fishwatch.common.cli import user_errors
from fishwatch.common.strict import StrictModel
from fishwatch.common.vocabulary import RULE_TYPES, EventType, Severity


def test_edge_and_centre_speak_the_same_words() -> None:
    import detector.events
    import dispatch.schemas

    assert detector.events.EventType is dispatch.schemas.EventType is EventType
    assert detector.events.Severity is dispatch.schemas.Severity is Severity
    assert RULE_TYPES == set(EventType) - {EventType.CAMERA_FAULT}
    assert [s.rank for s in Severity] == [0, 1, 2, 3]


def test_the_centre_loads_the_vocabulary_without_the_edge_run_time() -> None:
    code = (
        "import sys, fishwatch.common.vocabulary, fishwatch.common.strict, fishwatch.common.cli,"
        " dispatch.schemas;"
        "print(sorted({'numpy', 'onnxruntime', 'cv2', 'av', 'detector', 'streams'}"
        " & {m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


class _Settings(StrictModel):
    port: int = 1


def test_strict_model_refuses_unknown_keys_and_changes() -> None:
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        _Settings(prot=2)  # type: ignore[call-arg]
    settings = _Settings()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        settings.port = 2  # type: ignore[misc]


class _LibraryError(Exception):
    pass


@pytest.mark.parametrize(("raised", "code", "stderr"), [
    (ValueError("line 1\nline 2"), 2, "error: line 1\nline 2\n"),
    (_LibraryError("first\nthe rest of a long story"), 2, "error: first\n"),
    (KeyError("a bug"), 1, ""),
])
def test_user_errors(raised: Exception, code: int, stderr: str) -> None:
    app = typer.Typer()

    @app.command()
    @user_errors(ValueError, _LibraryError, first_line_only=(_LibraryError,))
    def command() -> None:
        raise raised

    result = CliRunner().invoke(app, [])
    assert (result.exit_code, result.stderr) == (code, stderr)
