"""Every chapter page of the built site, as a reader's browser shows it.

Checks: maths rendered by MathJax with no error nodes; theorem and proof blocks present; no Python
traceback or error output; no broken internal link; every figure of an executed page loaded with a
non-zero size. A full-page screenshot of each page is saved for the record.
"""

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[2] / "chapters").glob("[0-9][0-9]_*.md"))


MATHJAX_DEADLINE_S = 45  # a loaded 2-core machine typesets a long chapter in a few seconds


def wait_for_mathjax(browser, deadline_s: float = MATHJAX_DEADLINE_S) -> str:
    """'ok' once MathJax 3 has typeset the page, else what went wrong.

    MathJax is a deferred script, so right after navigation ``window.MathJax`` may still be the
    configuration object without ``startup``: poll for the startup promise until the deadline,
    then wait for it (it resolves when the initial typesetting is done).
    """
    browser.set_script_timeout(deadline_s + 5)
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const limit = arguments[0], deadline = Date.now() + limit * 1000;"
        "(function poll() {"
        "  const mj = window.MathJax;"
        "  if (mj && mj.startup && mj.startup.promise) {"
        "    mj.startup.promise.then(() => done('ok')).catch(e => done('error: ' + e));"
        "  } else if (Date.now() > deadline) {"
        "    done('no MathJax after ' + limit + ' s');"
        "  } else { setTimeout(poll, 100); }"
        "})();",
        deadline_s,
    )


def mathjax_script_tags(page: Path) -> list[str]:
    """The ``<script>`` tags of a page's HTML that load a MathJax file: there must be exactly one.

    Read from the file, not the live DOM, where MathJax adds tags of its own when it autoloads a
    TeX extension (``\\boldsymbol`` loads ``input/tex/extensions/boldsymbol.js``).
    """
    return re.findall(r"<script[^>]*src=\"[^\"]*mathjax/[^\"]*\"[^>]*>", page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("chapter", [c.stem for c in CHAPTERS])
def test_chapter_page(chapter, site, browser, screenshot_dir):
    page = site / "chapters" / f"{chapter}.html"
    assert page.is_file(), f"{chapter} was not rendered"
    browser.get(page.as_uri())
    loads = mathjax_script_tags(page)
    assert len(loads) == 1 and "tex-chtml.js" in loads[0], f"MathJax must load once, got {loads}"
    status = wait_for_mathjax(browser)
    assert status == "ok", f"MathJax did not typeset the page: {status} (is mathjax/ in the site?)"

    n_math = browser.execute_script("return document.querySelectorAll('mjx-container').length")
    n_errors = browser.execute_script("return document.querySelectorAll('mjx-merror, .MathJax_Error').length")
    assert n_math > 20, f"only {n_math} formulas rendered"
    assert n_errors == 0, f"{n_errors} MathJax error nodes"

    n_theorems = browser.execute_script("return document.querySelectorAll('div.proof.theorem').length")
    # A proof is a div.proof without a theorem type (theorem, lemma, ...); a long one is folded
    # (class dropdown, book conventions) and still counts.
    n_proofs = browser.execute_script(
        "return [...document.querySelectorAll('div.proof')].filter(d => [...d.classList].every("
        "c => ['proof', 'admonition', 'dropdown'].includes(c))).length")
    assert n_theorems >= 1 and n_proofs >= 1, f"{n_theorems} theorems, {n_proofs} proofs"

    text = browser.execute_script("return document.body.innerText")
    assert "Traceback (most recent call last)" not in text
    n_error_outputs = browser.execute_script("return document.querySelectorAll('.output.traceback, .cell_output .error').length")
    assert n_error_outputs == 0

    figures = browser.execute_script(
        "return [...document.querySelectorAll('.cell_output img')].map(i => [i.src, i.complete, i.naturalWidth, i.naturalHeight])")
    assert figures, "an executed chapter shows at least one figure"
    broken = [src for src, complete, w, h in figures if not (complete and w > 0 and h > 0)]
    assert not broken, f"figures that did not load: {broken}"

    hrefs = browser.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    ids = set(browser.execute_script("return [...document.querySelectorAll('[id]')].map(e => e.id)"))
    dead = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme or href.startswith("mailto:"):
            continue
        if not parts.path:
            if parts.fragment and unquote(parts.fragment) not in ids:
                dead.append(href)
            continue
        if not (page.parent / unquote(parts.path)).resolve().exists():
            dead.append(href)
    assert not dead, f"broken internal links: {dead}"

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(int(height), 30000))
    browser.save_screenshot(str(screenshot_dir / f"{chapter}.png"))
    browser.set_window_size(1280, 1000)


def test_front_matter_pages(site, browser):
    for name in ["book/intro.html", "book/notation.html", "book/bibliography.html"]:
        browser.get((site / name).as_uri())
        # A page with maths loads MathJax exactly once; one without (the bibliography) may skip it.
        has_maths = 'class="math' in (site / name).read_text(encoding="utf-8")
        n_scripts = len(mathjax_script_tags(site / name))
        assert n_scripts == 1 if has_maths else n_scripts <= 1, f"{name} loads MathJax {n_scripts} times"
        if n_scripts:
            assert wait_for_mathjax(browser) == "ok"
        text = browser.execute_script("return document.body.innerText")
        assert "Traceback" not in text
    n_refs = browser.execute_script("return document.querySelectorAll('.citation, dl.citation > dt, div.citation').length")
    assert n_refs >= 10, f"the bibliography lists only {n_refs} references"


API_PAGE = "book/api/bounds.html"  # the page with the most maths in its docstrings


def test_api_page(site, browser):
    """An API reference page: its docstrings' maths typeset, its summary tables link to entries on
    the page, and no maths was left as raw TeX (a docstring written with Markdown's ``$...$``)."""
    page = site / API_PAGE
    assert page.is_file(), f"{API_PAGE} was not rendered"
    browser.get(page.as_uri())
    assert len(mathjax_script_tags(page)) == 1, f"{API_PAGE} must load MathJax once"
    assert wait_for_mathjax(browser) == "ok"
    n_math, n_typeset, n_errors = browser.execute_script(
        "const math = [...document.querySelectorAll('.math')];"
        "return [math.length, math.filter(m => m.querySelector('mjx-container')).length,"
        "        document.querySelectorAll('mjx-merror').length];")
    assert n_math > 20, f"only {n_math} formulas in the docstrings of {API_PAGE}"
    assert n_typeset == n_math, f"{n_math - n_typeset} of {n_math} formulas were not typeset"
    assert n_errors == 0, f"{n_errors} MathJax error nodes"
    text = browser.execute_script("return document.querySelector('main').innerText")
    raw = re.findall(r"\$[^$\n]*\\[A-Za-z]+[^$\n]*\$|\\\(|\\\[", text)
    assert not raw, f"maths left as raw TeX: {raw[:5]}"
    assert "Traceback" not in text
    entries = browser.execute_script("return [...document.querySelectorAll('dl.py > dt[id]')].map(d => d.id)")
    summary_links = browser.execute_script(
        "return [...document.querySelectorAll('table.autosummary a.reference')].map(a => a.getAttribute('href'))")
    assert len(entries) > 20 and summary_links, f"{len(entries)} entries, {len(summary_links)} summary links"
    dead = [href for href in summary_links if unquote(urlsplit(href).fragment) not in entries]
    assert not dead, f"summary links to no entry on the page: {dead[:5]}"
    source_links = browser.execute_script(
        "return [...document.querySelectorAll('a .viewcode-link')].map(s => s.parentElement.getAttribute('href'))")
    missing = [h for h in source_links if not (page.parent / unquote(urlsplit(h).path)).is_file()]
    assert source_links and not missing, f"{len(source_links)} [source] links, missing pages: {missing[:3]}"


def public_api() -> set[str]:
    """Every public module of infobounds (no dotted part starting with ``_``, plus the command line,
    ``infobounds.__main__``) and every public class and function defined in one (named in its
    ``__all__`` where it has one, else not starting with ``_``): what the API pages must document."""
    import importlib
    import inspect
    import pkgutil

    import infobounds

    modules = ["infobounds"] + [info.name for info in pkgutil.walk_packages(infobounds.__path__, "infobounds.")
                                if not any(part.startswith("_") for part in info.name.split(".")[1:])
                                or info.name == "infobounds.__main__"]
    names = set(modules)
    for module_name in modules:
        module = importlib.import_module(module_name)
        exported = getattr(module, "__all__", None)
        names |= {f"{module_name}.{name}" for name, obj in vars(module).items()
                  if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module_name
                  and (name in exported if exported is not None else not name.startswith("_"))}
    return names


def test_api_reference_covers_the_package(site):
    """The site's inventory holds an entry for every public module, class and function."""
    from sphinx.util.inventory import InventoryFile

    with open(site / "objects.inv", "rb") as inventory:
        documented = InventoryFile.load(inventory, "", lambda base, uri: uri)
    entries = {name for kind, objects in documented.items() if kind.startswith("py:") for name in objects}
    expected = public_api()
    assert len(expected) > 100, f"the package has only {len(expected)} public names: is it importable?"
    missing = sorted(expected - entries)
    assert not missing, f"{len(missing)} public names without an API entry, e.g. {missing[:10]}"


def download_menu_links(page: Path) -> dict[str, str]:
    """The entries of a page's download menu (the theme's header dropdown): link text -> href."""
    from bs4 import BeautifulSoup

    menu = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").select_one(".dropdown-download-buttons")
    if menu is None:
        return {}
    return {a.get_text(" ", strip=True): a["href"] for a in menu.select("a[href]")}


def page_source(site: Path, page: Path) -> Path | None:
    """The source a page was built from (Sphinx copies it to ``_sources/``); None for generated pages
    (the root's redirect, the indices, search), which have no download menu."""
    relative = page.relative_to(site).with_suffix("")
    return next((site / "_sources" / relative.parent).glob(f"{relative.name}.*"), None)


def test_download_menu_offers_the_book_pdf(site, book_pdf):
    """Every page's download menu links the whole-book PDF, and the link reaches a PDF of the book.

    From any page (a chapter, a front-matter page, an API page, pages in subfolders and at the root)
    the entry's relative link must resolve to the file under the site's root, which must be a PDF
    of the whole book, not of one page (tests/test_pdf.py reads the printed book itself)."""
    pages = [page for page in sorted(site.rglob("*.html")) if page_source(site, page) is not None]
    assert len(pages) > 25, f"only {len(pages)} pages of the book's sources in {site}"
    target = (site / book_pdf).resolve()
    problems = []
    for page in pages:
        links = {text: href for text, href in download_menu_links(page).items() if "book" in text}
        if len(links) != 1:
            problems.append(f"{page.relative_to(site)}: download menu entries for the book: {sorted(links)}")
            continue
        href = unquote(urlsplit(next(iter(links.values()))).path)
        if (page.parent / href).resolve() != target:
            problems.append(f"{page.relative_to(site)}: the book's entry links {href}, not {book_pdf}")
    assert not problems, f"{len(problems)} of {len(pages)} pages: " + "; ".join(problems[:5])
    assert target.is_file(), f"the site offers {book_pdf}, but {target} does not exist"
    with open(target, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-", f"{target} is not a PDF"
    size_mb = target.stat().st_size / 1e6
    assert size_mb > 5, f"{target} has {size_mb:.1f} MB: not the whole book (its hundreds of pages take tens of MB)"
