"""A notebook whose every part tries to run script or reach the network.

Each payload, if it ran, would open a dialog, write to the console or request
``beacon`` (a URL the tests watch), so a test can tell that nothing ran.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def html_payloads(beacon: str) -> str:
    """HTML that tries everything: scripts, handlers, javascript: URLs, frames, loads."""
    return f"""
<script>alert("script-tag"); console.log("script-tag"); fetch("{beacon}/script");</script>
<script src="{beacon}/external.js"></script>
<img src="x" onerror="alert('onerror')">
<img src="{beacon}/remote.png" alt="remote image">
<img srcset="{beacon}/srcset.png 2x" alt="srcset">
<a id="js-link" href="javascript:alert('javascript-link')">click-js</a>
<a href="JaVaScRiPt:alert('mixed-case')">click-js-2</a>
<a href="data:text/html,<script>alert('data-link')</script>">click-data</a>
<iframe src="javascript:alert('iframe-js')"></iframe>
<iframe srcdoc="<script>alert('srcdoc')</script>"></iframe>
<iframe src="{beacon}/frame.html"></iframe>
<object data="{beacon}/object.swf"></object>
<embed src="{beacon}/embed.swf">
<svg onload="alert('svg-onload')"><script>alert('svg-script')</script>
  <image href="{beacon}/svg-image.png"></image></svg>
<math><mtext><a href="javascript:alert('mathml')">math</a></mtext></math>
<details open ontoggle="alert('ontoggle')"><summary>details</summary>x</details>
<div onmouseover="alert('mouseover')"
     style="background:url({beacon}/bg.png);width:99px">hover me</div>
<style>@import url("{beacon}/import.css"); body {{ background: url("{beacon}/style.png"); }}</style>
<link rel="stylesheet" href="{beacon}/link.css">
<link rel="prefetch" href="{beacon}/prefetch">
<meta http-equiv="refresh" content="0;url=javascript:alert('meta-refresh')">
<base href="{beacon}/">
<form action="{beacon}/form"><input name="q" autofocus onfocus="alert('onfocus')">
  <button formaction="javascript:alert('formaction')">send</button></form>
<video poster="{beacon}/poster.png" src="{beacon}/video.mp4"></video>
<audio src="{beacon}/audio.mp3" autoplay></audio>
<input type="image" src="{beacon}/input.png">
<a href="https://example.org/" ping="{beacon}/ping">ping link</a>
<body onload="alert('body-onload')"></body>
<noscript><p title="</noscript><img src=x onerror=alert('noscript')>"></p></noscript>
"""


SVG_WITH_SCRIPT = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="alert(\'svg-img\')">'
    "<script>alert('svg-img-script')</script><rect width='20' height='20' fill='blue'/></svg>"
)


def hostile_notebook(beacon: str) -> dict[str, Any]:
    """The notebook as JSON (valid nbformat 4)."""
    payloads = html_payloads(beacon)
    attachment_cell = new_markdown_cell(
        "Attachments: ![svg](attachment:evil.svg) ![html](attachment:evil.html) "
        f"![remote]({beacon}/markdown-image.png) [click-md](javascript:alert('markdown-link'))"
    )
    attachment_cell["attachments"] = {
        "evil.svg": {"image/svg+xml": _b64(SVG_WITH_SCRIPT)},
        "evil.html": {"text/html": _b64("<script>alert('attachment-html')</script>")},
    }
    cells = [
        new_markdown_cell("# Hostile notebook\n\nMarkdown with raw HTML:\n\n" + payloads),
        attachment_cell,
        new_code_cell(
            "display(HTML(payloads))",
            execution_count=1,
            outputs=[
                new_output("display_data", data={"text/html": payloads, "text/plain": "<HTML>"}),
                new_output(
                    "execute_result",
                    execution_count=1,
                    data={
                        "text/html": "<b onclick=\"alert('result')\">result</b>"
                        "<script>alert('execute-result')</script>",
                        "text/plain": "result",
                    },
                ),
                new_output(
                    "display_data", data={"application/javascript": "alert('javascript-output')"}
                ),
                new_output(
                    "display_data",
                    data={
                        "text/markdown": "<script>alert('markdown-output')</script>"
                        "[md](javascript:alert('md-output-link'))"
                    },
                ),
                new_output("display_data", data={"image/svg+xml": SVG_WITH_SCRIPT}),
                new_output(
                    "display_data",
                    data={"text/html": payloads},
                    metadata={"text/html": {"isolated": True}},
                ),
                new_output(
                    "display_data",
                    data={
                        "application/vnd.jupyter.widget-view+json": {
                            "model_id": "abc",
                            "version_major": 2,
                            "version_minor": 0,
                        },
                        "text/plain": "widget",
                    },
                ),
            ],
        ),
        new_raw_cell("<script>alert('raw-cell')</script>", metadata={"raw_mimetype": "text/html"}),
    ]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {},
            "version_major": 2,
            "version_minor": 0,
        }
    }
    nbformat.validate(notebook)
    return json.loads(nbformat.writes(notebook))
