"""The browsing listings (``services/listings.py``) in-process, on rolled-back databases.

The web pages (``tests/web/test_web_pages.py``) show these through HTTP; here the listings'
contents are checked directly: who sees which package, counts and pages, label and
platform filters, and a label-limited token's narrower view of a private package.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from jupyter_repo.repository.errors import InvalidInput, NotFound
from jupyter_repo.repository.models import Account
from jupyter_repo.repository.permissions import ANONYMOUS
from jupyter_repo.repository.services import accounts, listings, orgs
from tests.repository.conftest import World


def _names(page: listings.Page[listings.PackageRow]) -> list[str]:
    return [row.name for row in page.items]


@pytest.fixture
def shelf(world: World) -> World:
    """alice: four public packages and a private one, over two subdirs and two labels."""
    alice = world.user("alice")
    world.user("bob")
    world.conda(alice, "alpha", "1.0")
    world.conda(alice, "alpha", "1.1", labels=("dev",))
    world.conda(alice, "alpha", "1.1", "linux-64", labels=("dev",))
    world.conda(alice, "beta", "2.0", "linux-64")
    world.conda(alice, "gamma", "0.1")
    world.conda(alice, "delta", "3.0")
    world.conda(alice, "hidden", "1.0", public=False)
    world.conda(alice, "hidden", "1.1", labels=("staff",), public=False)
    return world


@pytest.mark.parametrize("who", ["anonymous", "bob"])
def test_owner_packages_list_only_what_the_caller_may_read(shelf: World, who: str) -> None:
    actor = ANONYMOUS if who == "anonymous" else shelf.actor(who)
    view = shelf.repo.call(listings.owner_packages, actor, "alice")
    assert _names(view.packages) == ["alpha", "beta", "delta", "gamma"]
    assert view.packages.total == 4


def test_owner_packages_list_the_owners_private_ones_to_the_owner(shelf: World) -> None:
    alice = shelf.actor("alice")
    own = shelf.repo.call(listings.owner_packages, alice, "alice")
    assert _names(own.packages) == ["alpha", "beta", "delta", "gamma", "hidden"]
    hidden = own.packages.items[-1]
    assert (hidden.public, hidden.latest_version, hidden.package_types) == (False, "1.1", ["conda"])
    assert own.packages.items[0].latest_version == "1.1"
    assert own.packages.items[0].owner == "alice"


def test_pages_split_the_list_and_count_it_once(shelf: World) -> None:
    alice = shelf.actor("alice")
    pages = [
        shelf.repo.call(listings.owner_packages, alice, "alice", page=number, per_page=2).packages
        for number in (1, 2, 3)
    ]
    assert [_names(page) for page in pages] == [["alpha", "beta"], ["delta", "gamma"], ["hidden"]]
    assert {page.total for page in pages} == {5} and pages[0].pages == 3
    assert (pages[0].has_previous, pages[0].has_next) == (False, True)
    assert (pages[2].has_previous, pages[2].has_next) == (True, False)
    assert (
        _names(
            shelf.repo.call(listings.owner_packages, alice, "alice", page=4, per_page=2).packages
        )
        == []
    )
    for bad in ({"page": 0}, {"per_page": 0}, {"per_page": listings.MAX_PER_PAGE + 1}):
        with pytest.raises(InvalidInput):
            shelf.repo.call(listings.owner_packages, alice, "alice", **bad)


def test_recent_and_search_leave_private_packages_out(shelf: World) -> None:
    alice = shelf.actor("alice")
    recent, total = shelf.repo.call(listings.recent_packages, ANONYMOUS)
    assert "hidden" not in [row.name for row in recent] and total == 4
    recent, total = shelf.repo.call(listings.recent_packages, alice, limit=2)
    assert len(recent) == 2 and total == 5
    assert _names(shelf.repo.call(listings.search_packages, ANONYMOUS, "hid")) == []
    assert _names(shelf.repo.call(listings.search_packages, alice, "hid")) == ["hidden"]
    linux = shelf.repo.call(listings.search_packages, ANONYMOUS, "", platform="linux-64")
    assert sorted(_names(linux)) == ["alpha", "beta"]
    dev = shelf.repo.call(listings.search_packages, ANONYMOUS, "", label="dev")
    assert _names(dev) == ["alpha"]


def test_package_detail_counts_labels_platforms_and_filters_files(shelf: World) -> None:
    detail = shelf.repo.call(listings.package_detail, ANONYMOUS, "alice", "alpha")
    assert detail.versions == ["1.1", "1.0"] and detail.version_count == 2
    # "latest" is the newest version on main; 1.1 is only on dev, and is named as such.
    assert detail.latest_version == "1.0" and not detail.can_write
    assert detail.newer_elsewhere == ("1.1", ["dev"])
    assert detail.label_counts == [("main", 1), ("dev", 2)]
    assert detail.platform_counts == [("linux-64", 1), ("noarch", 2)]
    assert detail.type_labels == {"conda": ["main", "dev"]}
    assert detail.files.total == 3
    assert {row.basename: row.labels for row in detail.files.items} == {
        "noarch/alpha-1.0-0.conda": ["main"],
        "noarch/alpha-1.1-0.conda": ["dev"],
        "linux-64/alpha-1.1-0.conda": ["dev"],
    }

    def basenames(**filters: str) -> set[str]:
        found = shelf.repo.call(listings.package_detail, ANONYMOUS, "alice", "alpha", **filters)
        return {row.basename for row in found.files.items}

    assert basenames(label="dev") == {"noarch/alpha-1.1-0.conda", "linux-64/alpha-1.1-0.conda"}
    assert basenames(platform="linux-64") == {"linux-64/alpha-1.1-0.conda"}
    assert basenames(version="1.0") == {"noarch/alpha-1.0-0.conda"}
    assert basenames(label="nowhere") == set()
    assert shelf.repo.call(
        listings.package_detail, shelf.actor("alice"), "alice", "alpha"
    ).can_write


def test_a_private_package_is_missing_to_others_and_narrowed_for_label_tokens(shelf: World) -> None:
    bob = shelf.actor("bob")
    for actor in (ANONYMOUS, bob):
        with pytest.raises(NotFound):
            shelf.repo.call(listings.package_detail, actor, "alice", "hidden")
        with pytest.raises(NotFound):
            shelf.repo.call(
                listings.file_view, actor, "alice", "hidden", "1.0", "noarch/hidden-1.0-0.conda"
            )
    staff = shelf.token_actor("alice", label="staff")
    detail = shelf.repo.call(listings.package_detail, staff, "alice", "hidden")
    assert [row.basename for row in detail.files.items] == ["noarch/hidden-1.1-0.conda"]
    assert detail.label_counts == [("staff", 1)]
    view = shelf.repo.call(
        listings.file_view, staff, "alice", "hidden", "1.1", "noarch/hidden-1.1-0.conda"
    )
    assert view.other_versions == [("1.1", "noarch/hidden-1.1-0.conda")]
    assert view.labels == ["staff"] and not view.public


def test_org_and_group_views_for_members_only(world: World) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    world.user("carol")
    world.repo.call(
        lambda s: accounts.create_org(s, "lab", accounts.get_user(s, "alice")), write=True
    )
    world.repo.call(orgs.create_group, alice, "lab", "readers", "read", write=True)
    world.repo.call(orgs.add_member, alice, "lab", "readers", "bob", write=True)
    world.conda(alice, "tool", "1.0", owner="lab", public=False)
    world.conda(alice, "open-tool", "1.0", owner="lab")
    world.repo.call(orgs.add_package, alice, "lab", "readers", "tool", write=True)

    view = world.repo.call(listings.org_view, alice, "lab")
    assert view.is_admin
    assert [(group.name, group.members, group.packages) for group in view.groups] == [
        ("owners", 1, 0),
        ("readers", 1, 1),
    ]
    assert view.members.items == [("alice", "", ["owners"]), ("bob", "", ["readers"])]
    assert not world.repo.call(listings.org_view, bob, "lab").is_admin
    group = world.repo.call(listings.group_view, bob, "lab", "readers")
    assert group.packages.items == [("tool", False)]
    assert _names(world.repo.call(listings.owner_packages, bob, "lab").packages) == [
        "open-tool",
        "tool",
    ]
    carol = world.actor("carol")
    assert _names(world.repo.call(listings.owner_packages, carol, "lab").packages) == ["open-tool"]
    with pytest.raises(NotFound):
        world.repo.call(listings.org_view, carol, "lab")


def test_nothing_a_test_writes_outlives_it(world: World) -> None:
    """The outer transaction is never committed: another connection sees none of it."""
    world.user("alice")
    world.conda(world.actor("alice"), "kept", "1.0")
    database = world.repo.database
    assert world.repo.call(lambda s: s.scalar(select(func.count()).select_from(Account))) == 1
    with database.connection.engine.connect() as other:
        assert other.scalar(select(func.count()).select_from(Account)) == 0
