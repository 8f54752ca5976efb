"""Packing a project folder as a ``.tar.gz``, honouring the exclusion rules.

Never packed, whatever the options or the ``.gitignore`` say: files where credentials
usually live (:data:`CREDENTIAL_PATTERNS`, matched against the file's whole real path, so
publishing ``~/.aws`` itself packs nothing of it), files that begin like a private key, the
saved repository tokens, symbolic links (they could point outside the folder) and anything
that is not a regular file. Left out by default: hidden files and folders (a path component
starting with ``.``, as Jupyter's file browser hides them; ``include_hidden`` opts in),
version-control folders, checkpoints, caches, files over a size limit and whatever the
folder's ``.gitignore`` files exclude (read with ``pathspec``, nested files included). A
home folder (or a folder holding one) is refused, and so is a folder with more files than
a limit: both are usually a mistake.

The archive is written to a temporary file as it is read, one file at a time; each file is
opened below the folder without following a symbolic link on the way, so a folder swapped
for a link after the selection cannot lead outside.
"""

from __future__ import annotations

import os
import re
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

from pathspec import GitIgnoreSpec

from jupyter_repo.client.errors import BadRequest, TooLarge
from jupyter_repo.repository.inspect.project import SPEC_FILES

DEFAULT_EXCLUDES: tuple[str, ...] = (
    # version control, checkpoints, caches, virtualenvs
    ".git",
    ".hg",
    ".svn",
    ".ipynb_checkpoints",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    ".nox",
    ".venv",
    ".DS_Store",
    # tool folders of a home folder
    ".local/",
    ".ipython/",
    ".conda/",
    ".cache/",
)

#: gitignore-style patterns of files that hold credentials; matched (lowercased) against
#: the file's absolute real path, so they hold in any subfolder and for a folder named
#: directly. Never packed: neither ``include_hidden``, nor ``excludes``, nor a ``.gitignore``
#: negation brings them back. From the usual secret-scanner lists (gitleaks, shhgit, gitrob).
CREDENTIAL_PATTERNS: tuple[str, ...] = (
    # whole folders of keys, cloud and cluster credentials, browser profiles
    "**/.ssh/",
    "**/.gnupg/",
    "**/.aws/",
    "**/.azure/",
    "**/.config/gcloud/",
    "**/.kube/",
    "**/.docker/",
    "**/.oci/",
    "**/.password-store/",
    "**/.terraform.d/",
    "**/.jupyter/",
    "**/.local/share/keyrings/",
    "**/.mozilla/",
    "**/.thunderbird/",
    "**/.config/google-chrome/",
    "**/.config/chromium/",
    "**/.config/doctl/",
    "**/.config/ngrok/",
    "**/.ngrok2/",
    "**/.config/gh/",
    "**/.config/hub",
    "**/.config/rclone/",
    "**/.config/pip/",
    "**/.config/jupyter_repo/",
    "legacy_credentials/",
    # single files with passwords or tokens
    ".netrc",
    "_netrc",
    ".pypirc",
    ".npmrc",
    ".yarnrc",
    ".pgpass",
    ".my.cnf",
    ".mylogin.cnf",
    ".git-credentials",
    ".gitconfig",
    ".s3cfg",
    ".boto",
    ".dockercfg",
    ".vault-token",
    ".databrickscfg",
    ".htpasswd",
    ".env",
    ".env.*",
    "!.env.example",
    "!.env.sample",
    "!.env.template",
    ".envrc",
    "pip.conf",
    "pip.ini",
    "credentials.db",
    "access_tokens.db",
    "application_default_credentials.json",
    "client_secret*.json",
    "kubeconfig",
    "*.kubeconfig",
    "*.tfstate",
    "*.tfstate.backup",
    "**/.cargo/credentials",
    "**/.cargo/credentials.toml",
    "**/.gem/credentials",
    "**/.m2/settings.xml",
    "**/.gradle/gradle.properties",
    "**/.pulumi/credentials.json",
    "**/.kaggle/kaggle.json",
    "**/huggingface/token",
    "**/.huggingface/token",
    "**/jupyter/runtime/",
    "**/jupyter_repo/tokens.json",
    "**/jupyter_repo/client.json",
    # shell, REPL and editor histories
    ".bash_history",
    ".zsh_history",
    ".zhistory",
    ".sh_history",
    ".ksh_history",
    ".history",
    "fish_history",
    ".python_history",
    ".node_repl_history",
    ".psql_history",
    ".mysql_history",
    ".sqlite_history",
    ".rediscli_history",
    ".irb_history",
    ".rhistory",
    ".lesshst",
    ".viminfo",
    ".wget-hsts",
    "**/.ipython/**/history.sqlite",
    # private keys, key stores, password databases
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "id_ecdsa_sk",
    "id_ed25519_sk",
    "*.pem",
    "*.key",
    "*.ppk",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "*.kdb",
    "*.keychain",
    "*.keychain-db",
    "*.ovpn",
)
#: How files holding a private key begin, whatever they are called.
_KEY_SIGNATURES = (b"-----BEGIN", b"PuTTY-User-Key-File-", b"Bag Attributes")
_SNIFF_BYTES = 4096

CREDENTIALS_REASON = "holds credentials: never published"
HIDDEN_REASON = "hidden (include hidden files to publish it)"

#: ``progress(bytes_done, bytes_total)``; may raise ``Cancelled``.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ProjectRules:
    """What goes into a published project."""

    max_file_size: int = 100 << 20
    max_total_size: int = 2 << 30
    #: More files than this and the folder is refused (a home folder by mistake?).
    max_files: int = 10_000
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES
    use_gitignore: bool = True
    #: Hidden files and folders (a path component starting with ``.``) go in too.
    include_hidden: bool = False
    #: Folders never published, wherever they are (the saved repository tokens).
    protected: tuple[str, ...] = ()


@dataclass
class Selection:
    root: Path
    files: list[tuple[str, int]] = field(default_factory=list)  # (relative path, size)
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (relative path, why)
    #: The folder's real path (symbolic links resolved), where files are opened from.
    real_root: str = ""

    @property
    def total_size(self) -> int:
        return sum(size for _path, size in self.files)

    def spec_file(self) -> str | None:
        present = {path for path, _size in self.files}
        return next((name for name in SPEC_FILES if name in present), None)

    def require_files(self) -> None:
        if not self.files:
            raise BadRequest(
                f"{self.root} has no files to publish ({len(self.excluded)} left out)."
            )

    def summary(self, limit: int = 1000) -> dict[str, Any]:
        """What a preview shows: the counts, the files (largest first beyond ``limit``
        are cut) and what is left out, with why."""
        return {
            "root": str(self.root),
            "file_count": len(self.files),
            "total_size": self.total_size,
            "files": [{"path": path, "size": size} for path, size in self.files[:limit]],
            "files_truncated": len(self.files) > limit,
            "largest": [
                {"path": path, "size": size}
                for path, size in sorted(self.files, key=lambda item: (-item[1], item[0]))[:5]
            ],
            "excluded": [{"path": path, "reason": why} for path, why in self.excluded[:limit]],
            "excluded_count": len(self.excluded),
            "credentials": [path for path, why in self.excluded if why == CREDENTIALS_REASON],
            "spec_file": self.spec_file(),
        }


class _IgnoreRules:
    """The credential patterns, the default patterns and every ``.gitignore`` met."""

    credentials = GitIgnoreSpec.from_lines(CREDENTIAL_PATTERNS)
    #: One regex of every pattern that can match: a path it misses holds no credentials,
    #: so the exact (pattern by pattern) check runs only for the few it finds.
    any_credentials = re.compile(
        "|".join(
            "(?:" + re.sub(r"\(\?P<\w+>", "(?:", pattern.regex.pattern) + ")"
            for pattern in credentials.patterns
            if pattern.include and pattern.regex is not None
        )
    )

    def __init__(self, rules: ProjectRules, real_root: str) -> None:
        self.defaults = GitIgnoreSpec.from_lines(rules.excludes)
        self.use_gitignore = rules.use_gitignore
        self.include_hidden = rules.include_hidden
        self.real_root = real_root.rstrip(os.sep)
        self.gitignores: list[tuple[str, GitIgnoreSpec]] = []

    def enter(self, directory: Path, relative: str) -> None:
        if not self.use_gitignore:
            return
        path = directory / ".gitignore"
        if path.is_file() and not path.is_symlink():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            self.gitignores.append((relative, GitIgnoreSpec.from_lines(lines)))

    def holds_credentials(self, relative: str, is_dir: bool) -> bool:
        """Matched on the absolute path: ``.aws/credentials`` is found when the folder
        published is ``~/.aws`` as well as when it is ``~``."""
        absolute = f"{self.real_root}/{relative}" if relative else self.real_root
        candidate = absolute.replace(os.sep, "/").lstrip("/").lower()
        candidate = candidate + "/" if is_dir else candidate
        return self.any_credentials.search(candidate) is not None and self.credentials.match_file(
            candidate
        )

    def why_excluded(self, relative: str, is_dir: bool) -> str | None:
        if self.holds_credentials(relative, is_dir):
            return CREDENTIALS_REASON
        candidate = relative + "/" if is_dir else relative
        if self.defaults.match_file(candidate):
            return "excluded by default (version control, checkpoints, caches)"
        if not self.include_hidden and relative.rsplit("/", 1)[-1].startswith("."):
            return HIDDEN_REASON  # its parents were not hidden, or the walk had stopped
        verdict: bool | None = None
        for base, spec in self.gitignores:  # outer first; deeper files decide last
            if base and not candidate.startswith(base + "/"):
                continue
            inner = candidate[len(base) + 1 :] if base else candidate
            result = spec.check_file(inner).include
            if result is not None:
                verdict = result
        return "excluded by .gitignore" if verdict else None


def _looks_like_a_key(path: Path) -> bool:
    """Whether a file begins like a private key (PEM, OpenSSH, PuTTY, PKCS#12 export)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES).lstrip()
    except OSError:
        return False
    return head.startswith(_KEY_SIGNATURES) and (
        b"PRIVATE KEY" in head or head.startswith(b"PuTTY-User-Key-File-")
    )


def _check_root(top: Path, real_top: str, rules: ProjectRules) -> None:
    protected = {os.path.realpath(path) for path in rules.protected}
    if any(real_top == path or real_top.startswith(path + os.sep) for path in protected):
        raise BadRequest(f"{top} holds the saved repository credentials; it is not published.")
    try:
        home = os.path.realpath(Path.home())
    except (RuntimeError, KeyError):  # no home folder known: nothing to protect
        return
    if real_top == home or home.startswith(real_top.rstrip(os.sep) + os.sep):
        raise BadRequest(
            f"{top} is a home folder (or holds one); publish a project folder inside it instead."
        )


def select_files(root: Path | str, rules: ProjectRules = ProjectRules()) -> Selection:
    """Walk ``root`` and decide, for every file, whether it goes into the project."""
    top = Path(root)
    if not top.is_dir():
        raise BadRequest(f"{root} is not a folder.")
    real_top = os.path.realpath(top)
    _check_root(top, real_top, rules)
    selection = Selection(top, real_root=real_top)
    ignore = _IgnoreRules(rules, real_top)
    protected = {os.path.realpath(path) for path in rules.protected}
    for directory, dirnames, filenames in os.walk(real_top):
        here = Path(directory)
        relative_dir = here.relative_to(real_top).as_posix()
        relative_dir = "" if relative_dir == "." else relative_dir
        ignore.enter(here, relative_dir)
        kept_dirs = []
        for name in sorted(dirnames):
            relative = f"{relative_dir}/{name}" if relative_dir else name
            if (here / name).is_symlink():
                selection.excluded.append((relative + "/", "symbolic link"))
                continue
            if os.path.realpath(here / name) in protected:
                selection.excluded.append((relative + "/", "holds repository credentials"))
                continue
            why = ignore.why_excluded(relative, is_dir=True)
            if why:
                selection.excluded.append((relative + "/", why))
                continue
            kept_dirs.append(name)
        dirnames[:] = kept_dirs
        for name in sorted(filenames):
            relative = f"{relative_dir}/{name}" if relative_dir else name
            path = here / name
            why = _why_file_excluded(path, relative, ignore, rules)
            if why:
                selection.excluded.append((relative, why))
                continue
            selection.files.append((relative, path.lstat().st_size))
            if len(selection.files) > rules.max_files:
                raise TooLarge(
                    f"{root} holds more than {rules.max_files} files to publish; is it the "
                    "right folder? Leave files out with a .gitignore."
                )
    selection.files.sort()  # listed (and packed) by path, as people read them
    if selection.total_size > rules.max_total_size:
        raise TooLarge(
            f"The project holds {selection.total_size} bytes, over the limit of "
            f"{rules.max_total_size} bytes; exclude large files with a .gitignore."
        )
    return selection


def _why_file_excluded(
    path: Path, relative: str, ignore: _IgnoreRules, rules: ProjectRules
) -> str | None:
    try:
        info = path.lstat()
    except OSError:
        return "unreadable"
    if stat.S_ISLNK(info.st_mode):
        return "symbolic link"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    why = ignore.why_excluded(relative, is_dir=False)
    if why:
        return why
    if info.st_size > rules.max_file_size:
        return f"larger than the limit of {rules.max_file_size} bytes per file"
    if _looks_like_a_key(path):
        return CREDENTIALS_REASON
    return None


def _clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """No owner names or ids of this machine in the archive."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class _CountingReader:
    """Reports progress as tarfile reads a file, so a huge file can be cancelled midway."""

    def __init__(self, handle: BinaryIO, start: int, total: int, report: Progress) -> None:
        self.handle, self.done, self.total, self.report = handle, start, total, report

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.done += len(data)
        self.report(self.done, self.total)
        return data


_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _open_beneath(root: str, relative: str) -> BinaryIO:
    """Open ``root/relative`` for reading without following a symbolic link anywhere below
    ``root``; anything but a regular file is refused."""
    parts = relative.split("/")
    if os.open not in os.supports_dir_fd or not _NO_FOLLOW:  # no openat: check, then open
        path = os.path.join(root, *parts)
        if os.path.realpath(path) != os.path.normpath(path):
            raise BadRequest(f"{relative} changed into a link while the project was packed.")
        descriptor = os.open(path, os.O_RDONLY | _NO_FOLLOW)
    else:
        folder = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NO_FOLLOW)
        try:
            for part in parts[:-1]:
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | _NO_FOLLOW, dir_fd=folder)
                os.close(folder)
                folder = inner
            descriptor = os.open(parts[-1], os.O_RDONLY | os.O_NONBLOCK | _NO_FOLLOW, dir_fd=folder)
        except OSError as error:
            raise BadRequest(
                f"{relative} changed while the project was packed ({error.strerror}); "
                "publish again."
            ) from None
        finally:
            os.close(folder)
    handle = os.fdopen(descriptor, "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise BadRequest(f"{relative} is no longer a regular file; publish again.")
    return handle


def pack(
    selection: Selection,
    destination: Path,
    top: str,
    *,
    extra_files: dict[str, bytes] | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write the selected files (and ``extra_files``) under ``<top>/`` in a ``.tar.gz``."""
    extra_files = extra_files or {}
    total = selection.total_size + sum(len(data) for data in extra_files.values())
    done = 0
    report = progress or (lambda _done, _total: None)
    report(0, total)
    root = selection.real_root or os.path.realpath(selection.root)
    with tarfile.open(destination, "w:gz", compresslevel=6) as archive:
        for relative, _size in selection.files:
            with _open_beneath(root, relative) as handle:
                status = os.fstat(handle.fileno())
                info = tarfile.TarInfo(f"{top}/{relative}")
                info.size, info.mtime = status.st_size, int(status.st_mtime)
                info.mode = stat.S_IMODE(status.st_mode) & 0o755 | 0o644
                archive.addfile(_clean(info), _CountingReader(handle, done, total, report))
            done += info.size
        for relative, data in sorted(extra_files.items()):
            info = tarfile.TarInfo(f"{top}/{relative}")
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(_clean(info), BytesIO(data))
            done += len(data)
            report(done, total)
    return destination
