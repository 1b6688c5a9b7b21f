"""``fishwatch config reference``: the settings reference is complete, right and current."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from fishwatch.cli import app
from fishwatch.config import FishwatchConfig
from fishwatch.config_reference import (
    BEGIN,
    END,
    anchor,
    generated_part,
    missing_descriptions,
    render_reference,
    splice,
)

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "configuration.md"
COMMAND = "fishwatch config reference --update docs/configuration.md"


def rows(reference: str) -> dict[str, dict[str, list[str]]]:
    """heading path → setting name → [type, default, description] cells."""
    tables: dict[str, dict[str, list[str]]] = {}
    heading = ""
    for line in reference.splitlines():
        if line.startswith("### `"):
            heading = line.removeprefix("### `").removesuffix("`")
            tables[heading] = {}
        elif line.startswith("| `"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            tables[heading][cells[0].strip("`")] = cells[1:]
    return tables


def all_models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    seen.add(model)
    for info in model.model_fields.values():
        for arg in _leaves(info.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in seen:
                all_models(arg, seen)
    return seen


def _leaves(annotation: object) -> list[object]:
    args = typing.get_args(annotation)
    return [leaf for arg in args for leaf in _leaves(arg)] if args else [annotation]


def test_the_documents_reference_is_current() -> None:
    current = generated_part(DOC.read_text(encoding="utf-8"))
    assert current == render_reference(), f"docs/configuration.md is out of date: run `{COMMAND}`"


def test_every_setting_has_a_description() -> None:
    assert missing_descriptions() == [], "add a description= to these fields' Field(...)"


def test_every_settings_class_and_field_has_its_row() -> None:
    tables = rows(render_reference())
    documented = {frozenset(fields) for fields in tables.values()}
    for model in all_models(FishwatchConfig, set()):
        assert frozenset(model.model_fields) in documented, model.__name__
    assert len(tables) == len(all_models(FishwatchConfig, set()))  # each class once


def test_every_section_link_points_at_a_heading() -> None:
    reference = render_reference()
    anchors = {anchor(h) for h in rows(reference)}
    links = re.findall(r"\]\(#([^)]+)\)", reference)
    assert links and set(links) <= anchors


@pytest.mark.parametrize(("section", "setting", "kind", "default"), [
    ("model", "conf_threshold", "number ≥ 0, ≤ 1", "`0.25`"),
    ("model", "path", "path", "`<fishwatch>/models/fishwatch-yolo11n.onnx`"),
    ("model", "class_map", "`identity`/`coco` or map of string → string", "`identity`"),
    ("cameras.<name>", "source", "[section](#camerasnamesource)", "required"),
    ("cameras.<name>.analysis", "frame_size",
     "[integer ≥ 16, ≤ 16384, integer ≥ 16, ≤ 16384]", "required"),
    ("cameras.<name>.analysis", "filters",
     "map of string → [section](#camerasnameanalysisfiltersname)",
     "`{person: {}, fishing_rod: {}, net: {}, boat: {}}`"),
    ("cameras.<name>.analysis.rules.loitering", "min_dwell_s", "number ≥ 0, ≤ 86400", "`20.0`"),
    ("cameras.<name>.analysis.rules.angling.calendar.hours[]", "start", "time (HH:MM)",
     "required"),
    ("uplink", "token", "secret or null", "`null`"),
    ("dispatch", "departments", "list of [section](#dispatchdepartments)",
     "`[{code: centre, name: Dispatch centre}]`"),
    ("dispatch.sla", "default", "[section](#dispatchslarules)",
     "`{sign_within_min: 30, resolve_within_min: 240}`"),
    ("centre", "trusted_proxies", "list of string", "`[127.0.0.1]`"),
])
def test_types_bounds_and_defaults(section: str, setting: str, kind: str, default: str) -> None:
    row = rows(render_reference())[section][setting]
    assert row[:2] == [kind, default]


def test_a_class_used_in_several_places_names_them_all() -> None:
    reference = render_reference()
    assert ("Also at `cameras.<name>.analysis.rules.net_fishing.calendar`, "
            "`cameras.<name>.analysis.rules.boat_intrusion.calendar`, "
            "`cameras.<name>.analysis.rules.loitering.calendar`.") in reference


def test_no_path_of_this_machine_leaks_into_the_reference() -> None:
    assert str(REPO) not in render_reference()


def test_the_command_prints_the_reference() -> None:
    result = CliRunner().invoke(app, ["config", "reference"])
    assert result.exit_code == 0, result.output
    assert result.output == render_reference()


def test_update_rewrites_only_the_generated_part(tmp_path: Path) -> None:
    doc = tmp_path / "configuration.md"
    doc.write_text(f"# Intro\n\nhand-written\n\n{BEGIN}\nstale\n{END}\n\nafter\n",
                   encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "reference", "--update", str(doc)])
    assert result.exit_code == 0, result.output
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Intro\n\nhand-written\n\n")
    assert text.endswith(f"{END}\n\nafter\n")
    assert "stale" not in text
    assert generated_part(text) == render_reference()
    assert splice(text, render_reference()) == text  # a second run changes nothing


def test_update_refuses_a_document_without_markers(tmp_path: Path) -> None:
    doc = tmp_path / "README.md"
    doc.write_text("# no markers here\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "reference", "--update", str(doc)])
    assert result.exit_code == 2
    assert "has no generated part" in result.output
    assert doc.read_text(encoding="utf-8") == "# no markers here\n"
