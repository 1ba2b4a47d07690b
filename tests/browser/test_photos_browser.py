"""Photographs in a real browser: two malar photographs uploaded at two
visits, the area's timeline opened from the body map, the two compared with
the slider by keyboard."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.photos import images

pytestmark = pytest.mark.browser


@pytest.fixture
def two_visits(patient_a, clinician_a, course_a):
    from patients.services import record_visit
    from photos.services import record_consent
    from clinical.instruments.exam import parse_exam

    record_consent(patient_a, level="teaching", given_on=dt.date(2025, 1, 6), recorded_by=clinician_a)
    return [
        record_visit(patient_a, date=day, exam=parse_exam(
            {"areas": {"nose_malar": {"erythema": erythema, "scale": 1}}}))
        for day, erythema in ((dt.date(2025, 1, 6), 3), (dt.date(2025, 3, 3), 1))
    ]


def test_upload_two_malar_photographs_then_compare_them_by_keyboard(
    sign_in, live_server, clinician_a, two_visits, tmp_path
):
    page = sign_in(clinician_a)
    first = tmp_path / "before.jpg"
    first.write_bytes(images.jpeg(size=(640, 480), color=(220, 60, 60), gps=True))
    second = tmp_path / "after.heic"  # an iPhone photograph
    second.write_bytes(images.heic(size=(640, 480)))

    # Visit 1: the area picked on the body map.
    page.goto(f"{live_server.url}/patients/visits/{two_visits[0].pk}/")
    page.get_by_role("link", name="Add or view photographs").click()
    page.locator("#id_photo-0-file").set_input_files(str(first))
    page.locator('fieldset[data-prefix="photo-0"] .region.pick[data-area="nose_malar"]').click()
    assert page.locator('input[name="photo-0-areas"][value="nose_malar"]').is_checked()
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("1 photograph added to the visit of 2025-01-06").wait_for()

    # Visit 2: the area ticked in the list.
    page.goto(f"{live_server.url}/photos/visits/{two_visits[1].pk}/")
    page.locator("#id_photo-0-file").set_input_files(str(second))
    page.locator('fieldset[data-prefix="photo-0"]').get_by_label(
        "Nose (including the malar area)").check()
    page.locator("#id_photo-0-caption").fill("After three months")
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("1 photograph added to the visit of 2025-03-03").wait_for()

    # The patient page links to the timeline; the body map is its index.
    page.goto(f"{live_server.url}/patients/{two_visits[0].patient_id}/")
    page.get_by_role("link", name="Photographs").click()
    page.locator('.index-map a[data-area="nose_malar"]').click()
    cards = page.locator("#area-panel .photo-card")
    cards.nth(1).wait_for()
    assert cards.count() == 2
    assert "2025-01-06" in cards.nth(0).inner_text() and "2025-03-03" in cards.nth(1).inner_text()
    assert "Area CLASI-A: 4 of 5" in cards.nth(0).inner_text()
    assert "Lenalidomide 5 mg daily" in cards.nth(0).inner_text()
    # Every thumbnail loaded (served through the access-checked view).
    # (Polled from here: wait_for_function evaluates a string in the page, which the CSP refuses.)
    for _ in range(100):
        if page.evaluate(
            "[...document.querySelectorAll('#area-panel img')].every(i => i.complete && i.naturalWidth > 0)"
        ):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the thumbnails did not load")

    page.get_by_role("button", name="Compare side by side").click()
    slider = page.get_by_label("share of the after photograph shown", exact=False)
    slider.focus()
    stage = page.locator("#slider-view")
    assert stage.get_attribute("data-shown") == "50"
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    assert stage.get_attribute("data-shown") == "30"
    assert "30% after (2025-03-03)" in slider.get_attribute("aria-valuetext")
    page.keyboard.press("End")
    assert stage.get_attribute("data-shown") == "100"
    assert page.locator("#slider-after").evaluate("e => e.style.clipPath") == "inset(0px 0% 0px 0px)"
    page.keyboard.press("Home")
    assert page.locator("#slider-after").evaluate("e => e.style.clipPath") == "inset(0px 100% 0px 0px)"
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)


def test_the_patient_page_shows_the_latest_thumbnails(sign_in, live_server, clinician_a, two_visits,
                                                       tmp_path):
    from tests.photos.conftest import stored_photo

    for k, visit in enumerate(two_visits * 2):
        stored_photo(visit, clinician_a, data=images.textured_jpeg(
            (800, 600) if k % 2 else (600, 800), (205 - 20 * k, 150, 130)))
    page = sign_in(clinician_a)
    page.goto(f"{live_server.url}/patients/{two_visits[0].patient_id}/")
    section = page.get_by_role("region", name="Recent photographs")
    thumbs = section.locator("img")
    assert thumbs.count() == 4
    section.scroll_into_view_if_needed()  # lazy: they load once near the viewport
    for _ in range(100):
        if page.evaluate("[...document.querySelectorAll('.recent-photos img')]"
                         ".every(i => i.complete && i.naturalWidth > 0)"):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the thumbnails did not load")
    # The width/height attributes are the file's own pixels; shown 96 px high.
    sizes = thumbs.evaluate_all(
        "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight, +i.getAttribute('width'), "
        "+i.getAttribute('height'), Math.round(i.getBoundingClientRect().height)])")
    for natural_w, natural_h, width, height, shown in sizes:
        assert (natural_w, natural_h) == (width, height)
        assert shown == 96
    assert "Consent: For the record and teaching (2025-01-06)" in section.inner_text()
    page.screenshot(path=str(tmp_path / "patient-thumbnails.png"), full_page=True)
