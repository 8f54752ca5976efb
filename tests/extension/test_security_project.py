"""Finding 5 (issue 15): publishing a project packed credential files.

A folder holding the seven files of the finding (``.kube/config``, ``.docker/config.json``,
``.npmrc``, ``.pgpass``, ``.bash_history``, ``.config/gcloud/credentials.db``,
``.gitconfig``), variants of them (nested, other histories, private keys by name and by
content, a ``.gitignore`` negation asking for one), hidden files and normal files is
published through the real endpoints of a real Jupyter server; the archive is downloaded
from the real repository and its members checked. The CLI's preview, dry run and refusal
without a terminal run the real ``jupyter repo`` command.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.extension.conftest import Fetch, call, run_task, write_notebook
from tests.extension.test_cli import CLI
from tests.support.server import RepoServer

#: The seven files of the finding.
FINDING_FILES = (
    ".kube/config",
    ".docker/config.json",
    ".npmrc",
    ".pgpass",
    ".bash_history",
    ".config/gcloud/credentials.db",
    ".gitconfig",
)
#: Variants: nested copies, other histories and tools, keys by name.
VARIANT_CREDENTIALS = (
    "sub/.npmrc",
    "sub/deeper/.kube/config",
    "sub/.zsh_history",
    ".python_history",
    ".git-credentials",
    ".netrc",
    ".pypirc",
    ".env",
    "sub/.env.production",
    ".aws/credentials",
    ".ssh/id_ed25519",
    "deploy/id_rsa",
    "keys/server.pem",
    "keys/tls.key",
    "vault.kdbx",
    "sub/.config/gcloud/application_default_credentials.json",
    ".azure/accessTokens.json",
)
#: Not called like a key, but holding one.
DISGUISED_KEY = "notes/backup.txt"
PRIVATE_KEY = (
    b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
    b"-----END OPENSSH PRIVATE KEY-----\n"
)
#: Hidden, but no credentials: in with include_hidden only.
HIDDEN_PLAIN = (".gitignore", ".notes.md", ".settings/prefs.json", "data/.cache-index")
#: What is published by default.
NORMAL = ("README.md", "analysis.ipynb", "data/rain.csv", "requirements.txt")
SECRET = "s3cr3t-do-not-publish"


def make_credential_project(root: Path, name: str = "Cred Project") -> Path:
    project = root / name
    write_notebook(project, "analysis.ipynb")
    (project / "README.md").write_text("# Rain\n")
    (project / "requirements.txt").write_text("numpy==1.26.4\n")
    (project / "data").mkdir(exist_ok=True)
    (project / "data" / "rain.csv").write_text("day,mm\n1,3.5\n")
    for relative in FINDING_FILES + VARIANT_CREDENTIALS:
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"token={SECRET}\n")
    (project / DISGUISED_KEY).parent.mkdir(parents=True, exist_ok=True)
    (project / DISGUISED_KEY).write_bytes(PRIVATE_KEY)
    for relative in HIDDEN_PLAIN:
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("plain\n")
    # A .gitignore negation asks for .npmrc and the history back: it does not get them.
    (project / ".gitignore").write_text("!.npmrc\n!.bash_history\n!*.pem\n")
    return project


def members(archive: bytes, top: str) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = sorted(tar.getnames())
        texts = b"".join(
            tar.extractfile(member).read()  # type: ignore[union-attr]
            for member in tar.getmembers()
            if member.isfile()
        )
    assert SECRET.encode() not in texts and b"PRIVATE KEY" not in texts
    return [name[len(top) + 1 :] for name in names]


def download(repo_api: Any, server: RepoServer, owner: str, name: str, version: str) -> bytes:
    response = repo_api.get(f"{server.api}/download/{owner}/{name}/{version}/{name}.tar.gz")
    assert response.status_code == 200, response.text
    return response.content


async def test_finding_5_project_publish_leaves_credentials_and_hidden_files_out(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    server: RepoServer,
    user: str,
    repo_api: Any,
) -> None:
    make_credential_project(Path(jp_root_dir))

    # The preview lists what would go, counted and sized, before anything is uploaded.
    status, preview = await call(
        jp_fetch, "publish", "project", "preview", method="POST", body={"path": "Cred Project"}
    )
    assert status == 200, preview
    assert sorted(item["path"] for item in preview["files"]) == list(NORMAL)
    assert preview["file_count"] == len(NORMAL)
    assert preview["total_size"] == sum(
        (Path(jp_root_dir) / "Cred Project" / path).stat().st_size for path in NORMAL
    )
    reasons = {item["path"]: item["reason"] for item in preview["excluded"]}
    for hidden in (".kube/", ".docker/", ".config/", ".notes.md", ".settings/", ".gitignore"):
        assert hidden in reasons, hidden
    assert {
        ".npmrc",
        ".pgpass",
        ".bash_history",
        ".gitconfig",
        ".env",
        "deploy/id_rsa",
        "keys/server.pem",
        DISGUISED_KEY,
    } <= set(preview["credentials"])
    assert repo_api.get(f"{server.api}/package/{user}/cred-project").status_code == 404

    # Published by default (publicly): none of them is in the archive.
    task = await run_task(jp_fetch, "publish/project", {"path": "Cred Project", "namespace": user})
    assert task["state"] == "succeeded", task["error"]
    assert members(download(repo_api, server, user, "cred-project", "1"), "cred-project") == list(
        NORMAL
    )


async def test_finding_5_include_hidden_still_never_packs_credentials(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    server: RepoServer,
    user: str,
    repo_api: Any,
) -> None:
    make_credential_project(Path(jp_root_dir))
    status, preview = await call(
        jp_fetch,
        "publish",
        "project",
        "preview",
        method="POST",
        body={"path": "Cred Project", "include_hidden": True},
    )
    assert status == 200, preview
    expected = sorted(NORMAL + HIDDEN_PLAIN)
    assert sorted(item["path"] for item in preview["files"]) == expected
    denied = set(preview["credentials"])
    for relative in FINDING_FILES + VARIANT_CREDENTIALS + (DISGUISED_KEY,):
        # Each one is named, or the folder holding it is (.kube/, .aws/, .ssh/ ...).
        assert any(relative == path or relative.startswith(path) for path in denied), relative

    task = await run_task(
        jp_fetch,
        "publish/project",
        {"path": "Cred Project", "namespace": user, "name": "cred-hidden", "include_hidden": True},
    )
    assert task["state"] == "succeeded", task["error"]
    assert members(download(repo_api, server, user, "cred-hidden", "1"), "cred-hidden") == expected


@pytest.mark.parametrize("folder", [".config/gcloud", ".kube", ".aws"])
async def test_finding_5_a_credential_folder_named_directly_packs_nothing(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    jp_serverapp: Any,
    server: RepoServer,
    user: str,
    repo_api: Any,
    folder: str,
) -> None:
    """Publishing ``.config/gcloud`` or ``.kube`` itself (the contents manager allowing
    hidden paths): the files inside are still credentials; nothing is published."""
    make_credential_project(Path(jp_root_dir))
    jp_serverapp.contents_manager.allow_hidden = True
    path = f"Cred Project/{folder}"
    status, preview = await call(
        jp_fetch,
        "publish",
        "project",
        "preview",
        method="POST",
        body={"path": path, "include_hidden": True},
    )
    assert status == 200, preview
    assert preview["file_count"] == 0 and preview["credentials"], preview
    task = await run_task(
        jp_fetch,
        "publish/project",
        {"path": path, "namespace": user, "name": "cred-folder", "include_hidden": True},
    )
    assert task["state"] == "failed" and "no files to publish" in task["error"], task
    assert repo_api.get(f"{server.api}/package/{user}/cred-folder").status_code == 404


async def test_finding_5_a_home_folder_is_refused(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    server: RepoServer,
    user: str,
    repo_api: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server's root is the user's home (as with ``jupyter lab`` started there):
    publishing it, or its parent, is refused with a clear 400."""
    make_credential_project(Path(jp_root_dir))
    monkeypatch.setenv("HOME", str(Path(jp_root_dir) / "Cred Project"))
    status, answer = await call(
        jp_fetch,
        "publish",
        "project",
        "preview",
        method="POST",
        body={"path": "Cred Project", "include_hidden": True},
    )
    assert status == 400 and "home folder" in answer["message"], answer
    status, answer = await call(
        jp_fetch, "publish", "project", "preview", method="POST", body={"path": ""}
    )
    assert status == 400 and "home folder" in answer["message"], answer
    task = await run_task(
        jp_fetch,
        "publish/project",
        {"path": "Cred Project", "namespace": user, "name": "home-folder"},
    )
    assert task["state"] == "failed" and "home folder" in task["error"]
    assert repo_api.get(f"{server.api}/package/{user}/home-folder").status_code == 404


async def test_finding_5_links_out_of_the_folder_are_not_followed(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    tmp_path: Path,
    server: RepoServer,
    user: str,
    repo_api: Any,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "loot.txt").write_text(SECRET)
    project = Path(jp_root_dir) / "Linked"
    (project / "data").mkdir(parents=True)
    (project / "requirements.txt").write_text("numpy\n")
    (project / "data" / "outside").symlink_to(outside)
    (project / "loot.txt").symlink_to(outside / "loot.txt")
    status, preview = await call(
        jp_fetch,
        "publish",
        "project",
        "preview",
        method="POST",
        body={"path": "Linked", "include_hidden": True},
    )
    assert status == 200
    assert [item["path"] for item in preview["files"]] == ["requirements.txt"]
    reasons = {item["path"]: item["reason"] for item in preview["excluded"]}
    assert reasons == {"data/outside/": "symbolic link", "loot.txt": "symbolic link"}
    task = await run_task(jp_fetch, "publish/project", {"path": "Linked", "namespace": user})
    assert task["state"] == "succeeded", task["error"]
    assert members(download(repo_api, server, user, "linked", "1"), "linked") == [
        "requirements.txt"
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param({"path": "no/such/folder"}, 404, id="missing-folder"),
        pytest.param(
            {"path": "x", "include_hidden": "yes"}, 400, id="include-hidden-not-a-boolean"
        ),
        pytest.param({"path": ["x"]}, 400, id="path-not-a-string"),
    ],
)
async def test_finding_5_preview_bad_input_gets_a_clear_4xx(
    jp_fetch: Fetch,
    jp_root_dir: Path,
    body: dict[str, Any],
    code: int,
) -> None:
    status, answer = await call(jp_fetch, "publish", "project", "preview", method="POST", body=body)
    assert status == code and answer["message"], (status, answer)


# -- the CLI -----------------------------------------------------------------------------------


def test_finding_5_cli_lists_the_files_and_never_packs_credentials(
    tmp_path: Path,
    server: RepoServer,
    user: str,
) -> None:
    project = make_credential_project(tmp_path)
    cli = CLI(tmp_path)
    cli.ok("login", "--url", server.url, "--username", user)

    # --dry-run: every file, its size, what is left out and why; needs no repository.
    out = cli.ok("publish", "project", str(project), "--dry-run", "--url", "http://127.0.0.1:9")
    assert f"{len(NORMAL)} files, " in out
    for path in NORMAL:
        assert f"  {path}  (" in out
    credentials_line = next(
        line for line in out.splitlines() if line.startswith("Never published (credentials):")
    )
    for name in (".npmrc", ".pgpass", ".bash_history", ".gitconfig", DISGUISED_KEY):
        assert name in credentials_line
    assert "Left out as hidden" in out and ".notes.md" in out
    assert SECRET not in out

    # Without a terminal and without --yes: the list, then a refusal; nothing stored.
    result = cli("publish", "project", str(project), "--name", "cli-cred")
    assert result.returncode == 1 and "pass --yes" in result.stderr
    assert f"{len(NORMAL)} files, " in result.stdout
    api = server.session(server.token(user, ["api:read"]))
    assert api.get(f"{server.api}/package/{user}/cli-cred").status_code == 404

    # --include-hidden --yes: hidden plain files go, credentials still do not.
    out = cli.ok("publish", "project", str(project), "--name", "cli-cred", "--include-hidden", "-y")
    assert f"{len(NORMAL) + len(HIDDEN_PLAIN)} files, " in out
    archive = api.get(f"{server.api}/download/{user}/cli-cred/1/cli-cred.tar.gz")
    assert archive.status_code == 200
    assert members(archive.content, "cli-cred") == sorted(NORMAL + HIDDEN_PLAIN)
