"""``jupyter repo open OWNER/NAME[/VERSION]``: a notebook, project or data file, here."""

from __future__ import annotations

from pathlib import Path

from traitlets import Bool, Unicode

from jupyter_repo.client.opening import Opener
from jupyter_repo.client.refs import Ref
from jupyter_repo.commands.clientbase import ClientCommand, client_aliases, client_flags


class OpenApp(ClientCommand):
    name = "jupyter-repo-open"
    description = (
        "Download a notebook or data files into the current folder, or unpack a project "
        "into a new folder in it: open OWNER/NAME[/VERSION]"
    )
    usage = "open OWNER/NAME[/VERSION] [--dir FOLDER] [--force]"
    aliases = {**client_aliases, "dir": "OpenApp.directory"}
    flags = {
        **client_flags,
        "force": ({"OpenApp": {"force": True}}, "Replace files that already exist."),
    }
    directory = Unicode("", help="Where to put it (default: the current folder).").tag(config=True)
    force = Bool(False, help="Replace files that already exist.").tag(config=True)

    def run(self) -> None:
        (text,) = self.positional(1)
        ref = Ref.parse(text)
        folder = Path(self.directory or ".")
        client = self.client(need_token=False)
        with client:
            opened = Opener(client, log=self.say).open(ref, folder, force=self.force)
        self.say(opened.message())
