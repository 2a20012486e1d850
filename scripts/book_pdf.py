"""Print the book's single-page HTML build to a PDF with Debian's headless Chromium.

The single page (``jupyter-book build --builder singlehtml``, from the same notebooks as the site,
whose environment it reuses, so no chapter executes again) is opened in Chromium through its chromedriver, as the site test does; the script waits until
MathJax has typeset every formula and every figure has loaded (Jupyter Book marks them lazy, and a
lazy image outside the viewport would print blank), then asks Chromium for the PDF over the DevTools
protocol (``Page.printToPDF``): A4, the book's own print stylesheet (the theme hides its navigation
when printing), page numbers in the footer.

Usage: python scripts/book_pdf.py SINGLEHTML_BUILD_DIR OUT.pdf
"""

from __future__ import annotations

import base64
import shutil
import sys
import time
from pathlib import Path

MATHJAX_DEADLINE_S = 900  # the whole book typesets at once: about a minute on a loaded 2-core machine
IMAGES_DEADLINE_S = 120
PRINT_DEADLINE_S = 900
MM = 1 / 25.4  # inches per millimetre, the unit of printToPDF's sizes

FOOTER = ('<div style="font-size: 8px; width: 100%; text-align: center; color: #555;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


def chromium_driver():
    """Debian's headless Chromium and its chromedriver (the site test's browser)."""
    from headless_chromium import new_driver

    try:
        # driver.get returns at once; the page's loading is polled (wait_for_mathjax): a 5 MB page
        # can take longer to load than one driver call may last.
        driver, profile_dir = new_driver("infobounds-pdf-chromium-", page_load_strategy="none")
    except RuntimeError as missing:
        raise SystemExit(f"book_pdf: printing the PDF {missing}")
    # Printing a few hundred pages is one DevTools call that can outlast the default 120 s HTTP
    # timeout of a driver call (selenium keeps it in the connection's client config).
    driver.command_executor._client_config.timeout = PRINT_DEADLINE_S
    # MathJax typesets in long tasks on the page's one thread; a script call waits for them.
    driver.set_script_timeout(PRINT_DEADLINE_S)
    return driver, profile_dir


def wait_for_mathjax(driver, deadline_s: float) -> str:
    """'ok' once MathJax 3 has typeset the page (its startup promise resolved), else what went wrong.

    Polled in short calls: one script call may not outlast the driver's HTTP timeout (120 s), and
    typesetting the whole book can take longer than that.
    """
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        status = driver.execute_script(
            "const mj = window.MathJax;"
            "if (document.readyState === 'loading' || !(mj && mj.startup && mj.startup.promise)) return null;"
            "if (window.__bookTypeset === undefined) {"
            "  window.__bookTypeset = 'pending';"
            "  mj.startup.promise.then(() => { window.__bookTypeset = 'ok'; })"
            "    .catch(e => { window.__bookTypeset = 'error: ' + e; });"
            "}"
            "return window.__bookTypeset;")
        if status not in (None, "pending"):
            return status
        time.sleep(1)
    return f"not typeset after {deadline_s} s"


def load_every_image(driver, deadline_s: float) -> list[str]:
    """Make lazy images eager and wait for all of them; the sources of those that did not load."""
    driver.execute_script("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; });")
    end = time.monotonic() + deadline_s
    while True:
        broken = driver.execute_script(
            "return [...document.querySelectorAll('img')]"
            ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));")
        if not broken or time.monotonic() > end:
            return broken
        time.sleep(0.5)


def single_page(build: Path) -> Path:
    """The page of a single-page build, placed at the build's root.

    Sphinx writes it as the root document (``book/intro.html``) but with every link relative to the
    build's root (``_static/``, ``_images/``), so it is copied there before it is opened.
    """
    pages = [p for p in build.rglob("*.html") if p.name != "index.html" and not p.is_relative_to(build / "_static")
             and p.parent != build]
    if len(pages) != 1:
        raise SystemExit(f"book_pdf: expected one page in the single-page build {build}, found "
                         f"{[str(p.relative_to(build)) for p in pages] or 'none'} (run jupyter-book build --builder singlehtml)")
    page = build / "book-single-page.html"
    shutil.copyfile(pages[0], page)
    return page


def print_pdf(build: Path, out: Path) -> dict:
    """Print the single-page build in ``build`` to ``out``; the counts the caller reports."""
    page = single_page(build)
    driver, profile_dir = chromium_driver()
    try:
        start = time.monotonic()
        driver.get(page.resolve().as_uri())
        status = wait_for_mathjax(driver, MATHJAX_DEADLINE_S)
        print(f"book_pdf: page loaded and typeset in {time.monotonic() - start:.0f} s", file=sys.stderr)
        if status != "ok":
            raise SystemExit(f"book_pdf: MathJax did not typeset {page}: {status}")
        n_math = driver.execute_script("return document.querySelectorAll('mjx-container').length")
        n_errors = driver.execute_script("return document.querySelectorAll('mjx-merror').length")
        if n_errors:
            raise SystemExit(f"book_pdf: {n_errors} formulas of {page} failed to typeset")
        broken = load_every_image(driver, IMAGES_DEADLINE_S)
        if broken:
            raise SystemExit(f"book_pdf: {len(broken)} figures did not load, e.g. {broken[:3]}")
        typeset_s = time.monotonic() - start
        # Each page of the book (a chapter, the course page, an API page) starts a printed page: in a
        # single-page build every document is a section right after its <span id="document-...">.
        driver.execute_script(
            "const style = document.createElement('style');"
            "style.textContent = 'span[id^=\"document-\"] + section { break-before: page; }';"
            "document.head.appendChild(style);")
        print(f"book_pdf: figures loaded after {typeset_s:.0f} s; printing", file=sys.stderr)
        pdf = driver.execute_cdp_cmd("Page.printToPDF", {
            "paperWidth": 210 * MM, "paperHeight": 297 * MM,
            "marginTop": 16 * MM, "marginBottom": 16 * MM, "marginLeft": 15 * MM, "marginRight": 15 * MM,
            "printBackground": True, "displayHeaderFooter": True,
            "headerTemplate": "<div></div>", "footerTemplate": FOOTER,
        })
    finally:
        driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(pdf["data"]))
    return {"formulas": n_math, "typeset_s": round(typeset_s), "bytes": out.stat().st_size}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    start = time.monotonic()
    counts = print_pdf(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"book_pdf: {sys.argv[2]}: {counts['bytes'] / 1e6:.1f} MB, {counts['formulas']} formulas typeset in "
          f"{counts['typeset_s']} s, printed in {time.monotonic() - start:.0f} s")
