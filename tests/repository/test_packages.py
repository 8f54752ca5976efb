"""Package and release attributes as the services store them, on both databases."""

from __future__ import annotations

from jupyter_repo.repository.services import packages
from tests.repository.conftest import World


def test_attributes_are_cut_to_their_columns_on_every_database(world: World) -> None:
    """PostgreSQL refuses a value longer than its column (a 500 before): each attribute is
    cut to what its column holds, texts without a limit to 20 000 characters."""
    alice = world.user("alice")
    world.conda(alice, "tool", "1.0")
    attrs = packages.PackageAttrs(
        home="https://example.org/" + "h" * 700,
        license="L" * 300,
        summary="s" * 30_000,
        package_types=("conda", "environment"),
        extra={"topic": "science"},
    )
    world.repo.call(packages.update_package, alice, "alice", "tool", attrs, write=True)
    package = world.repo.call(packages.get_package, alice, "alice", "tool")
    assert package.home == attrs.home[:500] and len(package.license) == 200
    assert len(package.summary) == 20_000
    assert package.package_types == ["conda", "env"]
    assert package.attrs["topic"] == "science"
    unchanged = packages.PackageAttrs()
    world.repo.call(
        packages.update_package, alice, "alice", "tool", unchanged, public=False, write=True
    )
    package = world.repo.call(packages.get_package, alice, "alice", "tool")
    assert package.home == attrs.home[:500] and not package.public
