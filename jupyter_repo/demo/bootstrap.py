"""Fill a fresh repository with a demo user, a demo organization and samples of every type."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from jupyter_repo.demo import builders
from jupyter_repo.repository.core import Repository
from jupyter_repo.repository.permissions import Actor
from jupyter_repo.repository.services import accounts, orgs
from jupyter_repo.repository.services.uploads import DirectOptions, ingest_local_file

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_ORG = "demo-org"


@dataclass(frozen=True)
class DemoInfo:
    user: str
    password: str
    org: str
    created: bool


def bootstrap(repo: Repository, password: str = DEMO_PASSWORD) -> DemoInfo:
    """Create the demo content once; later calls find it and change nothing."""
    existing = repo.read(lambda s: accounts.find_account(s, DEMO_USER))
    if existing is not None:
        return DemoInfo(DEMO_USER, password, DEMO_ORG, created=False)

    def create_accounts(session: Session) -> Actor:
        user = accounts.create_user(session, DEMO_USER, password, name="Demo User")
        accounts.create_org(
            session,
            DEMO_ORG,
            user,
            name="Demo Organization",
            description="An organization with shared demo content",
        )
        return accounts.password_actor(user)

    actor = repo.write(create_accounts)
    repo.write(orgs.create_group, actor, DEMO_ORG, "analysts", "read")
    with tempfile.TemporaryDirectory(prefix="jupyter-repo-demo-") as scratch:
        work = Path(scratch)

        def upload(
            owner: str, package: str, version: str, basename: str, path: Path, **options: object
        ) -> None:
            direct = DirectOptions(**options)  # type: ignore[arg-type]
            ingest_local_file(repo, actor, owner, package, version, basename, path, direct)

        lib1 = builders.conda_package(work, "hello-lib", "1.0", subdir="linux-64", build="h0_0")
        lib2 = builders.conda_package(
            work, "hello-lib", "2.0", subdir="linux-64", build="h0_0", fmt=".tar.bz2"
        )
        app = builders.conda_package(work, "hello-app", "0.1", depends=["hello-lib >=1.0"])
        upload(DEMO_USER, "hello-lib", "1.0", f"linux-64/{lib1.name}", lib1)
        upload(DEMO_USER, "hello-lib", "2.0", f"linux-64/{lib2.name}", lib2)
        upload(DEMO_USER, "hello-app", "0.1", f"noarch/{app.name}", app)
        beta = builders.conda_package(work, "hello-app", "0.2", depends=["hello-lib >=2.0"])
        upload(DEMO_USER, "hello-app", "0.2", f"noarch/{beta.name}", beta, labels=("dev",))
        wheel = builders.wheel(work, "demo-greeting", "1.0.0", summary="Say hello from a wheel")
        upload(DEMO_USER, "demo-greeting", "1.0.0", wheel.name, wheel)
        sdist = builders.sdist(work, "demo-greeting", "1.0.0")
        upload(DEMO_USER, "demo-greeting", "1.0.0", sdist.name, sdist)
        notebook = builders.notebook(work, "analysis.ipynb", title="Temperature analysis")
        upload(
            DEMO_USER,
            "temperature-analysis",
            "1",
            notebook.name,
            notebook,
            distribution_type="ipynb",
        )
        environment = builders.environment_file(work)
        upload(DEMO_ORG, "demo-env", "1", environment.name, environment, distribution_type="env")
        project = builders.project_archive(work)
        upload(DEMO_ORG, "demo-project", "1", project.name, project, distribution_type="project")
        csv = builders.csv_file(work)
        upload(
            DEMO_ORG,
            "weather-data",
            "2024.1",
            csv.name,
            csv,
            distribution_type="file",
            summary="Hourly temperatures from three stations",
        )
        secret = builders.wheel(work, "internal-tools", "0.3.0", summary="Private helpers")
        upload(DEMO_ORG, "internal-tools", "0.3.0", secret.name, secret, public=False)
    repo.write(orgs.add_package, actor, DEMO_ORG, "analysts", "internal-tools")
    return DemoInfo(DEMO_USER, password, DEMO_ORG, created=True)
