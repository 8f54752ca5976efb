"""Notebooks as HTML: nbconvert renders the cells, :mod:`sanitize` makes the result inert.

Rendering takes time and memory that grow with the notebook (pygments, mistune, Jinja and
nh3 over every cell), so the server never renders in its own process: the render worker
processes (:mod:`render_worker`) call :func:`render_notebook`, under the limits
:mod:`previews` sets. A notebook is measured against a :class:`Budget` before it is
rendered.
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from jupyter_repo.repository.errors import InvalidInput, TooLarge
from jupyter_repo.repository.inspect.notebook import read_notebook
from jupyter_repo.server.web.sanitize import sanitize

if TYPE_CHECKING:  # nbconvert and nbformat are imported on first use (they take a while)
    from nbconvert import HTMLExporter
    from nbformat import NotebookNode

#: Bump when the rendering or the sanitising rules change: cached pages are then redone.
RENDERING_REVISION = 3


@cache
def renderer_id() -> str:
    return (
        f"notebook-html-{RENDERING_REVISION}/nbconvert-{version('nbconvert')}/nh3-{version('nh3')}"
    )


@dataclass(frozen=True)
class Budget:
    """How much a notebook may hold to be previewed; a larger one is offered as a download.

    Text is what costs: cell sources are highlighted by pygments and Markdown is parsed by
    mistune, outputs pass through nbconvert's filters and everything through nh3. Images
    are only copied, so they count towards the file's size alone.
    """

    max_cells: int = 2_000
    max_outputs: int = 5_000
    max_text_chars: int = 1 << 20


def _text_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(len(item) for item in value if isinstance(item, str))
    return 0


def check_budget(notebook: Any, budget: Budget) -> None:
    """Raise :class:`TooLarge` if ``notebook`` holds more than ``budget`` allows."""
    cells = notebook.get("cells", [])
    if len(cells) > budget.max_cells:
        raise TooLarge(
            f"It has {len(cells):,} cells; notebooks with more than "
            f"{budget.max_cells:,} are not previewed."
        )
    outputs = 0
    text = 0
    for cell in cells:
        text += _text_size(cell.get("source"))
        for output in cell.get("outputs", ()):
            outputs += 1
            text += _text_size(output.get("text")) + _text_size(output.get("traceback"))
            for mime, value in (output.get("data") or {}).items():
                if not mime.startswith("image/"):
                    text += _text_size(value)
    if outputs > budget.max_outputs:
        raise TooLarge(
            f"It has {outputs:,} outputs; notebooks with more than "
            f"{budget.max_outputs:,} are not previewed."
        )
    if text > budget.max_text_chars:
        raise TooLarge(
            f"It holds {text:,} characters of code, text and outputs; notebooks "
            f"with more than {budget.max_text_chars:,} are not previewed."
        )


@cache
def _exporter() -> HTMLExporter:
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class CellsExporter(HTMLExporter):
        """nbconvert's HTML exporter without its BeautifulSoup pass over the whole page.

        That pass (pure-Python HTML parsing and serialising) took about three quarters of
        the time on large notebooks, only to add placeholder alt texts and tabindexes to
        JupyterLab's classes, which the "basic" template does not use.
        """

        # Exporter says it returns a notebook; HTMLExporter overrides it (as here) with text.
        def from_notebook_node(  # type: ignore[override]
            self,
            nb: NotebookNode,
            resources: dict[str, Any] | None = None,
            **kw: Any,
        ) -> tuple[str, dict[str, Any]]:
            language = nb.metadata.get("language_info", {})
            lexer = language.get("pygments_lexer", language.get("name"))
            # nbconvert leaves these unannotated.
            resources = self._init_resources(resources)  # type: ignore[no-untyped-call]
            self.register_filter(  # type: ignore[no-untyped-call]
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
            )
            data_types = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter(  # type: ignore[no-untyped-call]
                "filter_data_type", data_types
            )
            result: tuple[str, dict[str, Any]] = TemplateExporter.from_notebook_node(
                self, nb, resources, **kw
            )
            return result

    # "basic" is the cells alone, without nbconvert's page, scripts and style sheets.
    # nbconvert's own clean_html (bleach over html5lib, in pure Python) and its
    # strip_files_prefix (a regular expression that back-tracks quadratically on unclosed
    # Markdown brackets) are left out: the whole result passes through nh3 anyway, and
    # "files/" links mean nothing on this server.
    return CellsExporter(  # type: ignore[no-untyped-call]
        template_name="basic",
        exclude_anchor_links=False,
        anchor_link_text="¶",
        embed_images=False,
        filters={"clean_html": _unchanged, "strip_files_prefix": _unchanged},
    )


def _unchanged(text: str | bytes) -> str:
    return text.decode() if isinstance(text, bytes) else str(text)


_lock = threading.Lock()  # one exporter, not thread-safe (workers render one at a time)


def render_notebook(
    data: bytes, filename: str = "notebook.ipynb", budget: Budget | None = None
) -> str:
    """Notebook bytes in, sanitised HTML of its cells out. Blocking, slow: see the module."""
    notebook = read_notebook(data, filename)
    budget = budget or Budget()
    check_budget(notebook, budget)
    with _lock, warnings.catch_warnings():
        # Without IPython installed nbconvert falls back to the Python lexer, warning each time.
        warnings.filterwarnings("ignore", message="IPython3 lexer unavailable")
        try:
            body, _resources = _exporter().from_notebook_node(notebook)
        except MemoryError:
            raise
        except Exception as error:  # e.g. a markdown cell naming a missing attachment
            raise InvalidInput(f"{filename} could not be rendered: {error}") from None
    return with_image_alt(sanitize(body))


#: An ``<img`` with no ``alt`` attribute in sanitised (nh3-serialised) HTML.
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)")


def with_image_alt(html: str) -> str:
    """Output images (nbconvert writes them without ``alt``) named for screen readers."""
    return _IMG_WITHOUT_ALT.sub('<img alt="Output of a code cell"', html)
