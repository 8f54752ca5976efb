"""docs/deploy.md shows the nginx configuration the scaled-out tests really use."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.paths import ROOT
from tests.support.services import Nginx

DOC = (ROOT / "docs" / "deploy.md").read_text()


def _block(name: str) -> str:
    match = re.search(rf"<!-- {name}:start -->\n```nginx\n(.*?)```\n<!-- {name}:end -->", DOC, re.S)
    assert match, f"docs/deploy.md lost its {name} block"
    return match.group(1)


def test_nginx_blocks_match_the_test_configuration(tmp_path: Path) -> None:
    nginx = Nginx(["10.0.0.11:8600", "10.0.0.12:8600"], root=tmp_path)
    assert _block("nginx-upstream") == nginx.upstream_block()
    assert _block("nginx-location") == nginx.location_block()
    assert _block("nginx-static-map") == nginx.static_map_block("/srv/jupyter-repo/static-indexes")
    assert _block("nginx-static-location") == nginx.static_location_block()
