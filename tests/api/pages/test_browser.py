"""Each role's main story in real headless Chromium, with a screenshot of every page.

Alerts are ingested straight through the centre's OrderService (as the ingest endpoint does);
everything after that happens in the browser, and the outcome is checked in the database.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from api.evidence import KeyScope, evidence_key, measure
from dispatch.inbox import get_order, order_history
from dispatch.schemas import (
    AnalystVerdict,
    CaseStatus,
    Disposition,
    EvidenceRef,
    FeedbackIn,
    OrderStatus,
    SubjectInfo,
)

from ...conftest import make_event
from .conftest import Site

pytestmark = pytest.mark.browser

CLIP = Path(__file__).resolve().parents[3] / "sample_videos" / "angler_arrives.mp4"
OpenPage = Callable[..., object]
Shoot = Callable[[object, str], Path]


def store(site: Site, owner: uuid.UUID, kind: str, data: bytes, content_type: str) -> dict:
    """Put evidence bytes in the centre's store as the ingest endpoint would."""
    found = measure(io.BytesIO(data))
    key = evidence_key(KeyScope.EVENTS, owner, kind, found.sha256, content_type)
    site.centre.evidence.put(key, io.BytesIO(data), content_type=content_type, expected=found)
    return EvidenceRef(kind=kind, sha256=found.sha256, size=found.size, content_type=content_type,
                       storage_key=key).model_dump(mode="json")


def snapshot_jpeg() -> bytes:
    """A frame of the sample clip, where the angler stands at the water."""
    video = cv2.VideoCapture(str(CLIP))
    video.set(cv2.CAP_PROP_POS_MSEC, 6000)
    ok, frame = video.read()
    video.release()
    assert ok, f"no frame in {CLIP}"
    return cv2.imencode(".jpg", frame)[1].tobytes()


def ingest(site: Site, **fields: object) -> uuid.UUID:
    """An alert with its snapshot and clip, as an edge box sends it; the order's id."""
    event_id = uuid.uuid4()
    evidence = [store(site, event_id, "snapshot", snapshot_jpeg(), "image/jpeg"),
                store(site, event_id, "clip", CLIP.read_bytes(), "video/mp4")]
    event = make_event(site.clock, event_id=event_id, evidence=evidence, **fields)
    with site.centre.db.transaction() as session:
        return site.centre.orders.ingest(session=session, event=event).order_id


def order(site: Site, order_id: uuid.UUID):
    with site.centre.db.transaction() as session:
        return get_order(session, site.cast.dispatcher, order_id)


def submit_feedback(page, shoot: Shoot, disposition: Disposition, notes: str,
                    screenshot: str) -> None:
    """Fill in the order page's feedback form, photograph it, send it and wait for the answer."""
    page.select_option("select[name=disposition]", disposition.value)
    page.fill("textarea[name=notes]", notes)
    shoot(page, screenshot)
    page.click("button[data-step=submit_feedback]")
    page.wait_for_url("**done=submit_feedback")


def test_staff_sign_and_give_feedback_with_a_photo_on_a_phone_and_the_dispatcher_closes(
        site: Site, open_page: OpenPage, shoot: Shoot, tmp_path: Path) -> None:
    order_id = ingest(site, camera="cam-n1", type="net_fishing", severity="high")
    phone = open_page("north", phone=True)
    phone.goto("/inbox")
    card = phone.locator(f'li[data-order-id="{order_id}"]')
    card.wait_for()
    shoot(phone, "inbox-phone")
    card.click()
    phone.wait_for_url(f"**/orders/{order_id}")
    assert phone.locator(".evidence img").evaluate(
        "img => img.decode().then(() => img.naturalWidth)") > 0
    assert phone.locator(".evidence video[controls]").evaluate(
        "v => new Promise(done => v.readyState >= 1 ? done(v.duration)"
        " : v.addEventListener('loadedmetadata', () => done(v.duration)))") > 10
    shoot(phone, "order-phone")

    phone.click("button[data-step=sign]")
    phone.wait_for_url("**done=sign")
    phone.click("button[data-step=start]")
    phone.wait_for_url("**done=start")
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("现场记录")
    phone.set_input_files("#photo-input", str(not_a_photo))
    status = phone.locator("#photo-status.error")
    status.wait_for()
    assert status.inner_text().startswith("照片未上传 (notes.jpg): the file's bytes are not")
    photo = tmp_path / "site.jpg"
    photo.write_bytes(snapshot_jpeg())
    phone.set_input_files("#photo-input", str(photo))
    phone.locator("#photo-list input[name=photo_ids]").wait_for()
    assert phone.locator("#photo-status").inner_text() == ""
    submit_feedback(phone, shoot, Disposition.DISPERSED, "两人垂钓已劝离 渔具暂扣",
                    "feedback-phone")
    assert phone.locator(".timeline .thumbs img").count() == 1
    assert order(site, order_id).status is OrderStatus.FEEDBACK_SUBMITTED

    desk = open_page("dispatcher")
    desk.goto(f"/orders/{order_id}")
    desk.fill("form[action$='/close'] input[name=note]", "核实无误")
    desk.click("button[data-step=close]")
    desk.wait_for_url("**done=close")
    shoot(desk, "order-closed")
    closed = order(site, order_id)
    assert (closed.status, closed.disposition) == (OrderStatus.CLOSED, Disposition.DISPERSED)
    with site.centre.db.transaction() as session:
        feedback = next(line for line in order_history(session, site.cast.dispatcher, order_id)
                        if line.kind.value == "feedback_submitted")
    assert len(feedback.photos) == 1 and feedback.note == "两人垂钓已劝离 渔具暂扣"


def test_feedback_with_photos_from_a_phone_without_javascript(
        site: Site, open_page: OpenPage, shoot: Shoot, tmp_path: Path) -> None:
    order_id = ingest(site, camera="cam-n1", type="angling")
    phone = open_page("north", phone=True, script=False)
    phone.goto(f"/orders/{order_id}")
    phone.click("button[data-step=sign]")
    phone.wait_for_url("**done=sign")
    phone.click("button[data-step=start]")
    phone.wait_for_url("**done=start")
    photos = [tmp_path / "rods.jpg", tmp_path / "bank.png"]
    frame = cv2.imdecode(np.frombuffer(snapshot_jpeg(), np.uint8), cv2.IMREAD_COLOR)
    cv2.imwrite(str(photos[0]), frame)
    cv2.imwrite(str(photos[1]), frame[::2, ::2])
    assert phone.locator("#photo-input").is_visible()  # no script to hide it behind the button
    phone.set_input_files("#photo-input", [str(p) for p in photos])
    submit_feedback(phone, shoot, Disposition.VIOLATION_CONFIRMED, "暂扣鱼竿三根",
                    "feedback-phone-no-script")
    assert phone.locator(".timeline .thumbs img").count() == 2
    with site.centre.db.transaction() as session:
        feedback = next(line for line in order_history(session, site.cast.dispatcher, order_id)
                        if line.kind.value == "feedback_submitted")
    assert sorted(p.content_type for p in feedback.photos) == ["image/jpeg", "image/png"]
    assert feedback.note == "暂扣鱼竿三根"
    with site.centre.db.transaction() as session:  # later alerts of this camera open a new order
        site.centre.orders.close(session=session, actor=site.cast.dispatcher, order_id=order_id)


def test_an_analyst_marks_a_false_positive(site: Site, open_page: OpenPage,
                                           shoot: Shoot) -> None:
    order_id = ingest(site, camera="cam-s1", type="angling")
    page = open_page("analyst")
    page.goto("/reviews?camera=cam-s1")
    item = page.locator(f'li.review[data-order-id="{order_id}"]')
    item.wait_for()
    assert item.locator("video[controls]").count() == 1
    shoot(page, "reviews")
    item.locator("input[name=note]").fill("白鹭 非垂钓")
    item.locator("button[value=false_positive]").click()
    page.wait_for_url("**done=dismiss_as_false_alarm")
    assert page.locator(f'li.review[data-order-id="{order_id}"]').count() == 0
    page.goto("/reviews?tab=done")
    assert "白鹭 非垂钓" in page.locator(f'li.review[data-order-id="{order_id}"]').inner_text()
    dismissed = order(site, order_id)
    assert (dismissed.status, dismissed.analyst_verdict, dismissed.disposition) == (
        OrderStatus.CLOSED, AnalystVerdict.FALSE_POSITIVE, Disposition.FALSE_ALARM)


def test_the_commission_files_a_case_that_others_cannot_open(site: Site, open_page: OpenPage,
                                                             shoot: Shoot) -> None:
    order_id = ingest(site, camera="cam-n1", type="angling")
    north, orders = site.cast.north, site.centre.orders
    with site.centre.db.transaction() as session:
        orders.sign(session=session, actor=north, order_id=order_id)
        orders.start(session=session, actor=north, order_id=order_id)
        orders.submit_feedback(session=session, actor=north, order_id=order_id, feedback=FeedbackIn(
            disposition=Disposition.VIOLATION_CONFIRMED, subject=SubjectInfo(
                name="王五", employer="某镇人民政府", position="副镇长", party_member=True,
                public_official=True)))
        [case] = site.centre.commission.list_cases(session=session, actor=site.cast.commission,
                                                   order_id=order_id)
    page = open_page("commission")
    page.goto("/commission")
    page.locator(f'li[data-case-id="{case.id}"] a').click()
    page.wait_for_url(f"**/commission/cases/{case.id}")
    assert "副镇长" in page.inner_text(".subject")
    shoot(page, "commission-case")
    page.fill("textarea[name=reason]", "经初核当事人系副镇长 违反禁渔规定")
    page.click("button[data-step=file]")
    page.wait_for_url("**done=file")
    with site.centre.db.transaction() as session:
        filed = site.centre.commission.get_case(session=session, actor=site.cast.commission,
                                                case_id=case.id)
    assert filed.status is CaseStatus.FILED and "副镇长" in filed.findings

    dispatcher = open_page("dispatcher")
    response = dispatcher.goto(f"/commission/cases/{case.id}")
    assert response.status == 403
    dispatcher.goto(f"/orders/{order_id}")
    assert "王五" not in dispatcher.content() and "副镇长" not in dispatcher.content()


def test_a_new_alert_appears_in_an_open_inbox_without_a_reload(site: Site, open_page: OpenPage,
                                                               shoot: Shoot) -> None:
    page = open_page("south", phone=True)
    page.goto("/inbox")
    page.wait_for_selector("#inbox-list[data-live=true]", state="attached")
    page.evaluate("window.__loaded_once = true")
    elsewhere = ingest(site, camera="cam-n1", type="angling")  # the north team's
    order_id = ingest(site, camera="cam-s1", type="net_fishing", severity="high")
    page.locator(f'li[data-order-id="{order_id}"]').wait_for(timeout=10_000)
    assert page.evaluate("window.__loaded_once") is True  # the same page, not a reload
    assert page.locator(f'li[data-order-id="{elsewhere}"]').count() == 0
    shoot(page, "inbox-live")


@pytest.mark.parametrize(("username", "path", "name"), [
    (None, "/login", "login"),
    ("dispatcher", "/overview", "overview"),
    ("dispatcher", "/overview/report", "report"),
    ("admin", "/admin", "admin"),
    ("dispatcher", "/inbox?tab=open", "inbox-dispatcher"),
])
def test_every_page_renders(site: Site, open_page: OpenPage, shoot: Shoot, username: str | None,
                            path: str, name: str) -> None:
    page = open_page(username)
    response = page.goto(path)
    assert response.status == 200
    assert page.locator("h1").count() == 1
    shoot(page, name)


def test_the_language_switch_keeps_english_for_the_user(site: Site, open_page: OpenPage,
                                                       shoot: Shoot) -> None:
    page = open_page("auditor")
    page.goto("/overview")
    page.click("button[name=lang][value=en]")
    page.wait_for_load_state()
    assert page.inner_text("h1") == "Overview"
    shoot(page, "overview-en")
    again = open_page("auditor")  # another device: the account remembers
    again.goto("/overview")
    assert again.inner_text("h1") == "Overview"
    again.click("button[name=lang][value=zh]")
    again.wait_for_load_state()
    assert again.inner_text("h1") == "总览"
