"""``jupyter repo search QUERY``: find packages on the repository."""

from __future__ import annotations

from traitlets import Integer, Unicode

from jupyter_repo.commands.clientbase import ClientCommand, client_aliases


class SearchApp(ClientCommand):
    name = "jupyter-repo-search"
    description = "Search packages: search QUERY [--type T] [--owner O] [--platform P]"
    usage = "search QUERY [--type ipynb|env|project|conda|pypi|file] [--owner O] [--platform P]"
    aliases = {
        **client_aliases,
        "type": "SearchApp.package_type",
        "owner": "SearchApp.owner",
        "platform": "SearchApp.platform",
        "label": "SearchApp.label",
        "limit": "SearchApp.limit",
    }
    package_type = Unicode("", help="Only packages with files of this type.").tag(config=True)
    owner = Unicode("", help="Only packages of this namespace.").tag(config=True)
    platform = Unicode("", help="Only packages with files for this platform.").tag(config=True)
    label = Unicode("", help="Only packages with files on this label.").tag(config=True)
    limit = Integer(50, help="How many results to show.").tag(config=True)

    def run(self) -> None:
        (query,) = self.positional(1)
        client = self.client(need_token=False)
        items, total = client.search(
            query,
            package_type=self.package_type or None,
            owner=self.owner or None,
            platform=self.platform or None,
            label=self.label or None,
            per_page=max(1, self.limit),
        )
        if not items:
            self.say(f"No packages match {query!r}.")
            return
        rows = [
            (
                item["full_name"],
                str(item.get("latest_version") or "-"),
                ",".join(item.get("package_types") or []),
                ("" if item.get("public", True) else "[private] ") + (item.get("summary") or ""),
            )
            for item in items
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        for row in rows:
            self.say(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
                + "  "
                + row[3][:80]
            )
        shown = f"{len(items)} of {total}" if total > len(items) else str(total)
        self.say(f"{shown} package{'s' if total != 1 else ''} found")
