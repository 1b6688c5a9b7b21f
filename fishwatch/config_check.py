"""``fishwatch config check``: every problem in a config file, each with its line and a hint.

:func:`fishwatch.config.load_config` is what the services run: it stops at the file's schema.
This goes further, for a person about to deploy a file: besides the schema (every error, not the
first), it opens what the file points at — the model (loaded as the edge would, class map
included), video files (probed for their frame size), the device token file, the folders that
must be writable — and warns about rules that no zone can ever trigger. Sections with schema
errors are left out of the deeper checks; the rest are still checked.

Example:
    >>> report = check_config(Path("fishwatch.yaml"))
    >>> print(report.render())
    fishwatch.yaml:12: cameras.pier.source.path: no such file
      hint: relative paths are relative to the config file: /srv/site/clips/pier.mp4
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import av
import typer
import yaml
from pydantic import BaseModel, ValidationError

from detector.zones import ZoneKind
from fishwatch.config import DEFAULT_MODEL, CameraConfig, FishwatchConfig

Loc = tuple[int | str, ...]

#: The zone kind each rule looks for (detector.rules): a rule with none of its kind never fires.
RULE_ZONE_KINDS: dict[str, ZoneKind] = {
    "angling": ZoneKind.NO_FISHING,
    "net_fishing": ZoneKind.WATER,
    "boat_intrusion": ZoneKind.NO_BOAT,
    "loitering": ZoneKind.NO_FISHING,
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or, with ``warning``, suspicious) at a dotted path of the file."""

    path: str
    message: str
    line: int | None = None
    hint: str | None = None
    warning: bool = False

    def render(self, file: Path) -> str:
        where = f"{file}:{self.line}" if self.line is not None else str(file)
        text = f"{where}: {self.path}: {'warning: ' if self.warning else ''}{self.message}"
        return text + (f"\n  hint: {self.hint}" if self.hint else "")


@dataclass
class CheckReport:
    """What :func:`check_config` found; ``ok`` when nothing but warnings."""

    file: Path
    problems: list[Problem] = field(default_factory=list)
    summary: str = ""

    @property
    def ok(self) -> bool:
        return not any(not p.warning for p in self.problems)

    def render(self) -> str:
        lines = [p.render(self.file) for p in self.problems]
        if self.ok:
            lines.append(f"ok: {self.summary}")
        else:
            errors = sum(not p.warning for p in self.problems)
            warnings = len(self.problems) - errors
            lines.append(f"{errors} problem{'s' if errors > 1 else ''}"
                         + (f" and {warnings} warning{'s' if warnings > 1 else ''}"
                            if warnings else "") + f" in {self.file}")
        return "\n".join(lines)


# --- where things are in the YAML ----------------------------------------------------------------
def _node_at(root: yaml.Node | None, loc: Loc) -> tuple[yaml.Node | None, bool]:
    """The node at ``loc``, or the deepest ancestor that exists; True when ``loc`` itself exists."""
    node = root
    for key in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        if child is None:
            return node, False
        node = child
    return node, True


def _line(root: yaml.Node | None, loc: Loc) -> int | None:
    node, _ = _node_at(root, loc)
    return node.start_mark.line + 1 if node is not None else None


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "(root)"


def _raw(data: Any, loc: Loc) -> Any:
    """The value the file itself gives at ``loc`` (before defaults and path resolution)."""
    for key in loc:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and key < len(data):
            data = data[key]
        else:
            return None
    return data


def _duplicate_keys(node: yaml.Node | None, loc: Loc = ()) -> Iterator[tuple[Loc, yaml.Node]]:
    """Keys given twice in one mapping: YAML keeps the last silently, which hides a mistake."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = getattr(key, "value", None)
            if isinstance(name, str):
                if name in seen:
                    yield (*loc, name), key
                seen.add(name)
            yield from _duplicate_keys(value, (*loc, name if isinstance(name, str) else "?"))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index))


# --- hints from the schema -----------------------------------------------------------------------
def _candidates(annotation: Any) -> list[Any]:
    """The types a field may hold: Annotated and Optional/Union unwrapped."""
    if typing.get_origin(annotation) is Annotated:
        return _candidates(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _candidates(arg)]
    return [annotation]


def _model_at(loc: Loc, annotation: Any = FishwatchConfig) -> type[BaseModel] | None:
    """The settings class found at ``loc`` of the config tree, if ``loc`` leads to one."""
    for candidate in _candidates(annotation):
        origin = typing.get_origin(candidate)
        if not loc:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                return candidate
            continue
        key, rest = loc[0], loc[1:]
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            field_info = candidate.model_fields.get(str(key))
            found = field_info and _model_at(rest, field_info.annotation)
        elif origin is dict:
            found = _model_at(rest, typing.get_args(candidate)[1])
        elif origin in (list, tuple) and isinstance(key, int):
            found = _model_at(rest, typing.get_args(candidate)[0])
        else:
            found = None
        if found:
            return found
    return None


def _closest(word: object, choices: list[str], n: int = 1) -> str | None:
    """``'a'`` or ``'a' or 'b'``: the choices closest to ``word``, if any is close."""
    matches = difflib.get_close_matches(str(word), choices, n=n, cutoff=0.6)
    return " or ".join(f"'{m}'" for m in matches) or None


def _schema_hint(error: dict[str, Any], loc: Loc) -> str | None:
    """A hint for a schema error: the closest known key or value, or what a field is for."""
    kind = error["type"]
    if kind == "extra_forbidden" and loc:
        model = _model_at(loc[:-1])
        if model is None:
            return None
        known = list(model.model_fields)
        guess = _closest(loc[-1], known, n=3)
        return f"did you mean {guess}?" if guess else f"known settings here: {', '.join(known)}"
    if kind in ("literal_error", "enum"):
        allowed = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        guess = _closest(error.get("input"), allowed)
        text = f"allowed values: {', '.join(allowed)}"
        return f"did you mean {guess}? ({text})" if guess else text
    if kind == "missing" and loc:
        model = _model_at(loc[:-1])
        info = model.model_fields.get(str(loc[-1])) if model else None
        return f"{loc[-1]}: {info.description}" if info and info.description else None
    known = re.search(r"'([^']+)' \(known: ([^)]*)\)", error["msg"])
    if known:  # a cross-reference, e.g. a routing rule naming a department
        guess = _closest(known[1], [c.strip() for c in known[2].split(",")])
        return f"did you mean {guess}?" if guess else None
    return None


#: Model-level validators name the nested field they object to at the start of their message.
_NESTED_PATH = re.compile(r"^([A-Za-z_]\w*(?:\.\w+|\[\d+\])*): (.+)$", re.S)
_ZONE_MESSAGE = re.compile(r"^zone '([^']+)': (.+)$", re.S)


def _refine(loc: Loc, message: str, root: yaml.Node | None) -> tuple[Loc, str, str | None]:
    """Point a model-level error at the field it names, when that field is in the file."""
    nested = _NESTED_PATH.match(message)
    zone = _ZONE_MESSAGE.match(message)
    hint = None
    if nested:
        parts = re.findall(r"\w+|\[\d+\]", nested[1])
        sub: Loc = tuple(int(p[1:-1]) if p.startswith("[") else p for p in parts)
        rest = nested[2]
    elif zone and loc and loc[-1] == "analysis":
        sub, rest = ("zones", zone[1], "coordinates"), message
        if "outside the" in message:
            hint = "zones are in pixels of analysis.frame_size; redraw them: fishwatch zones draw"
    else:
        return loc, message, None
    if _node_at(root, (*loc, *sub))[1]:
        return (*loc, *sub), rest, hint
    return loc, message, hint


def _union_noise(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop the errors of union branches that the value plainly was not meant for.

    ``class_map: cocoo`` fails both as a name and as a mapping; only the first says something.
    """
    by_loc: dict[Loc, list[dict[str, Any]]] = {}
    for error in errors:
        by_loc.setdefault(_file_loc(error["loc"]), []).append(error)

    def noise(error: dict[str, Any]) -> bool:
        wrong_type = error["type"].endswith("_type")
        wrong_branch = error["type"] in ("literal_error", "enum") and isinstance(
            error.get("input"), dict | list)
        return wrong_type or wrong_branch

    kept = []
    for group in by_loc.values():
        useful = [e for e in group if not noise(e)] if len(group) > 1 else group
        kept.extend(useful or group)
    return kept


def _file_loc(loc: tuple[int | str, ...]) -> Loc:
    """A pydantic location without its union-branch steps ('literal[...]'), which the file lacks."""
    return tuple(p for p in loc if not (isinstance(p, str) and "[" in p))


def _schema_problems(
    errors: list[dict[str, Any]], root: yaml.Node | None
) -> Iterator[tuple[Loc, Problem]]:
    for error in _union_noise(errors):
        loc = _file_loc(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling)"
        where, message, hint = _refine(loc, message, root)
        hint = hint or _schema_hint(error, loc)
        yield loc, Problem(_dotted(where), message, _line(root, where), hint)


# --- checks beyond the schema ------------------------------------------------------------------
class _Checker:
    """The deeper checks, on the sections whose schema is valid."""

    def __init__(self, file: Path, data: dict[str, Any], root: yaml.Node | None) -> None:
        self.file = file
        self.data = data
        self.root = root
        self.problems: list[Problem] = []

    def add(
        self, loc: Loc, message: str, hint: str | None = None, *, warning: bool = False
    ) -> None:
        self.problems.append(Problem(_dotted(loc), message, _line(self.root, loc), hint, warning))

    def where_hint(self, loc: Loc) -> str | None:
        """Say where a relative path in the file points, since it is not the working folder."""
        raw = _raw(self.data, loc)
        if raw is not None and not Path(str(raw)).is_absolute():
            return (f"'{raw}' is taken relative to the config file's folder "
                    f"({self.file.resolve().parent}), not the working folder")
        return None

    def model(self, config: FishwatchConfig) -> str | None:
        """Load the model as the edge does; its name and classes for the summary."""
        from detector.class_map import ClassMapError
        from detector.model import Detector, ModelLoadError
        from detector.output_formats import ModelFormatError

        settings = config.model
        path_loc: Loc = ("model", "path")
        if not settings.path.is_file():
            hint = self.where_hint(path_loc)
            if _raw(self.data, path_loc) is None:
                hint = f"the default model {DEFAULT_MODEL} is missing; set model.path"
            self.add(path_loc, f"no such file: {settings.path}", hint)
            return None
        try:
            detector = Detector(settings.path, class_map=settings.class_map,
                                output_format=settings.output_format, intra_op_num_threads=1)
        except ClassMapError as exc:
            self.add(("model", "class_map"), str(exc))
        except ModelFormatError as exc:
            where = ("model", "output_format") if settings.output_format else path_loc
            self.add(where, str(exc), "leave output_format out to detect it from the file")
        except ModelLoadError as exc:
            self.add(path_loc, str(exc))
        else:
            return f"model {detector.name} ({', '.join(detector.class_names)})"
        return None

    def camera(self, name: str, camera: CameraConfig) -> None:
        loc: Loc = ("cameras", name)
        source = camera.source
        if source.resolved_kind == "file" and source.path is not None:
            path_loc = (*loc, "source", "path")
            if not source.path.is_file():
                self.add(path_loc, f"no such file: {source.path}",
                         self.where_hint(path_loc))
                return
            size = self._video_size(source.path, path_loc)
            if size is not None and camera.analysis is not None:
                if tuple(camera.analysis.frame_size) != size:
                    configured = "x".join(map(str, camera.analysis.frame_size))
                    self.add((*loc, "analysis", "frame_size"),
                             f"is {configured} but the video's frames are {size[0]}x{size[1]}",
                             f"set frame_size to [{size[0]}, {size[1]}] and redraw the zones "
                             f"(fishwatch zones draw --config {self.file} --camera {name})")
        if camera.analysis is not None and camera.analysis.zones:
            kinds = {kind for zone in camera.analysis.zones.values() for kind in zone.kinds}
            rules = camera.analysis.rules
            for rule, kind in RULE_ZONE_KINDS.items():
                if getattr(rules, rule).enabled and kind not in kinds:
                    self.add((*loc, "analysis", "zones"),
                             f"no zone is {kind.value}, so the {rule} rule can never fire",
                             f"add a {kind.value} zone, or set rules.{rule}.enabled: false",
                             warning=True)

    def _video_size(self, path: Path, loc: Loc) -> tuple[int, int] | None:
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    self.add(loc, f"{path} has no video stream")
                    return None
                context = container.streams.video[0].codec_context
                return context.width, context.height
        except (av.error.FFmpegError, OSError) as exc:
            self.add(loc, f"cannot open {path} as a video: {getattr(exc, 'strerror', None) or exc}")
            return None

    def token_file(self, config: FishwatchConfig) -> None:
        from streams.uplink_settings import TokenError

        uplink = config.uplink
        if uplink is None or uplink.token_file is None:
            return
        try:
            uplink.device_token()
        except TokenError as exc:
            loc: Loc = ("uplink", "token_file")
            self.add(loc, str(exc), self.where_hint(loc)
                     or "the centre's admin page issues device tokens")

    def writable(self, loc: Loc, folder: Path) -> None:
        """``folder`` exists and is writable, or can be created."""
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        hint = self.where_hint(loc)
        if not existing.is_dir():
            self.add(loc, f"cannot create {folder}: {existing} is a file, not a folder", hint)
        elif not os.access(existing, os.W_OK | os.X_OK):
            verb = "write to" if existing == folder else "create"
            self.add(loc, f"cannot {verb} {folder}: {existing} is not writable", hint)


def check_config(path: Path) -> CheckReport:
    """Every problem in the config file at ``path``, and a one-line summary when it is usable."""
    report = CheckReport(Path(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(
            Problem("(file)", f"cannot read config: {getattr(exc, 'strerror', None) or exc}"))
        return report
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        report.problems.append(Problem("(file)", f"not valid YAML: {getattr(exc, 'problem', exc)}",
                                       mark.line + 1 if mark else None))
        return report
    if not isinstance(data, dict):
        report.problems.append(Problem("(root)", "the config must be a mapping of sections, "
                                                 f"not {type(data).__name__}", 1))
        return report

    for loc, key in _duplicate_keys(root):
        report.problems.append(Problem(_dotted(loc), "given twice; only the last one counts",
                                       key.start_mark.line + 1))
    bad_sections: set[str] = set()
    bad_cameras: dict[str, set[str]] = {}  # camera → its broken parts ('' for the whole)
    try:
        FishwatchConfig.model_validate(data)
    except ValidationError as exc:
        for loc, problem in _schema_problems(exc.errors(), root):  # type: ignore[arg-type]
            report.problems.append(problem)
            if len(loc) > 1 and loc[0] == "cameras":
                bad_cameras.setdefault(str(loc[1]), set()).add(str(loc[2]) if len(loc) > 2 else "")
            else:
                bad_sections.add(str(loc[0]) if loc else "(root)")
    if "(root)" in bad_sections:
        return report

    # The deeper checks run on what validated: broken sections and cameras are left out.
    cameras = data.get("cameras") if "cameras" not in bad_sections else None
    sound = {k: v for k, v in data.items() if k not in bad_sections and k != "cameras"}
    if isinstance(cameras, dict):
        sound["cameras"] = {
            name: {part: v for part, v in camera.items() if part not in bad_cameras[str(name)]}
            if str(name) in bad_cameras else camera
            for name, camera in cameras.items()
            if not bad_cameras.get(str(name), set()) & {"", "source"}
        }
    try:
        config = FishwatchConfig.model_validate(sound).resolve_paths(Path(path).resolve().parent)
    except ValidationError:  # a check across sections failed: the schema errors say which
        return report
    checker = _Checker(Path(path), data, root)
    model_summary = None
    if "model" not in bad_sections and (config.cameras or "model" in data):
        model_summary = checker.model(config)
    for name, camera in config.cameras.items():
        checker.camera(name, camera)
    if config.cameras and "evidence" not in bad_sections:
        checker.writable(("evidence", "folder"), config.evidence.folder)
    if config.uplink is not None:
        checker.token_file(config)
        checker.writable(("uplink", "outbox_path"), config.uplink.outbox_path.parent)
        checker.writable(("uplink", "evidence_dir"), config.uplink.evidence_path)
    centre_used = "centre" in data or "dispatch" in data
    if centre_used and "centre" not in bad_sections and config.centre.evidence.backend == "local":
        checker.writable(("centre", "evidence", "folder"), config.centre.evidence.folder)
    report.problems.extend(checker.problems)
    report.problems.sort(key=lambda p: p.line or 0)

    zones = sum(len(c.analysis.zones) for c in config.cameras.values() if c.analysis)
    parts = [f"{len(config.cameras)} camera{'s' if len(config.cameras) != 1 else ''}",
             f"{zones} zone{'s' if zones != 1 else ''}"]
    if model_summary:
        parts.append(model_summary)
    if centre_used:
        dispatch = config.dispatch
        parts.append(f"{len(dispatch.departments)} departments, "
                     f"{len(dispatch.routing.rules)} routing rules")
    if config.uplink is not None:
        parts.append(f"uplink to {config.uplink.centre_url} as {config.uplink.device_id}")
    report.summary = ", ".join(parts)
    return report


# --- command line --------------------------------------------------------------------------------
config_app = typer.Typer(no_args_is_help=True,
                         help="Check a config file before deploying it; list every setting.")


@config_app.command("check")
def check_command(
    file: Annotated[Path, typer.Argument(help="fishwatch.yaml to check")],
) -> None:
    """List every problem in FILE as FILE:LINE: path: message, with hints; exit 2 if any."""
    report = check_config(file)
    typer.echo(report.render())
    if not report.ok:
        raise typer.Exit(2)


@config_app.command("reference")
def reference_command(
    update: Annotated[Path | None, typer.Option(
        help="Markdown file whose generated part to rewrite (docs/configuration.md)")] = None,
) -> None:
    """Print every setting of the config file as Markdown, generated from the settings models."""
    from fishwatch.config_reference import render_reference, splice

    reference = render_reference()
    if update is None:
        typer.echo(reference, nl=False)
        return
    try:
        document = update.read_text(encoding="utf-8")
        update.write_text(splice(document, reference), encoding="utf-8")
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {update}: {getattr(exc, 'strerror', None) or exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"updated the reference in {update}")
