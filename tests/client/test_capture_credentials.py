"""Publishing the environment of a prefix whose conda packages came from a private channel.

py-rattler (like conda) records the channel URL it was given in ``conda-meta/``, token and
all: ``jupyter repo env create`` and ``install`` link from ``.../conda/t/<token>/<owner>``.
Capturing such an environment (``publish env --prefix``, a notebook's *attach
environment*) must publish the channel and package URLs without the token, for anyone who
reads the environment to see; and a venv with conda packages linked in (no conda
``python``) must still pin the Python it runs, which its pip lock was made for.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import requests
import yaml

from jupyter_repo.client.install import conda_install
from tests.support import processes, publish
from tests.support.environments import make_venv
from tests.support.lab import isolated_jupyter_env
from tests.support.server import RepoServer

PYTHON_FULL = "{}.{}.{}".format(*sys.version_info[:3])

#: How the token reaches the channel URL that py-rattler records.
CHANNEL_SPELLINGS = {
    "token-after-conda": "{url}/conda/t/{token}/{owner}",
    "token-at-the-root": "{url}/t/{token}/conda/{owner}",
    "token-after-conda-with-query": "{url}/conda/t/{token}/{owner}",
}


@pytest.mark.parametrize("spelling", sorted(CHANNEL_SPELLINGS))
def test_publish_env_of_a_prefix_never_publishes_its_channel_token(
    server: RepoServer, user: str, unique: str, tmp_path: Path, spelling: str
) -> None:
    token = server.token(user)
    conda_name = f"jrx-{unique}"
    publish.conda(server, token, user, tmp_path / "conda", conda_name, "1.0", private=True)
    prefix = make_venv(tmp_path / "env", [])
    (prefix / "conda-meta").mkdir()
    channel = CHANNEL_SPELLINGS[spelling].format(url=server.url, token=token, owner=user)
    conda_install(prefix, [channel], [f"{conda_name}==1.0"], log=lambda _line: None)
    record_path = prefix / "conda-meta" / f"{conda_name}-1.0-0.json"
    record = json.loads(record_path.read_text())
    if spelling.endswith("with-query"):  # a signed URL (a mirror, an object store)
        record["url"] += f"?X-Amz-Signature={token}&token={token}"
        record_path.write_text(json.dumps(record))
    assert token in record_path.read_text()  # the premise: rattler kept the token

    name = f"captured-{unique}"
    command = [sys.executable, "-m", "jupyter_repo", "publish", "env"]
    done = processes.run(
        [*command, "--prefix", str(prefix), "--name", name],
        env={
            **isolated_jupyter_env(tmp_path / "jupyter"),
            "JUPYTER_REPO_URL": server.url,
            "JUPYTER_REPO_TOKEN": token,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert token not in done.stdout + done.stderr

    # What any reader downloads of it.
    headers = {"Authorization": f"token {token}"}
    listing = requests.get(f"{server.api}/package/{user}/{name}", headers=headers, timeout=30)
    assert listing.status_code == 200, listing.text
    files = {}
    for item in listing.json()["files"]:
        response = requests.get(
            f"{server.api}/download/{user}/{name}/{item['version']}/{item['basename']}",
            headers=headers,
            timeout=30,
        )
        assert response.status_code == 200
        files[item["basename"]] = response.text
    assert set(files) == {"environment.yml", "requirements.txt", "conda-explicit.txt"}
    for basename, text in files.items():
        assert token not in text, (basename, text)
        assert "/t/" not in text and "?" not in text.replace("# ", ""), (basename, text)
    explicit = [line for line in files["conda-explicit.txt"].splitlines() if "://" in line]
    assert [line.split("#")[0] for line in explicit] == [
        f"{server.url}/conda/{user}/noarch/{conda_name}-1.0-0.conda"
    ]
    document = yaml.safe_load(files["environment.yml"])
    assert document["channels"] == [f"{server.url}/conda/{user}"]
    assert document["dependencies"][:2] == [f"python={PYTHON_FULL}", f"{conda_name}=1.0=0"]
