"""Bounded soak test on loopback: uploads and questions together against `rag serve` (embedded default) for a
few minutes, more question clients than the model's line holds, so that the service is saturated. Prints,
per kind of request: throughput, p50 / p95, responses by status (with whether every 429/503 carried
Retry-After), client timeouts; and the service's peak RSS (its process and its parser processes) per minute.

    .venv/bin/python benchmarks/soak.py [--model smollm2-135m] [--seconds 180] [--chatters 12] [--uploaders 2]
                                        [--chat-limit '']

Nothing here should be a 5xx other than 503, nor a timeout: a saturated service answers 503 (the line is
full) or 429 (a rate limit) with Retry-After, and its memory stays flat.
"""

import argparse
import collections
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.load import QUESTIONS, percentile  # noqa: E402

TIMEOUT_S = 150  # a client gives up after this: longer than RAG_MAX_WAIT_S (120) + one answer


def rss_mb(pid: int) -> float:
    """Resident memory of the process and its children (the parser processes), in MB."""
    total, pids = 0, [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pids += [int(c) for c in children]
        except (OSError, StopIteration):
            continue
    return total / 1024


def document(n: int) -> bytes:
    rng = random.Random(n)
    facts = " ".join(f"Item {n}-{j} costs {rng.randint(10, 999)} euros and ships from depot {rng.randint(1, 40)}."
                     for j in range(rng.randint(50, 400)))
    return f"Price list {n}.\n\n{facts}\n".encode()


class Record:
    def __init__(self):
        self.lock = threading.Lock()
        self.rows: list[tuple[str, int, float, bool]] = []  # kind, status (0: timeout, -1: error), seconds, retry

    def add(self, kind: str, status: int, seconds: float, retry_after: bool = False) -> None:
        with self.lock:
            self.rows.append((kind, status, seconds, retry_after))


def chatter(url: str, until: float, record: Record, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(timeout=TIMEOUT_S) as client:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                r = client.post(f"{url}/chat", json={"question": rng.choice(QUESTIONS)})
                record.add("chat", r.status_code, time.perf_counter() - started, "retry-after" in r.headers)
                if r.status_code in (429, 503):
                    time.sleep(min(float(r.headers.get("retry-after", 5)), 10))
            except httpx.TimeoutException:
                record.add("chat", 0, time.perf_counter() - started)
            except httpx.HTTPError:
                record.add("chat", -1, time.perf_counter() - started)
                time.sleep(1)


def uploader(url: str, until: float, record: Record, seed: int) -> None:
    n = seed * 100_000
    with httpx.Client(timeout=TIMEOUT_S) as client:
        while time.monotonic() < until:
            n += 1
            started = time.perf_counter()
            try:
                r = client.post(f"{url}/documents", files=[("files", (f"prices-{n}.txt", document(n)))])
                record.add("upload", r.status_code, time.perf_counter() - started, "retry-after" in r.headers)
                if r.status_code == 202:  # follow its job to the end, as a client would
                    job = r.json()["job_id"]
                    while time.monotonic() < until + 120:
                        state = client.get(f"{url}/jobs/{job}").json()
                        if state["status"] in ("done", "failed"):
                            record.add("ingest", 200 if state["status"] == "done" else 422,
                                       time.perf_counter() - started)
                            break
                        time.sleep(0.5)
            except httpx.TimeoutException:
                record.add("upload", 0, time.perf_counter() - started)
            except httpx.HTTPError:
                record.add("upload", -1, time.perf_counter() - started)
                time.sleep(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="bundled model name (default: RAG_LLM_MODEL)")
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--chatters", type=int, default=12)
    parser.add_argument("--uploaders", type=int, default=2)
    parser.add_argument("--chat-limit", help="RAG_CHAT_RATE_LIMIT for the service ('' = none; default: its own, "
                        "30/minute per key, here per client address: every client of this script shares it)")
    args = parser.parse_args()
    from tests.helpers.servers import free_port, wait_until_up

    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        env = {**os.environ, "RAG_DATA_DIR": str(Path(scratch) / "store"), "RAG_CACHE": "false",
               **({"RAG_LLM_MODEL": args.model} if args.model else {}),
               **({"RAG_CHAT_RATE_LIMIT": args.chat_limit} if args.chat_limit is not None else {})}
        subprocess.run([sys.executable, "-m", "ingest", str(ROOT / "data/samples")], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        server = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        record, peaks = Record(), collections.defaultdict(float)
        try:
            wait_until_up(server, f"{url}/health", "rag serve", timeout=300)
            started = time.monotonic()
            until = started + args.seconds
            threads = [threading.Thread(target=chatter, args=(url, until, record, i)) for i in range(args.chatters)]
            threads += [threading.Thread(target=uploader, args=(url, until, record, i + 1))
                        for i in range(args.uploaders)]
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                minute = int((time.monotonic() - started) // 60)
                peaks[minute] = max(peaks[minute], rss_mb(server.pid))
                time.sleep(1)
            wall = time.monotonic() - started
            healthy = httpx.get(f"{url}/health", timeout=30).status_code
        finally:
            server.terminate()
            server.wait(timeout=60)

    print(f"{args.seconds:.0f} s of load ({wall:.0f} s with the last replies), {args.chatters} question clients, "
          f"{args.uploaders} upload clients, model {args.model or 'default'}; /health after: {healthy}")
    for kind in ("chat", "upload", "ingest"):
        rows = [r for r in record.rows if r[0] == kind]
        if not rows:
            continue
        ok = [r[2] for r in rows if r[1] in (200, 202)]
        statuses = collections.Counter("timeout" if r[1] == 0 else "error" if r[1] == -1 else r[1] for r in rows)
        refused = [r for r in rows if r[1] in (429, 503)]
        print(f"{kind:>6}: {len(ok)} ok ({60 * len(ok) / wall:.1f}/min), p50 {percentile(ok, 0.5) if ok else 0:.1f} s, "
              f"p95 {percentile(ok, 0.95) if ok else 0:.1f} s; by status {dict(sorted(statuses.items(), key=str))}"
              + (f"; Retry-After on {sum(r[3] for r in refused)} of {len(refused)} 429/503" if refused else ""))
    print("peak RSS by minute (MB): " + ", ".join(f"{peaks[m]:.0f}" for m in sorted(peaks)))
    fivexx = sum(1 for r in record.rows if r[1] >= 500 and r[1] != 503)
    print(f"5xx other than 503: {fivexx}; client timeouts: {sum(1 for r in record.rows if r[1] == 0)}")


if __name__ == "__main__":
    main()
