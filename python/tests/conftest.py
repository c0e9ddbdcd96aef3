"""Fixtures: a real PostgreSQL cluster from tusk's test kit (through the
`tusk-testkit-cluster` binary), a fresh database per test, and tusk
handles on it. No mocks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest

import tusk

REPO = Path(__file__).resolve().parents[2]


class Cluster:
    """A throwaway cluster, driven through the binary's stdin commands."""

    def __init__(self) -> None:
        exe = os.environ.get("TUSK_TESTKIT_CLUSTER")
        if not exe:
            target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
            exe = str(target / "debug" / "tusk-testkit-cluster")
        self.proc = subprocess.Popen(
            [exe],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        first = self._read().split()
        assert first[0] == "port", first
        self.port = int(first[1])
        self.url = first[3]

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("tusk-testkit-cluster exited; see its stderr above")
        return line.strip()

    def command(self, cmd: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        answer = self._read()
        if answer.startswith("error"):
            raise RuntimeError(answer)
        return answer

    def database(self) -> str:
        return self.command("db").split()[1]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        # It drops every test database one by one first (each DROP
        # DATABASE checkpoints): near 200 of them take over a minute on a
        # loaded machine.
        self.proc.wait(timeout=300)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    yield c
    c.close()


@pytest.fixture
def url(cluster: Cluster) -> str:
    return cluster.database()


@pytest.fixture
async def conn(url: str) -> AsyncIterator[tusk.Connection]:
    c = await tusk.connect(url)
    yield c
    await c.close()


@pytest.fixture
async def pool(url: str) -> AsyncIterator[tusk.Pool]:
    p = await tusk.create_pool(url, max_size=10)
    yield p
    await p.close(grace=1.0)


@pytest.fixture
def bouncer_url(cluster: Cluster, url: str) -> str:
    """The test's database through PgBouncer in transaction mode, with the
    driver's pooler mode on (unnamed statements, nothing across flights)."""
    db = url.rsplit("/", 1)[1]
    via = cluster.command(f"pgbouncer {db}").split()[1]
    sep = "&" if "?" in via else "?"
    return f"{via}{sep}pooler_mode=on"
