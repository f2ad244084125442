"""The book's additions to its HTML, as a local Sphinx extension.

1. MathJax 3 is served from the book itself instead of a CDN. Readers may be offline,
   and the book's browser test runs with no internet. The files come from the
   ``django-static-mathjax`` wheel (pure static files, no Django needed at run time);
   they are copied to ``_static/mathjax`` and ``mathjax_path`` points there.
2. Each script is included once per page. Under Jupyter Book 1.0.4, sphinx-thebe's
   inline configuration script is registered twice, and the second copy throws
   "Identifier 'THEBE_JS_URL' has already been declared" in the browser on every page.
3. The book's stylesheet, ``book/_static/book.css``: code and outputs sized so that
   nothing scrolls sideways in the article column.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path


def _mathjax_dir() -> Path:
    root = Path(str(resources.files("mathjax"))) / "static" / "mathjax" / "es5"
    if not (root / "tex-mml-chtml.js").is_file():
        raise RuntimeError(
            f"MathJax files not found under {root}; install the book extras (make book)"
        )
    return root


def _copy(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if not (target / "tex-mml-chtml.js").is_file():
        shutil.copytree(_mathjax_dir(), target, dirs_exist_ok=True)


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # the two copies differ only in filename None versus "" (an inline script either
        # way)
        filename = getattr(script, "filename", script) or ""
        attributes = getattr(script, "attributes", {}) or {}
        key = (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


STATIC = Path(__file__).resolve().parents[1] / "_static"


def _static(app) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    _mathjax_dir()  # fail early, with a clear message, if the files are missing
    app.config.mathjax_path = "mathjax/tex-mml-chtml.js"
    app.connect("builder-inited", _static)
    app.add_css_file("book.css")
    app.connect("build-finished", _copy)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
