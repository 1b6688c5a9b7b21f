"""How every ``fishwatch`` command reports a user's mistake: ``error: …`` on stderr, exit code 2.

Bad input (a wrong path, a malformed config, a refused request) deserves one clear message, not
a traceback; a bug still gets its traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned exit (code 2)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def user_errors(
    *errors: type[Exception], first_line_only: tuple[type[Exception], ...] = ()
) -> Callable[[F], F]:
    """A decorator that turns ``errors`` raised by a command into :func:`fail`.

    ``first_line_only`` errors are cut to their first line (a library's message can run on for
    pages); the others are shown whole (a config error lists one problem per line).

    Example:
        >>> reports_user_errors = user_errors(ConfigError, ModelLoadError,
        ...                                   first_line_only=(ModelLoadError,))
        >>> @app.command()
        ... @reports_user_errors
        ... def detect(video: Path) -> None: ...
    """

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return command(*args, **kwargs)
            except errors as exc:
                text = str(exc)
                if isinstance(exc, first_line_only):
                    text = text.splitlines()[0] if text else text
                raise fail(text) from None

        return wrapper  # type: ignore[return-value]

    return decorate
