"""Scale-out fixtures: a throwaway PostgreSQL cluster and a Chroma server per test process.

Session fixtures run once per pytest-xdist worker, so every worker starts its own cluster
and server (about a second each), and every test gets a database of its own: tests never
see each other's rows. Collections in the shared Chroma server are per knowledge base, and
knowledge base ids are random, so the server needs no such care.

PostgreSQL refuses to run as root. As root, the cluster belongs to the `postgres` user
(created by Debian's `postgresql` package) or, failing that, to a system user created here.
Tests are skipped only when the PostgreSQL server binaries are missing.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from core.config import Settings
from core.container import Services, build_services

PG_USER = "almanac"  # the cluster's superuser (trust authentication, 127.0.0.1 only)
FALLBACK_OS_USER = "almanac-pg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_pg_bin() -> Path | None:
    """The directory with `initdb` and `postgres`: on PATH, else Debian's /usr/lib/postgresql/<v>/bin."""
    candidates = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)  # follow e.g. /usr/local/bin symlinks
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    candidates += sorted(versions, key=lambda p: int(p.parent.name), reverse=True)
    for d in candidates:
        if (d / "initdb").is_file() and (d / "postgres").is_file():
            return d
    return None


def unprivileged_user() -> pwd.struct_passwd:
    """An OS user PostgreSQL agrees to run as (needed when the tests run as root)."""
    for name in ("postgres", FALLBACK_OS_USER):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    if not shutil.which("useradd"):
        pytest.skip("running as root, and no 'postgres' user or useradd to run PostgreSQL as")
    for _ in range(20):  # xdist workers may race here; /etc/passwd is locked while one adds
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        FALLBACK_OS_USER], capture_output=True)
        try:
            return pwd.getpwnam(FALLBACK_OS_USER)
        except KeyError:
            time.sleep(0.1)
    raise RuntimeError(f"could not create the system user {FALLBACK_OS_USER!r} for PostgreSQL")


class PgCluster:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        # Not pytest's tmp dir: as root that is private to root, and the server runs as another user.
        self.root = Path(tempfile.mkdtemp(prefix="almanac-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.run_as: dict = {}
        if os.geteuid() == 0:
            user = unprivileged_user()
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root), "LC_ALL": "C"}

    def start(self) -> None:
        subprocess.run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", PG_USER, "--auth=trust",
                        "-E", "UTF8", "--locale=C", "--no-sync"],
                       cwd=self.root, env=self.env, capture_output=True, check=True, **self.run_as)
        for _ in range(5):  # the free port may be taken before the server binds it: try another
            self.port = free_port()
            if self._launch():
                return
        raise RuntimeError("PostgreSQL did not start:\n" + self.log.read_text(errors="replace")[-3000:])

    def _launch(self) -> bool:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data), "-k", str(self.root), "-h", "127.0.0.1",
                 "-p", str(self.port), "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=200"],
                cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                **self.run_as)
        if self._wait_ready(30):
            return True
        self.stop_server()
        return False

    def restart_server(self) -> None:
        """Start the stopped server again on the same port (a database restart, as clients see it)."""
        if not self._launch():
            raise RuntimeError("PostgreSQL did not restart:\n" + self.log.read_text(errors="replace")[-3000:])

    def _wait_ready(self, timeout: float) -> bool:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                psycopg.connect(self.dsn("postgres"), connect_timeout=2).close()
                return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        return False

    def dsn(self, db: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={PG_USER} dbname={db}"

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{db}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        assert re.fullmatch(r"t_[0-9a-f]{12}", name)
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop_server(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # "fast" shutdown: ends open sessions
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        self.stop_server()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster():
    bindir = find_pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, postgres) not found on PATH or in "
                    "/usr/lib/postgresql/*/bin; install Debian's 'postgresql' package (./test.sh does as root)")
    cluster = PgCluster(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster):
    """SQLAlchemy URL of a new, empty database (dropped after the test)."""
    name = pg_cluster.create_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


class ChromaServer:
    """A `chroma run` server on a free port, with its data in `path`; it can be stopped and started again."""

    # The `chroma` console script of this interpreter's chromadb, wherever the venv lives.
    LAUNCHER = "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; sys.exit(app())"

    def __init__(self, path: Path):
        self.path, self.log_path = path, path.parent / f"{path.name}.log"
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ChromaServer:
        for _ in range(5):  # the free port may be taken before the server binds it: try another
            self.port = free_port()
            if self._launch():
                return self
        raise RuntimeError("the Chroma server did not start:\n" + self.log_path.read_text(errors="replace")[-3000:])

    def _launch(self) -> bool:
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", self.LAUNCHER, "run", "--path", str(self.path),
                                          "--host", "127.0.0.1", "--port", str(self.port)],
                                         env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        return False

    def restart(self) -> None:
        """Start the stopped server again on the same port, with the same data."""
        if not self._launch():
            raise RuntimeError("the Chroma server did not restart")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory):
    """A Chroma server shared by the tests of this process."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server")).start()
    try:
        yield server.url
    finally:
        server.stop()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def pg_settings(tmp_path, pg_url, chroma_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=pg_url, chroma_url=chroma_url, ingest_workers=0,
                    embedding_model="mock:words-64")


@pytest.fixture
def pg_svc(pg_settings) -> Services:
    """Services on PostgreSQL and a Chroma server (the scale-out configuration)."""
    services = build_services(pg_settings)
    yield services
    services.close()
