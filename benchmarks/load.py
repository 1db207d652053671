"""Bounded load test: 1, 2, 4 and 8 concurrent clients asking `rag serve` (the default model in process, the
sample documents), each client sending its questions one after another. Prints throughput and latency
p50 / p95 per level, 503s (the line is full), and how long two questions sent together take against one.

    .venv/bin/python benchmarks/load.py [--levels 1 2 4 8] [--per-client 2]

The answer cache is off: every question is answered by the model.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUESTIONS = [
    "How many vacation days do I get?", "What is the daily meal allowance abroad?",
    "What is the hotel limit in London?", "How do I connect to the VPN?", "How long is parental leave?",
    "What changed in the latest firmware release?", "Who approves travel expenses?",
    "What should I do on my first day?", "How do I reset my password?", "Which hardware revisions are supported?",
    "When are expense reports due?", "What equipment do new hires get?", "Can I carry over vacation days?",
    "What is the mileage rate for a private car?", "Who do I call for IT help?", "What does the release fix?",
]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def ask(url: str, question: str) -> tuple[int, float, float]:
    started = time.perf_counter()
    response = httpx.post(f"{url}/chat", json={"question": question}, timeout=600)
    queued = response.json().get("timings", {}).get("queued_s", 0.0) if response.status_code == 200 else 0.0
    return response.status_code, time.perf_counter() - started, queued


def level(url: str, clients: int, per_client: int, offset: int) -> dict:
    def client(i):
        return [ask(url, QUESTIONS[(offset + i * per_client + j) % len(QUESTIONS)]) for j in range(per_client)]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = [r for rs in pool.map(client, range(clients)) for r in rs]
    wall = time.perf_counter() - started
    ok = [r for r in results if r[0] == 200]
    latencies = [r[1] for r in ok]
    return {"clients": clients, "answers": len(ok), "busy": sum(r[0] == 503 for r in results), "wall": wall,
            "per_min": 60 * len(ok) / wall, "p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
            "queued_p50": percentile([r[2] for r in ok], 0.5)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--per-client", type=int, default=2)
    args = parser.parse_args()
    from tests.helpers.servers import free_port, wait_until_up

    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        env = {**os.environ, "RAG_DATA_DIR": str(Path(scratch) / "store"), "RAG_CACHE": "false",
               "RAG_SERVICE_URL": "http://127.0.0.1:9"}
        subprocess.run([sys.executable, "-m", "ingest", str(ROOT / "data/samples")], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        server = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(server, f"{url}/health", "rag serve", timeout=300)
            ask(url, "What is this about?")  # warm
            one = [ask(url, q)[1] for q in QUESTIONS[:3]]
            with ThreadPoolExecutor(2) as pool:
                started = time.perf_counter()
                list(pool.map(lambda q: ask(url, q), QUESTIONS[3:5]))
                together = time.perf_counter() - started
            rows = [level(url, c, args.per_client, i * 5) for i, c in enumerate(args.levels)]
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"one question alone: {statistics.median(one):.1f} s (median of 3); two sent together: both done in "
          f"{together:.1f} s = {together / statistics.median(one):.2f}x one")
    print(f"{'clients':>7} {'answers':>7} {'503s':>5} {'wall s':>7} {'answers/min':>11} {'p50 s':>6} {'p95 s':>6} "
          f"{'queued p50 s':>12}")
    for r in rows:
        print(f"{r['clients']:7d} {r['answers']:7d} {r['busy']:5d} {r['wall']:7.1f} {r['per_min']:11.1f} "
              f"{r['p50']:6.1f} {r['p95']:6.1f} {r['queued_p50']:12.1f}")


if __name__ == "__main__":
    main()
