"""In Chromium: the bureau's dashboard draws its charts, and a figure leads to its list."""
import io
import re

import pytest
from django.core.management import call_command

from aid.dropout.models import DropoutCase

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_dashboard_charts_render_and_a_figure_opens_its_list(browser, live_server, artifacts, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-2020")
    call_command("seed_demo", students=300, seed=2, stdout=io.StringIO())
    open_cases = DropoutCase.objects.open().count()
    assert open_cases > 0

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "bureau")
    page.fill("input[name=password]", "demo-pass-2020")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.wait_for_selector("canvas[data-ready=true]")
    charts = page.evaluate(
        """() => [...document.querySelectorAll('.chart-box canvas')].map(canvas => {
            const chart = Chart.getChart(canvas);
            return {id: canvas.id, points: chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0,
                    height: canvas.getBoundingClientRect().height};
        })"""
    )
    assert {chart["id"] for chart in charts} >= {"chart-students", "chart-pairing", "chart-coverage"}
    assert all(chart["points"] > 0 and chart["height"] > 100 for chart in charts), charts
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)

    figure = page.locator("[data-figure=cases] .value")
    assert figure.inner_text() == str(open_cases)
    page.click("[data-figure=cases]")
    page.wait_for_url("**/aid/cases/**")
    rows = page.locator("table tbody tr")
    assert rows.count() == min(open_cases, 50)
    context.close()


@pytest.mark.django_db(transaction=True)
def test_dashboard_prints_on_one_a4_page(browser, live_server, artifacts, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-2020")
    call_command("seed_demo", students=200, seed=4, stdout=io.StringIO())
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "bureau")
    page.fill("input[name=password]", "demo-pass-2020")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("canvas[data-ready=true]")
    pdf = page.pdf(format="A4", print_background=True)
    (artifacts / "dashboard.pdf").write_bytes(pdf)
    page_counts = [int(n) for n in re.findall(rb"/Count (\d+)", pdf)]
    assert page_counts and max(page_counts) == 1, page_counts
    context.close()
