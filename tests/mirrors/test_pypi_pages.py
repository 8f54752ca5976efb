"""What a PyPI mirror reads from an upstream page, and which files fit its targets.

The parsers meet upstream pages nobody here controls: each case is a page (or a hostile
variant) and what the mirror must make of it. The targets decide which wheels a site with
given Python versions and platforms needs; the cases are installers' own answers
(``packaging.tags``) for common wheels.
"""

from __future__ import annotations

import json

import pytest
from packaging.markers import Marker

from jupyter_repo.mirroring.pypi_pages import IndexFile, parse_page
from jupyter_repo.mirroring.pypi_targets import Targets

PAGE = "http://up.example/t/secret/simple/demo/"
SHA = "a" * 64
META = "b" * 64


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            f'<a href="../../f/demo-1.0.tar.gz#sha256={SHA}" data-requires-python="&gt;=3.9"'
            f' data-yanked="bad &amp; old" data-core-metadata="sha256={META}">demo-1.0.tar.gz</a>',
            IndexFile("demo-1.0.tar.gz", "http://up.example/t/secret/f/demo-1.0.tar.gz", SHA,
                      requires_python=">=3.9", yanked=True, yanked_reason="bad & old",
                      has_metadata=True, metadata_sha256=META),
        ),
        (
            '<A HREF="demo-1.0-py3-none-any.whl#md5=00" data-yanked'
            ' data-dist-info-metadata="true">'
            "demo-1.0-py3-none-any.whl</A>",
            IndexFile("demo-1.0-py3-none-any.whl", PAGE + "demo-1.0-py3-none-any.whl", None,
                      yanked=True, has_metadata=True),
        ),
        ('<a href="javascript:alert(1)">demo-1.0.tar.gz</a><a>no href</a>', None),
        ('<a href="https://files.example/demo-1.0.zip">  </a>',
         IndexFile("demo-1.0.zip", "https://files.example/demo-1.0.zip")),
    ],
    ids=["all-attributes", "bare-yank-md5-only", "not-http", "name-from-url"],
)  # fmt: skip
def test_html_pages(body: str, expected: IndexFile | None) -> None:
    files = parse_page(body.encode(), "text/html; charset=utf-8", PAGE).files
    assert files == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"name": "Demo", "files": [{
                "filename": "demo-1.0-py3-none-any.whl", "url": "demo-1.0-py3-none-any.whl",
                "hashes": {"sha256": SHA.upper()}, "size": 12, "yanked": "why",
                "requires-python": ">=3.8", "core-metadata": {"sha256": META}}]},
            IndexFile("demo-1.0-py3-none-any.whl", PAGE + "demo-1.0-py3-none-any.whl", SHA, 12,
                      ">=3.8", True, "why", True, META),
        ),
        (
            {"files": [{"filename": "demo-1.0.tar.gz", "url": "/x/demo-1.0.tar.gz",
                        "hashes": {"sha256": "short"}, "size": -1, "yanked": True,
                        "dist-info-metadata": True}]},
            IndexFile("demo-1.0.tar.gz", "http://up.example/x/demo-1.0.tar.gz", None, None,
                      None, True, "", True, None),
        ),
        ({"files": [{"filename": "x.whl", "url": "file:///etc/passwd"}, "junk", {"url": 3}]}, None),
        ({"files": "not a list"}, None),
        ([1, 2], None),
    ],
    ids=["full", "odd-values", "hostile-urls", "files-not-a-list", "not-an-object"],
)  # fmt: skip
def test_json_pages(document: object, expected: IndexFile | None) -> None:
    body = json.dumps(document).encode()
    files = parse_page(body, "application/vnd.pypi.simple.v1+json", PAGE).files
    assert files == ([expected] if expected else [])


def test_json_that_does_not_parse_is_an_empty_page() -> None:
    assert parse_page(b"{", "application/vnd.pypi.simple.v1+json", PAGE).files == []


@pytest.mark.parametrize(
    ("pythons", "platforms", "filename", "fits"),
    [
        ((), (), "x-1.0-cp38-cp38-win32.whl", True),
        (("3.12",), (), "x-1.0-py3-none-any.whl", True),
        (("3.12",), (), "x-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", True),
        (("3.12",), (), "x-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", False),
        (("3.12",), (), "x-1.0-cp39-abi3-manylinux_2_17_x86_64.whl", True),
        (("3.12",), (), "x-1.0-py2-none-any.whl", False),
        (("3.12",), ("manylinux_2_28_x86_64",), "x-1.0-cp312-cp312-manylinux2014_x86_64.whl", True),
        (("3.12",), ("manylinux_2_17_x86_64",), "x-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
         False),
        (("3.12",), ("manylinux_2_28_x86_64",), "x-1.0-cp312-cp312-manylinux_2_17_aarch64.whl",
         False),
        (("3.12",), ("manylinux_2_28_x86_64",), "x-1.0-cp312-cp312-musllinux_1_2_x86_64.whl",
         False),
        (("3.12",), ("linux_x86_64",), "x-1.0-cp312-cp312-manylinux_2_34_x86_64.whl", True),
        (("3.12",), ("win_amd64",), "x-1.0-cp312-cp312-win_amd64.whl", True),
        (("3.12",), ("win_amd64",), "x-1.0-cp312-cp312-win32.whl", False),
        (("3.12",), ("macosx_14_0_arm64",), "x-1.0-cp312-cp312-macosx_11_0_universal2.whl", True),
        (("3.12",), ("macosx_11_0_arm64",), "x-1.0-cp312-cp312-macosx_14_0_arm64.whl", False),
        (("3.12",), ("win_amd64",), "x-1.0-py3-none-any.whl", True),
        (("3.12",), (), "not-a-wheel.whl", False),
    ],
)  # fmt: skip
def test_which_wheels_fit_the_targets(
    pythons: tuple[str, ...], platforms: tuple[str, ...], filename: str, fits: bool
) -> None:
    assert Targets(pythons, platforms).wheel_fits(filename) is fits


@pytest.mark.parametrize(
    ("pythons", "requires_python", "fits"),
    [(("3.9",), ">=3.10", False), (("3.9", "3.12"), ">=3.10", True), ((), ">=4", True),
     (("3.12",), "not a specifier", True), (("3.12",), None, True)],
)  # fmt: skip
def test_requires_python_against_the_targets(
    pythons: tuple[str, ...], requires_python: str | None, fits: bool
) -> None:
    assert Targets(pythons).requires_python_fits(requires_python) is fits


@pytest.mark.parametrize(
    ("platforms", "marker", "extras", "holds"),
    [
        (("win_amd64",), 'sys_platform == "win32" and platform_machine == "AMD64"', (), True),
        (("manylinux_2_28_aarch64",), 'platform_machine == "aarch64"', (), True),
        (("manylinux_2_28_x86_64",), 'sys_platform == "win32"', (), False),
        (("macosx_14_0_arm64",), 'platform_system == "Darwin"', (), True),
        ((), 'os_name == "nt"', (), True),  # no platforms: any of the common ones
        (("win_amd64",), 'extra == "more"', (), False),
        (("win_amd64",), 'extra == "more"', ("more",), True),
    ],
)  # fmt: skip
def test_markers_are_evaluated_for_the_targets(
    platforms: tuple[str, ...], marker: str, extras: tuple[str, ...], holds: bool
) -> None:
    assert Targets(("3.12",), platforms).marker_holds(Marker(marker), extras) is holds
