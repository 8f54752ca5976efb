"""``jupyter repo install OWNER/NAME[==VERSION]``: install into this Python environment."""

from __future__ import annotations

from traitlets import List, Unicode

from jupyter_repo.client.install import Installer, InstallSpec, Target
from jupyter_repo.commands.clientbase import ClientCommand, client_aliases


class InstallApp(ClientCommand):
    name = "jupyter-repo-install"
    description = "Install a package or an environment: install OWNER/NAME[==VERSION]"
    usage = "install OWNER/NAME[==VERSION] [--label L] [--extra-index-url URL]"
    aliases = {
        **client_aliases,
        "label": "InstallApp.label",
        "extra-index-url": "InstallApp.extra_index_urls",
    }
    label = Unicode("", help="Install from this label (default: main).").tag(config=True)
    extra_index_urls = List(
        Unicode(),
        help="More pip indexes (e.g. https://pypi.org/simple) "
        "for dependencies that are not in the repository.",
    ).tag(config=True)

    def run(self) -> None:
        (text,) = self.positional(1)
        spec = InstallSpec.parse(text)
        client = self.client(need_token=False)
        installer = Installer(
            client, Target.current(), log=self.say, extra_index_urls=tuple(self.extra_index_urls)
        )
        result = installer.install(spec, label=self.label or None)
        self.say(result["message"])
