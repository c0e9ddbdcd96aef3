"""tusk for Python against asyncpg, psycopg 3 and psqlpy, side by side in
one run on one throwaway cluster (BENCHMARKS.md's method).

    python/bench/run            # builds the module in release mode first
    python bench/bench.py --rounds 3 --seconds 3 --rows 1000000

P1: sequential point select on one connection (pgbench_accounts, random aid).
P1s: P1 from blocking code (tusk.connect_sync, psycopg's sync connection).
P2: 64 asyncio tasks sharing a pool of 8 (peers with a pool of their own).
P3: 1M-row fetch of (int8, text, float8, timestamptz, bool), every value a
    Python object.
P4: COPY IN of 1M rows from Python tuples of P3's columns (built once, not
    timed): tusk's and asyncpg's copy_records_to_table, psycopg's binary
    cursor.copy with write_row (psqlpy's hangs from ~50k rows: left out).
Rounds are interleaved (A B C D, A B C D, ...); medians with min-max spread,
client CPU (getrusage of this process, every thread) per 1,000 queries or
per 1M rows. Writes JSON and an SVG chart to bench/results/latest.{json,svg}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import tusk

REPO = Path(__file__).resolve().parents[2]
SELECT = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"
WIDE = "SELECT id, name, score, ts, flag FROM bench_wide"
ACCOUNTS = 1_000_000


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Cluster:
    def __init__(self) -> None:
        exe = os.environ.get("TUSK_TESTKIT_CLUSTER") or str(
            Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release" / "tusk-testkit-cluster"
        )
        self.proc = subprocess.Popen(
            [exe, "shared_buffers=512MB", "max_connections=200"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().split()[3]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


async def load(url: str, rows: int) -> None:
    c = await tusk.connect(url)
    await c.execute(
        "CREATE TABLE IF NOT EXISTS pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))"
    )
    if await c.fetchval("SELECT count(*) FROM pgbench_accounts") != ACCOUNTS:
        await c.execute("TRUNCATE pgbench_accounts")
        await c.execute(
            "INSERT INTO pgbench_accounts SELECT g, 1 + (g - 1) / 100000, 0, '' FROM generate_series(1, $1) g", ACCOUNTS
        )
    await c.execute(
        "CREATE TABLE IF NOT EXISTS bench_wide (id int8, name text, score float8, ts timestamptz, flag bool)"
    )
    if await c.fetchval("SELECT count(*) FROM bench_wide") != rows:
        await c.execute("TRUNCATE bench_wide")
        await c.execute(
            "INSERT INTO bench_wide SELECT g, 'name-' || g, g * 1.5, now() - g * interval '1 second', g % 2 = 0"
            " FROM generate_series(1, $1) g",
            rows,
        )
    await c.execute("VACUUM ANALYZE")
    await c.close()


# ---- P1: sequential point select ------------------------------------------------


async def p1_tusk(url: str, seconds: float) -> tuple[int, float]:
    c = await tusk.connect(url)
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(100):
            await c.fetchval(SELECT, random.randint(1, ACCOUNTS))
        n += 100
    await c.close()
    return n, seconds


async def p1_asyncpg(url: str, seconds: float) -> tuple[int, float]:
    import asyncpg

    c = await asyncpg.connect(url)
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(100):
            await c.fetchval(SELECT, random.randint(1, ACCOUNTS))
        n += 100
    await c.close()
    return n, seconds


async def p1_psycopg(url: str, seconds: float) -> tuple[int, float]:
    import psycopg

    c = await psycopg.AsyncConnection.connect(url, autocommit=True)
    cur = c.cursor(binary=True)
    sql = SELECT.replace("$1", "%s")
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(100):
            await cur.execute(sql, (random.randint(1, ACCOUNTS),), prepare=True)
            await cur.fetchone()
        n += 100
    await c.close()
    return n, seconds


async def p1_psqlpy(url: str, seconds: float) -> tuple[int, float]:
    import psqlpy

    c = await psqlpy.connect(dsn=url)
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(100):
            await c.fetch_val(SELECT, [random.randint(1, ACCOUNTS)])
        n += 100
    return n, seconds


# ---- P1s: P1 from blocking code (no event loop) ------------------------------


async def p1s_tusk(url: str, seconds: float) -> tuple[int, float]:
    c = tusk.connect_sync(url)
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(100):
            c.fetchval(SELECT, random.randint(1, ACCOUNTS))
        n += 100
    c.close()
    return n, seconds


async def p1s_psycopg(url: str, seconds: float) -> tuple[int, float]:
    import psycopg

    c = psycopg.connect(url, autocommit=True)
    cur = c.cursor(binary=True)
    sql = SELECT.replace("$1", "%s")
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(100):
            cur.execute(sql, (random.randint(1, ACCOUNTS),), prepare=True)
            cur.fetchone()
        n += 100
    c.close()
    return n, seconds


# ---- P2: 64 tasks on a pool of 8 ------------------------------------------------


async def _p2(run_one: Callable[[], Awaitable[Any]], seconds: float) -> tuple[int, float]:
    counts = [0] * 64
    end = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        while time.perf_counter() < end:
            await run_one()
            counts[i] += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(64)))
    return sum(counts), time.perf_counter() - t0


async def p2_tusk(url: str, seconds: float) -> tuple[int, float]:
    pool = await tusk.create_pool(url, max_size=8, min_size=8)
    r = await _p2(lambda: pool.fetchval(SELECT, random.randint(1, ACCOUNTS)), seconds)
    await pool.close()
    return r


async def p2_asyncpg(url: str, seconds: float) -> tuple[int, float]:
    import asyncpg

    pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
    r = await _p2(lambda: pool.fetchval(SELECT, random.randint(1, ACCOUNTS)), seconds)
    await pool.close()
    return r


async def p2_psycopg(url: str, seconds: float) -> tuple[int, float]:
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(url, min_size=8, max_size=8, kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True)
    sql = SELECT.replace("$1", "%s")

    async def one() -> Any:
        async with pool.connection() as c:
            cur = c.cursor(binary=True)
            await cur.execute(sql, (random.randint(1, ACCOUNTS),), prepare=True)
            return await cur.fetchone()

    r = await _p2(one, seconds)
    await pool.close()
    return r


async def p2_psqlpy(url: str, seconds: float) -> tuple[int, float]:
    import psqlpy

    pool = psqlpy.ConnectionPool(dsn=url, max_db_pool_size=8)

    async def one() -> Any:
        async with pool.acquire() as c:
            return await c.fetch_val(SELECT, [random.randint(1, ACCOUNTS)])

    r = await _p2(one, seconds)
    pool.close()
    return r


# ---- P3: 1M-row fetch -----------------------------------------------------------


async def p3_tusk(url: str, rows: int) -> tuple[int, float]:
    c = await tusk.connect(url)
    t0 = time.perf_counter()
    got = await c.query(WIDE).all()
    dt = time.perf_counter() - t0
    assert len(got) == rows and isinstance(got[-1][3], object)
    await c.close()
    return len(got), dt


async def p3_asyncpg(url: str, rows: int) -> tuple[int, float]:
    import asyncpg

    c = await asyncpg.connect(url)
    t0 = time.perf_counter()
    got = await c.fetch(WIDE)
    dt = time.perf_counter() - t0
    assert len(got) == rows
    await c.close()
    return len(got), dt


async def p3_psycopg(url: str, rows: int) -> tuple[int, float]:
    import psycopg

    c = await psycopg.AsyncConnection.connect(url, autocommit=True)
    cur = c.cursor(binary=True)
    t0 = time.perf_counter()
    await cur.execute(WIDE)
    got = await cur.fetchall()
    dt = time.perf_counter() - t0
    assert len(got) == rows
    await c.close()
    return len(got), dt


async def p3_psqlpy(url: str, rows: int) -> tuple[int, float]:
    import psqlpy

    c = await psqlpy.connect(dsn=url)
    t0 = time.perf_counter()
    got = (await c.execute(WIDE)).result()
    dt = time.perf_counter() - t0
    assert len(got) == rows
    return len(got), dt


# ---- P4: COPY IN of 1M rows from Python tuples --------------------------------

P4_TABLE = "bench_copy"
P4_COLS = ["id", "name", "score", "ts", "flag"]
_P4_RECORDS: list[tuple[Any, ...]] = []


def p4_records(rows: int) -> list[tuple[Any, ...]]:
    """P3's columns as tuples (built once per run)."""
    if len(_P4_RECORDS) != rows:
        import datetime as dt

        base = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
        step = dt.timedelta(seconds=1)
        _P4_RECORDS[:] = [(i, f"name-{i}", i * 1.5, base - i * step, i % 2 == 0) for i in range(rows)]
    return _P4_RECORDS


async def _p4_reset(url: str) -> None:
    """An empty table, and no server work left over from the previous
    client's COPY in anyone's timed run: autovacuum is off for the table
    (it would analyze the last 1M rows), and a checkpoint writes out the
    last COPY's pages and WAL now instead of during the next COPY."""
    c = await tusk.connect(url)
    await c.execute(
        f"CREATE TABLE IF NOT EXISTS {P4_TABLE} (id int8, name text, score float8, ts timestamptz, flag bool)"
        " WITH (autovacuum_enabled = off)"
    )
    await c.execute(f"TRUNCATE {P4_TABLE}")
    await c.execute("CHECKPOINT")
    await c.close()


async def p4_tusk(url: str, rows: int) -> tuple[int, float]:
    records = p4_records(rows)
    await _p4_reset(url)
    c = await tusk.connect(url)
    t0 = time.perf_counter()
    n = await c.copy_records_to_table(P4_TABLE, records, columns=P4_COLS)
    dt = time.perf_counter() - t0
    assert n == rows
    await c.close()
    return n, dt


async def p4_asyncpg(url: str, rows: int) -> tuple[int, float]:
    import asyncpg

    records = p4_records(rows)
    await _p4_reset(url)
    c = await asyncpg.connect(url)
    t0 = time.perf_counter()
    status = await c.copy_records_to_table(P4_TABLE, records=records, columns=P4_COLS)
    dt = time.perf_counter() - t0
    assert status == f"COPY {rows}", status
    await c.close()
    return rows, dt


async def p4_psycopg(url: str, rows: int) -> tuple[int, float]:
    import psycopg

    records = p4_records(rows)
    await _p4_reset(url)
    c = await psycopg.AsyncConnection.connect(url, autocommit=True)
    cur = c.cursor()
    t0 = time.perf_counter()
    async with cur.copy(f"COPY {P4_TABLE} ({', '.join(P4_COLS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "text", "float8", "timestamptz", "bool"])
        for r in records:
            await copy.write_row(r)
    dt = time.perf_counter() - t0
    assert cur.rowcount == rows, cur.rowcount
    await c.close()
    return rows, dt


# psqlpy (0.13.1) has copy_records_to_table too, but on this machine it
# hangs from about 50,000 rows on (10,000 go through in 0.06 s, and the
# process then hangs at exit): it is left out of P4 until that is fixed.


# ---- pool acquire latency and idle connection memory --------------------------


def rss() -> int:
    """This process's resident memory, bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def acquire_tusk(url: str, n: int) -> list[float]:
    pool = await tusk.create_pool(url, max_size=8, min_size=8)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with pool.acquire():
            out.append(time.perf_counter() - t0)
    await pool.close()
    return out


async def acquire_asyncpg(url: str, n: int) -> list[float]:
    import asyncpg

    pool = await asyncpg.create_pool(url, min_size=8, max_size=8)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with pool.acquire():
            out.append(time.perf_counter() - t0)
    await pool.close()
    return out


async def acquire_psycopg(url: str, n: int) -> list[float]:
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(url, min_size=8, max_size=8, kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with pool.connection():
            out.append(time.perf_counter() - t0)
    await pool.close()
    return out


IDLE = 50


async def memory_tusk(url: str) -> float:
    warm = await tusk.create_pool(url, max_size=1)
    before = rss()
    pool = await tusk.create_pool(url, max_size=IDLE, min_size=IDLE)
    while pool.stats()["idle"] < IDLE:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    used = (rss() - before) / IDLE
    await pool.close()
    await warm.close()
    return used


async def memory_asyncpg(url: str) -> float:
    import asyncpg

    warm = await asyncpg.create_pool(url, min_size=1, max_size=1)
    before = rss()
    pool = await asyncpg.create_pool(url, min_size=IDLE, max_size=IDLE)
    await asyncio.sleep(0.5)
    used = (rss() - before) / IDLE
    await pool.close()
    await warm.close()
    return used


async def memory_psycopg(url: str) -> float:
    from psycopg_pool import AsyncConnectionPool

    warm = AsyncConnectionPool(url, min_size=1, max_size=1, open=False)
    await warm.open(wait=True)
    before = rss()
    pool = AsyncConnectionPool(url, min_size=IDLE, max_size=IDLE, open=False)
    await pool.open(wait=True)
    await asyncio.sleep(0.5)
    used = (rss() - before) / IDLE
    await pool.close()
    await warm.close()
    return used


async def pool_figures(url: str, rounds: int) -> dict[str, Any]:
    """Acquire p50 (µs, a warm pool of 8, one task; the release is not timed) and client
    memory per idle pooled connection (KB, RSS growth for a pool of 50)."""
    acq = {"tusk": acquire_tusk, "asyncpg": acquire_asyncpg, "psycopg": acquire_psycopg}
    mem = {"tusk": memory_tusk, "asyncpg": memory_asyncpg, "psycopg": memory_psycopg}
    out: dict[str, Any] = {"acquire_p50_us": {}, "idle_conn_kb": {}}
    for name in acq:
        if not available(name, "A"):
            continue
        lat: list[float] = []
        kb: list[float] = []
        for _ in range(rounds):
            lat += await acq[name](url, 2000)
            kb.append(await mem[name](url) / 1024)
        out["acquire_p50_us"][name] = statistics.median(lat) * 1e6
        out["idle_conn_kb"][name] = statistics.median(kb)
    print("\nPool: acquire p50 (one task, warm pool of 8), client memory per idle pooled connection")
    for name in out["acquire_p50_us"]:
        print(f"  {name:8} {out['acquire_p50_us'][name]:8.1f} us   {out['idle_conn_kb'][name]:8.1f} KB")
    return out


WORKLOADS: dict[str, dict[str, Callable[..., Awaitable[tuple[int, float]]]]] = {
    "P1": {"tusk": p1_tusk, "asyncpg": p1_asyncpg, "psycopg": p1_psycopg, "psqlpy": p1_psqlpy},
    "P1s": {"tusk": p1s_tusk, "psycopg": p1s_psycopg},
    "P2": {"tusk": p2_tusk, "asyncpg": p2_asyncpg, "psycopg": p2_psycopg, "psqlpy": p2_psqlpy},
    "P3": {"tusk": p3_tusk, "asyncpg": p3_asyncpg, "psycopg": p3_psycopg, "psqlpy": p3_psqlpy},
    "P4": {"tusk": p4_tusk, "asyncpg": p4_asyncpg, "psycopg": p4_psycopg},
}

# Workloads counted in rows (per 1M rows of client CPU), not queries.
ROW_WORKLOADS = ("P3", "P4")


def available(name: str, wl: str = "") -> bool:
    if name == "tusk":
        return True
    try:
        __import__(name)
        if name == "psycopg" and wl in ("P2", "A", "M"):
            __import__("psycopg_pool")
        return True
    except ImportError:
        return False


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--only", default="pool,P1,P1s,P2,P3,P4")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "latest.json"))
    ap.add_argument("--chart", metavar="JSON", help="only draw the SVG of an earlier run's JSON")
    args = ap.parse_args()
    if args.chart:
        Path(args.chart).with_suffix(".svg").write_text(chart(json.loads(Path(args.chart).read_text())))
        return
    cluster = Cluster()
    try:
        await load(cluster.url, args.rows)
        results: dict[str, Any] = {}
        pool_out: dict[str, Any] = {}
        for wl in args.only.split(","):
            if wl == "pool":
                pool_out = await pool_figures(cluster.url, args.rounds)
                continue
            clients = {k: v for k, v in WORKLOADS[wl].items() if available(k, wl)}
            samples: dict[str, list[tuple[float, float]]] = {k: [] for k in clients}
            for r in range(args.rounds):
                for name, fn in clients.items():
                    c0 = cpu()
                    rowwise = wl in ROW_WORKLOADS
                    n, secs = await fn(cluster.url, args.rows if rowwise else args.seconds)
                    used = cpu() - c0
                    samples[name].append((n / secs, used / n * (1_000_000 if rowwise else 1000)))
            wl_out: dict[str, Any] = {}
            for name, s in samples.items():
                rates = [x[0] for x in s]
                cpus = [x[1] for x in s]
                wl_out[name] = {
                    "median": statistics.median(rates),
                    "min": min(rates),
                    "max": max(rates),
                    "cpu_s_per_unit_median": statistics.median(cpus),
                    "unit": "rows/s" if wl in ROW_WORKLOADS else "queries/s",
                    "cpu_unit": "client CPU s per 1M rows" if wl in ROW_WORKLOADS else "client CPU s per 1k queries",
                }
            best_peer = max((v["median"] for k, v in wl_out.items() if k != "tusk"), default=0.0)
            wl_out["ratio_vs_best_peer"] = wl_out["tusk"]["median"] / best_peer if best_peer else None
            results[wl] = wl_out
            print_table(wl, wl_out)
        meta = {
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "rounds": args.rounds,
            "seconds": args.seconds,
            "rows": args.rows,
            "loadavg_at_end": os.getloadavg(),
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        data = {"meta": meta, "results": results, "pool": pool_out}
        Path(args.out).write_text(json.dumps(data, indent=2))
        Path(args.out).with_suffix(".svg").write_text(chart(data))
        print(f"wrote {args.out} and its .svg")
    finally:
        cluster.close()


def chart(data: dict[str, Any]) -> str:
    """An SVG bar chart: per workload, each client's median relative to tusk's."""
    colors = {"tusk": "#2b6cb0", "asyncpg": "#9c4221", "psycopg": "#2f855a", "psqlpy": "#6b46c1"}
    rows: list[tuple[str, str, float, float, str]] = []
    for wl, out in data["results"].items():
        top = max(v["median"] for k, v in out.items() if k != "ratio_vs_best_peer")
        for name, v in out.items():
            if name != "ratio_vs_best_peer":
                rows.append((wl, name, v["median"], v["median"] / top, v["unit"]))
    bar_h, gap, left, width = 18, 4, 130, 420
    height = 40 + len(rows) * (bar_h + gap) + 10 * len(data["results"])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 170}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<text x="10" y="20" font-size="14">tusk for Python vs asyncpg, psycopg 3, psqlpy (median, same run)</text>',
    ]
    y, last = 36, ""
    for wl, name, med, frac, unit in rows:
        if wl != last:
            y += 10
            last = wl
        w = max(1.0, frac * width)
        parts.append(f'<text x="10" y="{y + 13}">{wl} {name}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colors.get(name, "#718096")}"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 13}">{med:,.0f} {unit}</text>')
        y += bar_h + gap
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def print_table(wl: str, out: dict[str, Any]) -> None:
    print(f"\n{wl}  (median [min-max], client CPU)")
    for name, v in out.items():
        if name == "ratio_vs_best_peer":
            continue
        print(
            f"  {name:8} {v['median']:>12,.0f} {v['unit']}  [{v['min']:,.0f}-{v['max']:,.0f}]"
            f"  {v['cpu_s_per_unit_median']:.3f} {v['cpu_unit']}"
        )
    r = out.get("ratio_vs_best_peer")
    print(f"  tusk / best peer: {r:.2f}x" if r else "  no peer")


if __name__ == "__main__":
    asyncio.run(main())
