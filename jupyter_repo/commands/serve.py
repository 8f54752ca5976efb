"""``jupyter repo serve``: run the repository server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop, PeriodicCallback
from tornado.netutil import bind_sockets
from traitlets import Bool, Dict, Float, Integer, List, TraitError, Unicode, validate

from jupyter_repo.commands.base import RepoCommand, repository_aliases
from jupyter_repo.repository import consistency
from jupyter_repo.repository.indexes import maintenance as index_maintenance
from jupyter_repo.repository.indexes.channels import ChannelIndexes
from jupyter_repo.repository.services import uploads
from jupyter_repo.repository.storage import LocalStore
from jupyter_repo.server import runtime
from jupyter_repo.server.app import make_app
from jupyter_repo.server.forwarded import TrustedProxies, parse_networks
from jupyter_repo.server.jupyterhub import JupyterHubService
from jupyter_repo.server.ratelimit import LoginLimiter, PasswordChecks
from jupyter_repo.server.web.previews import NotebookPreviews


class ServeApp(RepoCommand):
    name = "jupyter-repo-serve"
    description = "Run the jupyter-repo repository server."

    aliases = {
        **repository_aliases,
        "ip": "ServeApp.ip",
        "port": "ServeApp.port",
        "public-url": "ServeApp.public_url",
        "demo-password": "ServeApp.demo_password",
    }
    flags = {
        **RepoCommand.flags,
        "demo": (
            {"ServeApp": {"demo": True}},
            "Bootstrap a demo user, organization and sample packages.",
        ),
    }
    classes = [
        *RepoCommand.classes,
        LocalStore,
        ChannelIndexes,
        NotebookPreviews,
        JupyterHubService,
    ]

    ip = Unicode("127.0.0.1", help="Address to listen on.").tag(config=True)
    port = Integer(8600, help="Port to listen on (0 picks a free one).").tag(config=True)
    public_url = Unicode(
        "", help="The URL clients use to reach this server (default: from each request)."
    ).tag(config=True)
    demo = Bool(False, help="Bootstrap demo content at start-up.").tag(config=True)
    demo_password = Unicode("demo-password", help="Password of the demo user.").tag(config=True)
    worker_threads = Integer(32, help="Threads for database, disk and hashing work.").tag(
        config=True
    )
    login_attempts = Integer(
        10,
        help="Failed logins allowed per client address and user per minute (0: no limit). "
        "An address may fail 5x as often over all users; a user with 5x as many failures "
        "from all addresses together is under attack, and then each address may fail only "
        "3 times for it. Failures from one address never block another.",
    ).tag(config=True)
    password_checks = Integer(
        0,
        help="Password verifications (Argon2id, ~0.1 s of CPU and 64 MiB each) run at "
        "once; others wait on the event loop (0: half the CPUs, at least 1).",
    ).tag(config=True)
    password_check_queue = Integer(
        16,
        help="Password verifications that may wait for a slot; more are answered 503 "
        "with Retry-After at once.",
    ).tag(config=True)
    password_checks_per_address = Integer(
        4,
        help="Password verifications one client address may have running or waiting; "
        "more are answered 429 at once.",
    ).tag(config=True)
    trusted_proxies = List(
        Unicode(),
        help="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For, "
        "X-Real-IP and X-Forwarded-Proto headers are believed, e.g. ['127.0.0.1'] when nginx "
        "runs on this machine. Empty (the default): the headers are ignored and the peer's "
        "own address is the client's.",
    ).tag(config=True)
    consistency_grace = Float(
        -1.0,
        help="Age in seconds before leftover uploads are removed at start-up "
        "(default: 0 with SQLite, 900 with a shared database).",
    ).tag(config=True)
    housekeeping_interval = Float(300.0, help="Seconds between expiry of stale uploads.").tag(
        config=True
    )
    session_max_age = Integer(
        14 * 86400, help="Seconds a web page login (session cookie) lasts."
    ).tag(config=True)
    xheaders = Bool(
        False,
        help="Deprecated and ignored: it trusted X-Forwarded-* from anyone. List your "
        "proxies in trusted_proxies instead.",
    ).tag(config=True)
    mirror_schedule = Bool(
        True,
        help="Run the syncs of mirrors added with --every inside this server, on a thread "
        "of their own. Off: sync from cron with `jupyter repo mirror sync OWNER NAME`.",
    ).tag(config=True)
    mirror_schedule_interval = Float(
        60.0, help="Seconds between checks for mirrors whose sync is due."
    ).tag(config=True)
    switch_interval = Float(
        0.005,
        min=0.0,
        max=1.0,
        help="Seconds a Python thread may hold the interpreter while another waits "
        "(sys.setswitchinterval; Python's default 0.005). Shorter: requests that read many "
        "rows wait less behind busy threads, for a little more switching. 0 leaves it.",
    ).tag(config=True)
    malloc_trim_interval = Float(
        0.0,
        min=0.0,
        help="Seconds between returns of free heap memory to the system (glibc's "
        "malloc_trim, on a worker thread; 0: never). Keeps the resident size near what is "
        "in use after bursts of work on many threads.",
    ).tag(config=True)
    mirror_sync_threads = Integer(4, help="Files a scheduled mirror sync fetches at once.").tag(
        config=True
    )
    channel_max_age = Integer(
        30,
        help="Cache-Control max-age (s) of conda repodata and PyPI index pages: how long a "
        "client may use its copy without asking again (revalidation is a cheap 304).",
    ).tag(config=True)
    static_index_sweep_interval = Float(
        10.0,
        help="Seconds between checks of the static index folder (c.Repository."
        "static_index_dir): files withdrawn by commits of other programs (the admin "
        "commands) or crashed processes are written again, stale ones removed.",
    ).tag(config=True)

    oauth_providers = List(
        Dict(),
        help="OAuth 2 / OpenID Connect providers the web pages sign in with, each a dict: "
        "name, client_id, client_secret, authorize_url, token_url, userinfo_url, "
        "redirect_uri (<this server>/oauth/<name>/callback), and optionally display_name, "
        "scope ('openid profile email'), login_claim ('preferred_username'), groups_claim "
        "('groups'), group_mapping ({provider group: ['<org>/<group>:<permission>']}), "
        "token_endpoint_auth_method ('client_secret_basic'). An account is created at a "
        "person's first sign-in; a provider never signs in an account it did not create.",
    ).tag(config=True)
    local_passwords = Bool(
        True,
        help="Accept passwords (the login form, HTTP Basic, `jupyter repo login` with a "
        "password). False: only single sign-on and tokens; a password is refused with 403.",
    ).tag(config=True)

    @validate("oauth_providers")
    def _valid_providers(self, proposal: Any) -> list[dict[str, Any]]:
        from jupyter_repo.server.oauth import OAuthProvider

        for settings in proposal["value"]:
            try:
                OAuthProvider.from_config(settings)
            except (ValueError, TypeError) as error:
                raise TraitError(f"ServeApp.oauth_providers: {error}") from None
        return proposal["value"]

    def sign_in_settings(self) -> dict[str, Any]:
        """The app settings for JupyterHub and OAuth 2 sign-in."""
        from jupyter_repo.server.oauth import OAuthProvider

        hub = JupyterHubService(parent=self)
        if not hub.oauth_redirect_uri and self.public_url:
            hub.oauth_redirect_uri = self.public_url.rstrip("/") + "/oauth/jupyterhub/callback"
        providers = {}
        for settings in self.oauth_providers:
            provider = OAuthProvider.from_config(settings)
            providers[provider.name] = provider
        if hub.enabled:
            self.log.info("a JupyterHub service of the hub at %s", hub.api_url)
            if hub.oauth_redirect_uri:
                providers["jupyterhub"] = OAuthProvider.from_config(hub.oauth_settings())
        return {
            "jupyterhub": hub if hub.enabled else None,
            "oauth_providers": providers,
            "local_passwords": self.local_passwords,
        }

    @validate("trusted_proxies")
    def _valid_networks(self, proposal: Any) -> list[str]:
        try:
            parse_networks(proposal["value"])
        except ValueError as error:
            raise TraitError(f"ServeApp.trusted_proxies: {error}") from None
        return proposal["value"]

    def start(self) -> None:
        if self.xheaders and not self.trusted_proxies:
            self.log.warning(
                "ServeApp.xheaders is ignored: forwarded headers are believed only "
                "from the proxies listed in ServeApp.trusted_proxies."
            )
        repo = self.make_repository()
        grace = self.consistency_grace
        if grace < 0:
            grace = 0.0 if repo.database.is_sqlite else 900.0
        report = consistency.check(repo, grace_seconds=grace)
        self.log.info(report.summary())
        for blob_id in report.missing_blobs:
            self.log.warning("blob %s is in the database but missing from storage", blob_id)
        demo_info = None
        if self.demo:
            from jupyter_repo.demo.bootstrap import bootstrap

            demo_info = bootstrap(repo, self.demo_password)
        executor = ThreadPoolExecutor(self.worker_threads, thread_name_prefix="jupyter-repo")
        app = make_app(
            repo,
            executor=executor,
            public_url=self.public_url,
            login_limiter=LoginLimiter(self.login_attempts),
            password_checks=PasswordChecks(
                self.password_checks or max(1, (os.cpu_count() or 2) // 2),
                waiting=self.password_check_queue,
                per_source=self.password_checks_per_address,
            ),
            trusted_proxies=TrustedProxies(self.trusted_proxies),
            session_max_age=self.session_max_age,
            serve_traceback=False,
            channel_max_age=self.channel_max_age,
            **self.sign_in_settings(),
        )
        static_indexes = app.settings.get("static_indexes")
        if static_indexes is not None:
            # Nothing stale may be served while this process starts: check before listening.
            static_indexes.sweep(build=False)
        server = HTTPServer(
            app,
            max_body_size=repo.max_upload_size + (1 << 20),
            max_buffer_size=64 << 20,
            # Upload bodies arrive in 1 MiB reads instead of 64 KiB: 16x fewer Python calls.
            chunk_size=1 << 20,
            idle_connection_timeout=3600,
            body_timeout=3600,
        )
        bound = bind_sockets(self.port, self.ip)
        server.add_sockets(bound)
        port = bound[0].getsockname()[1]
        url = self.public_url or f"http://{self.ip}:{port}"
        print(f"jupyter-repo serving at {url}", flush=True)
        print(f"  anaconda config --set url {url}/api", flush=True)
        print(
            f"  conda channels: {url}/conda/<owner>   pip index: {url}/pypi/<owner>/simple",
            flush=True,
        )
        if demo_info is not None:
            print(
                f"  demo login: user '{demo_info.user}', password '{demo_info.password}' "
                f"(organization '{demo_info.org}')",
                flush=True,
            )
        loop = IOLoop.current()

        def housekeeping() -> None:
            loop.run_in_executor(
                executor, partial(repo.call, uploads.expire_stages, repo, write=True)
            )
            loop.run_in_executor(executor, partial(repo.call, index_maintenance.prune, write=True))

        PeriodicCallback(housekeeping, self.housekeeping_interval * 1000).start()
        if static_indexes is not None:

            def sweep_static() -> None:
                loop.run_in_executor(static_indexes.indexes.executor, static_indexes.sweep)

            loop.add_callback(sweep_static)
            PeriodicCallback(sweep_static, self.static_index_sweep_interval * 1000).start()
        runtime.set_switch_interval(self.switch_interval)
        if self.malloc_trim_interval > 0:

            async def trim() -> None:
                self.log.debug("%s", await loop.run_in_executor(executor, runtime.trim_heap))

            PeriodicCallback(trim, self.malloc_trim_interval * 1000).start()
        self.log.info(runtime.describe(self.switch_interval, self.malloc_trim_interval))
        scheduler = None
        if self.mirror_schedule:
            from jupyter_repo.mirroring.scheduler import MirrorScheduler

            scheduler = MirrorScheduler(repo, self.log, parallel=max(1, self.mirror_sync_threads))
            loop.add_callback(scheduler.tick)
            PeriodicCallback(scheduler.tick, self.mirror_schedule_interval * 1000).start()

        def stop(*_args: Any) -> None:
            loop.add_callback_from_signal(
                self._shutdown,
                server,
                repo,
                executor,
                app.settings["channel_indexes"],
                app.settings["notebook_previews"],
                scheduler,
            )

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            loop.start()
        finally:
            app.settings["proxies"].close()
            repo.close()

    async def _shutdown(
        self,
        server: HTTPServer,
        repo: Any,
        executor: ThreadPoolExecutor,
        indexes: ChannelIndexes,
        previews: NotebookPreviews,
        scheduler: Any = None,
    ) -> None:
        server.stop()
        if scheduler is not None:
            await scheduler.close()
        await asyncio.sleep(0)
        await previews.close()
        executor.shutdown(wait=False, cancel_futures=True)
        indexes.close()
        IOLoop.current().stop()


def main() -> None:
    ServeApp.launch_instance()
    sys.exit(0)
