"""``jupyter repo yank OWNER/NAME/VERSION``: yank a release or one of its files (PEP 592)."""

from __future__ import annotations

from traitlets import Bool, Unicode

from jupyter_repo.client import errors
from jupyter_repo.client.refs import Ref
from jupyter_repo.commands.clientbase import ClientCommand, client_aliases, client_flags


class YankApp(ClientCommand):
    name = "jupyter-repo-yank"
    description = (
        "Yank a release, or one of its files: it stays downloadable, but pip and uv skip "
        "it unless a requirement pins its version exactly (==), and conda no longer sees "
        "it. --undo un-yanks."
    )
    usage = "yank OWNER/NAME/VERSION [--file FILENAME] [--reason TEXT] [--undo]"
    aliases = {**client_aliases, "file": "YankApp.file", "reason": "YankApp.reason"}
    flags = {
        **client_flags,
        "undo": ({"YankApp": {"undo": True}}, "Un-yank instead: installers see it again."),
    }
    file = Unicode("", help="Only this file of the release (conda: SUBDIR/FILENAME).").tag(
        config=True
    )
    reason = Unicode("", help="Why (PyPI indexes show it to installers).").tag(config=True)
    undo = Bool(False, help="Un-yank instead of yanking.").tag(config=True)

    def run(self) -> None:
        (text,) = self.positional(1)
        ref = Ref.parse(text)
        if not ref.version:
            raise errors.BadRequest(f"Name the version to yank: usage: jupyter repo {self.usage}")
        if self.undo and self.reason:
            raise errors.BadRequest("--reason goes with a yank, not with --undo.")
        result = self.client().yank(
            ref.owner,
            ref.name,
            ref.version,
            basename=self.file or None,
            reason=self.reason or None,
            undo=self.undo,
        )
        what = "Un-yanked" if self.undo else "Yanked"
        target = f"{result['owner']}/{result['package']}/{result['version']}"
        reason = f" ({result['reason']})" if result.get("reason") else ""
        self.say(f"{what} {target}{reason}:")
        for basename in result["files"]:
            self.say(f"  {basename}")
