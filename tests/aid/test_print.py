"""Print views, checked on the PDF Chromium prints from them: a 100-row ledger fits a few
landscape A4 sheets with readable columns, a school's 100-line signature roster a few
portrait ones, and twelve login slips two sheets."""
import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from aid.dropout.ledgers import Period
from aid.subsidies import services as subsidies
from tests.aid.subsidies.test_views import make_student, people, program  # noqa: F401
from tests.factories import BureauAdminFactory, StudentFactory, id_number_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

A4_SHORT, A4_LONG = 595, 842  # points


def pdf_pages(pdf):
    """(width, height) of each page of a PDF Chromium wrote: its /Type /Page objects, each
    with a /MediaBox."""
    pages = re.findall(rb"/Type\s*/Page(?![a-z])(.*?)endobj", pdf, re.S)
    sizes = []
    for page in pages:
        box = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", page)
        x0, y0, x1, y1 = (float(value) for value in box.groups())
        sizes.append((round(x1 - x0), round(y1 - y0)))
    return sizes


def logged_in_page(browser, live_server, user):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "pass12345")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def printed(page, url, artifacts, name):
    page.goto(url)
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (artifacts / f"{name}.pdf").write_bytes(pdf)
    page.screenshot(path=str(artifacts / f"{name}.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 700})
    return pdf_pages(pdf)


def tallest_row(page, selector):
    return page.evaluate(
        f"() => Math.max(...[...document.querySelectorAll('{selector} tbody tr')].map(r => r.getBoundingClientRect().height))"
    )


def test_a_hundred_row_ledger_prints_on_a_few_landscape_sheets(browser, live_server, artifacts, county):
    ten_years_old = timezone.localdate().replace(month=1, day=1) - datetime.timedelta(days=365 * 10)
    for n in range(100):
        StudentFactory(school=county["primary"], id_number=id_number_for(n, birth_date=ten_years_old), name=f"适龄{n}")
    bureau = BureauAdminFactory(region=county["county"])
    page = logged_in_page(browser, live_server, bureau)
    query = f"?kind=school_age&period={Period.current_month().label}"
    sizes = printed(page, f"{live_server.url}{reverse('aid:ledger_print')}{query}", artifacts, "ledger-print")
    assert page.locator("#print-ledger tbody tr").count() == 100
    assert 2 <= len(sizes) <= 5, sizes
    assert all(width > height for width, height in sizes), sizes
    assert all(sorted(size) == [A4_SHORT, A4_LONG] for size in sizes), sizes
    # Readable: no row is more than two lines high, so no column holds a character a line.
    assert tallest_row(page, "#print-ledger") < 40
    page.context.close()


def test_a_schools_signature_roster_prints_on_a_few_portrait_sheets(
    browser, live_server, artifacts, county, program, people  # noqa: F811
):
    for n in range(100):
        make_student(county["primary"], name=f"受助{n}")
    batch = subsidies.batch_create(actor=people["preparer"], program=program, term=county["term"], region=county["county"])
    page = logged_in_page(browser, live_server, people["first_admin"])
    url = f"{live_server.url}{reverse('aid:batch_roster_print', args=[batch.pk])}?school={county['primary'].pk}"
    sizes = printed(page, url, artifacts, "roster-print")
    assert page.locator("#print-roster tbody tr").count() == 100
    assert "50,000.00" in page.locator("#print-roster tfoot").inner_text()  # 100 × 500.00, grouped
    assert 2 <= len(sizes) <= 5, sizes
    assert all(height > width for width, height in sizes), sizes
    assert tallest_row(page, "#print-roster") < 60  # one line, with room to sign
    page.context.close()


def test_twelve_login_slips_print_on_two_sheets(browser, live_server, artifacts, county, people):  # noqa: F811
    from tests.factories import TeacherFactory

    teachers = [TeacherFactory(school=county["primary"]) for _ in range(12)]
    page = logged_in_page(browser, live_server, people["first_admin"])
    page.goto(f"{live_server.url}{reverse('aid:teacher_list')}")
    for teacher in teachers:
        page.check(f"input[name=teachers][value='{teacher.pk}']")
    with page.context.expect_page() as opened:
        page.click("#teacher-slips button[type=submit]")
    slips = opened.value
    slips.wait_for_selector("#login-slips")
    slips.emulate_media(media="print")
    pdf = slips.pdf(prefer_css_page_size=True, print_background=True)
    (artifacts / "login-slips.pdf").write_bytes(pdf)
    sizes = pdf_pages(pdf)
    assert slips.locator(".slip").count() == 12
    assert len(sizes) == 2 and all(height > width for width, height in sizes), sizes
    page.context.close()
