"""Request and response bodies of the JSON API where dispatch's own views do not fit.

Responses reuse dispatch's frozen views (``OrderView``, ``ActionView``, ...), which carry no
personal data: a commission subject exists only inside ``CaseView``, which only the
commission's routes return. Requests are strict: an unknown field is an error, not ignored.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar
from uuid import UUID

from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, model_validator

from dispatch.photos import PhotoView
from dispatch.schemas import (
    ActionView,
    AnalystVerdict,
    DisciplinaryOutcome,
    Disposition,
    OrderView,
    Role,
    SubjectInfo,
)
from dispatch.search import EventRecord
from fishwatch.common.strict import StrictModel

Item = TypeVar("Item")

Reason = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S",
                              description="why; shown in the order's history")]
Note = Annotated[str, Field(max_length=2000)]
Username = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[str, Field(min_length=1, max_length=1000)]
DepartmentCode = Annotated[str, Field(min_length=1, max_length=63)]


class Page(BaseModel, Generic[Item]):
    """One page of a listing and how many records match in all."""

    data: list[Item]
    count: int = Field(description="records matching the filters, over every page")
    limit: int
    offset: int


# --- orders ---------------------------------------------------------------------------------
class OrderDetail(BaseModel):
    """An order with its whole history, its alerts, its field photos and the steps its state
    allows next (whether the reader may take them is the reader's role's business)."""

    order: OrderView
    history: list[ActionView]
    events: list[EventRecord]
    photos: list[PhotoView]
    next_steps: list[str]


class ReasonIn(StrictModel):
    reason: Reason


class NoteIn(StrictModel):
    note: Note = ""


class RedispatchIn(StrictModel):
    department: DepartmentCode = Field(description="code of the department that takes it now")
    note: Note = ""


class FeedbackRequest(StrictModel):
    """What the department found on site. ``photo_ids`` name photos uploaded for this order
    (``POST /api/v1/orders/{id}/photos``). ``subject`` only for a party member or public
    official: it goes, encrypted, to the discipline commission and nowhere else."""

    disposition: Disposition
    notes: Annotated[str, Field(max_length=4000)] = ""
    photo_ids: list[UUID] = Field(default_factory=list, max_length=50)
    subject: SubjectInfo | None = None


# --- reviews --------------------------------------------------------------------------------
class VerdictIn(StrictModel):
    """An analyst's verdict on an alert's evidence; a false positive needs its reason and
    closes the order as a false alarm."""

    verdict: AnalystVerdict
    reason: Annotated[str, Field(max_length=2000)] = ""

    @model_validator(mode="after")
    def _false_positive_says_why(self) -> VerdictIn:
        if self.verdict is AnalystVerdict.FALSE_POSITIVE and not self.reason.strip():
            raise ValueError("a false positive needs a reason (what the detector mistook)")
        return self


class ReviewFilters(BaseModel):
    """What the review queue's filters offer."""

    cameras: list[str]
    zones: list[str]


# --- commission -----------------------------------------------------------------------------
class ConcludeIn(StrictModel):
    outcome: DisciplinaryOutcome
    findings: Reason


# --- users ----------------------------------------------------------------------------------
class UserCreate(StrictModel):
    username: Username
    display_name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Role
    department: DepartmentCode | None = Field(None, description="department staff only")
    password: Password | None = Field(None, description="leave out to set it later")


class RoleChange(StrictModel):
    role: Role
    department: DepartmentCode | None = Field(None, description="department staff only")


class PasswordSet(StrictModel):
    password: Password


class OwnPasswordChange(StrictModel):
    current_password: Password
    new_password: Password


class LanguageSet(StrictModel):
    language: Annotated[str, Field(pattern=r"^(zh|en)$")]


def operation_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids, ``<tag>-<handler>`` (``orders-sign``), for generated
    clients and for the tests that walk every operation."""
    return f"{route.tags[0]}-{route.name}"
