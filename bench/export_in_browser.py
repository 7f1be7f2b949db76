"""A large export as a clerk makes it: in Chromium, against the production stack (`make serve`).

Run it through bench/export-in-browser, which starts a throwaway PostgreSQL, seeds the county,
starts `make serve` (gunicorn and the background worker) and then this script:

    bench/export-in-browser                   # 200,000 students
    bench/export-in-browser --students 20000  # a quick run

The script logs in as the bureau account, opens the student list, clicks its export, reads the
progress page every second (the bar, "rows done of total", the time left) until the file is
ready, then opens "my downloads" and downloads the file from there, and counts its rows. It
prints the samples and a summary: seconds until the first progress, until ready, the rows, the
file's size. Timing is the browser's wall clock: the page, the worker and PostgreSQL share the
machine, as on a small bureau server.
"""
import argparse
import io
import sys
import time

from openpyxl import load_workbook
from playwright.sync_api import sync_playwright

CHROMIUM_ARGUMENTS = [
    "--no-sandbox", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="bureau")
    parser.add_argument("--password", default="demo12345")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--timeout", type=int, default=900, help="seconds to wait for the file")
    arguments = parser.parse_args()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=arguments.chromium, args=CHROMIUM_ARGUMENTS)
        page = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
        page.goto(f"{arguments.url}/login/")
        page.fill("input[name=username]", arguments.username)
        page.fill("input[name=password]", arguments.password)
        page.click("#login-form button[type=submit]")
        page.wait_for_load_state()
        if "/login/" in page.url:
            sys.exit(f"{arguments.username} could not log in: {page.inner_text('main')[:300]}")
        page.goto(f"{arguments.url}/students/")
        if not page.is_visible("#export-students"):
            sys.exit(f"the student list has no export button: {page.inner_text('body')[:300]}")
        started = time.monotonic()
        page.click("#export-students")
        page.wait_for_selector("#job-progress")
        samples = watch_progress(page, started, arguments.timeout)
        ready = time.monotonic() - started
        page.goto(f"{arguments.url}/downloads/")
        with page.expect_download(timeout=120_000) as download:
            page.click("#downloads tbody tr:first-child a")
        content = open(download.value.path(), "rb").read()
        browser.close()

    rows = sum(1 for _row in load_workbook(io.BytesIO(content), read_only=True).active.iter_rows()) - 1
    first_progress = next((seconds for seconds, percent, _text in samples if percent), None)
    print("seconds  percent  rows and time left")
    for seconds, percent, text in samples:
        print(f"{seconds:7.1f}  {percent:>6}%  {text}")
    print(f"\nfirst progress after {first_progress} s; ready after {ready:.1f} s; "
          f"{rows:,} rows; {len(content) / 1e6:.1f} MB downloaded from my downloads")
    return 0 if rows > 0 else 1


def watch_progress(page, started, timeout):
    samples = []
    while time.monotonic() - started < timeout:
        status = page.get_attribute("#job", "data-status")
        value = page.get_attribute("#job-progress", "value") or "0"
        text = f'{page.inner_text("#job-rows")} {page.inner_text("#job-left")}'.strip()
        samples.append((round(time.monotonic() - started, 1), value, text))
        if page.is_visible("#job-download"):
            return samples
        if page.is_visible("#job-error"):
            sys.exit(f"the export failed: {page.inner_text('#job-error')} ({status})")
        page.wait_for_timeout(1000)
    sys.exit(f"no file after {timeout} s")


if __name__ == "__main__":
    sys.exit(main())
