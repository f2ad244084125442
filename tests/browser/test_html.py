"""The rendered book opened in a real headless browser (Debian's chromium, driven by
Playwright).

For every page of ``_toc.yml``: it loads over http with no console error, no uncaught
exception and no failed request; every image decodes; every math element is typeset by
MathJax without error; no notebook error output is shown. ``make browser`` runs this
after ``make html-strict``.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"

# Known, harmless messages, allowed by their exact text and nothing broader.
ALLOWED_CONSOLE = {
    # sphinx-book-theme, on every page load
    "Got invalid theme mode: . Resetting to auto.",
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def toc_pages() -> list[str]:
    toc = (ROOT / "_toc.yml").read_text()
    files = re.findall(r"^\s*(?:root|-\s*file):\s*(\S+)", toc, flags=re.M)
    return [re.sub(r"\.(md|ipynb)$", "", f) + ".html" for f in files]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "chromium is not installed; `make browser` installs Debian's chromium"
        )
    return path


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").is_file():
        pytest.fail(
            f"{HTML.relative_to(ROOT)} has no index.html; build the book first (make "
            "html)"
        )
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield b
        b.close()


def _open(browser, url: str):
    """Load ``url``; return (page, problems) where problems are console errors, page
    errors, failed requests.
    """
    page = browser.new_page()
    problems: list[str] = []

    def on_console(msg):
        if msg.type == "error" and msg.text not in ALLOWED_CONSOLE:
            location = msg.location.get("url", "") if msg.location else ""
            # a page served over http asks for a favicon that may 404
            if "favicon.ico" in location:
                return
            problems.append(f"console {msg.type}: {msg.text} ({location})")

    def on_failed(request):
        if not request.url.endswith("favicon.ico"):
            problems.append(f"request failed: {request.url} ({request.failure})")

    def on_response(response):
        if response.status >= 400 and not response.url.endswith("favicon.ico"):
            problems.append(f"HTTP {response.status}: {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"uncaught exception: {exc}"))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    page.goto(url, wait_until="load")
    return page, problems


DECODE_IMAGES = """async () => {
  const bad = [];
  for (const img of Array.from(document.images)) {
    img.loading = "eager";
    try { await img.decode(); }
    catch (e) { bad.push(img.currentSrc || img.src); continue; }
    if (img.naturalWidth === 0) bad.push(img.currentSrc || img.src);
  }
  return {n: document.images.length, bad: bad};
}"""

TYPESET = """async () => {
  const n = document.querySelectorAll("span.math, div.math").length;
  if (n === 0) return {n: 0, rendered: 0, errors: 0, loaded: !!window.MathJax};
  const ready = () => window.MathJax && MathJax.startup && MathJax.startup.promise;
  for (let i = 0; i < 100 && !ready(); i++) {
    await new Promise(r => setTimeout(r, 100));
  }
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    return {n: n, rendered: 0, errors: 0, loaded: false};
  }
  await MathJax.startup.promise;
  return {n: n, rendered: document.querySelectorAll("mjx-container").length,
          errors: document.querySelectorAll("mjx-merror").length, loaded: true};
}"""


@pytest.mark.parametrize("page_path", toc_pages())
def test_page(server, browser, page_path):
    assert (HTML / page_path).is_file(), f"{page_path} was not rendered"
    page, problems = _open(browser, f"{server}/{page_path}")
    try:
        images = page.evaluate(DECODE_IMAGES)
        math = page.evaluate(TYPESET)
        errors_shown = page.locator(
            "div.output.error, div.cell_output .output.traceback"
        ).count()
    finally:
        page.close()
    assert not problems, f"{page_path}: " + "; ".join(problems)
    assert not images["bad"], f"{page_path}: images that do not decode: {images['bad']}"
    if math["n"]:
        assert math["loaded"], f"{page_path}: MathJax did not load"
        assert math["errors"] == 0, f"{page_path}: {math['errors']} MathJax errors"
        assert math["rendered"] >= math["n"], (
            f"{page_path}: {math['rendered']} of {math['n']} math elements typeset"
        )
    assert errors_shown == 0, f"{page_path}: shows {errors_shown} error outputs"


def test_book_has_math_and_figures(server, browser):
    """The checks above must not pass vacuously: the book shows figures and math
    somewhere.
    """
    n_img = n_math = 0
    for page_path in toc_pages():
        page, _ = _open(browser, f"{server}/{page_path}")
        try:
            n_img += page.evaluate(DECODE_IMAGES)["n"]
            n_math += page.evaluate(TYPESET)["rendered"]
        finally:
            page.close()
    assert n_img > 0, "no page of the book has an image"
    assert n_math > 0, "no page of the book has typeset math"
