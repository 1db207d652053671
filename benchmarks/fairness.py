"""Fairness under load: one heavy caller (maximal embedding requests, big uploads, long questions, on three
threads) beside one light caller (short questions one after another, and a small upload), each with its own
API key on a real `rag serve`. Prints the light caller's answer latency p50 / p95 and its small upload's time to
ingested, alone and beside the heavy one, and their ratio (target: p95 beside within 2x of alone); and what the
heavy caller got (2xx, 429, 503).

    .venv/bin/python benchmarks/fairness.py [--model smollm2-135m] [--questions 12]
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.load import QUESTIONS, percentile  # noqa: E402


def light_round(url: str, key: str, questions: int) -> dict:
    headers = {"Authorization": f"Bearer {key}"}
    latencies, codes, slowest = [], Counter(), (0.0, {})
    for i in range(questions):
        started = time.perf_counter()
        response = httpx.post(f"{url}/chat", json={"question": QUESTIONS[i % len(QUESTIONS)]}, headers=headers,
                              timeout=900)
        codes[response.status_code] += 1
        if response.status_code == 200:
            latencies.append(time.perf_counter() - started)
            slowest = max(slowest, (latencies[-1], response.json()["timings"]), key=lambda pair: pair[0])
    started = time.perf_counter()
    job = httpx.post(f"{url}/documents", files=[("files", (f"note-{time.time_ns()}.txt", b"The light caller's "
                                                           b"small note: the bike shed is painted green."))],
                     headers=headers, timeout=120).json()
    while httpx.get(f"{url}/jobs/{job['job_id']}", headers=headers, timeout=60).json()["status"] not in ("done", "failed"):
        time.sleep(0.2)
    return {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95), "codes": dict(codes),
            "upload_s": time.perf_counter() - started, "slowest": slowest}


def heavy(url: str, key: str, stop: threading.Event, kind: str, codes: Counter) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random(kind)
    while not stop.is_set():
        try:
            response = heavy_request(url, headers, kind, rng)
        except httpx.HTTPError as e:
            codes[f"{kind} {type(e).__name__}"] += 1
            continue
        codes[f"{kind} {response.status_code}"] += 1
        if response.status_code in (429, 503):
            stop.wait(min(30.0, float(response.headers.get("retry-after", "1"))))


def heavy_request(url: str, headers: dict, kind: str, rng: random.Random) -> httpx.Response:
    if kind == "embeddings":
        texts = [" ".join(rng.choice(QUESTIONS) for _ in range(12))[:488] for _ in range(2048)]
        response = httpx.post(f"{url}/v1/embeddings", json={"model": "all-minilm-l6-v2", "input": texts},
                              headers=headers, timeout=900)
    elif kind == "uploads":
        body = "\n".join(f"Row {i}: part {rng.randint(1, 10**9)} ships from depot {rng.randint(1, 99)}."
                         for i in range(60_000)).encode()  # ~3.5 MB of text: thousands of chunks
        response = httpx.post(f"{url}/documents", files=[("files", (f"big-{time.time_ns()}.txt", body))],
                              headers=headers, timeout=900)
    else:
        question = ("Considering everything in the documents, " + " and ".join(QUESTIONS) * 3)[:3990] + "?"
        response = httpx.post(f"{url}/chat", json={"question": question, "style": "long"}, headers=headers,
                              timeout=900)
    return response


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--questions", type=int, default=12)
    parser.add_argument("--heavy", nargs="+", default=["embeddings", "uploads", "questions"],
                        choices=["embeddings", "uploads", "questions"], help="what the heavy caller sends")
    args = parser.parse_args()
    from tests.helpers.servers import free_port, wait_until_up

    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        env = {**os.environ, "RAG_DATA_DIR": str(Path(scratch) / "store"), "RAG_CACHE": "false",
               "RAG_LLM_MODEL": args.model, "RAG_SERVICE_URL": "http://127.0.0.1:9"}
        keys = {}
        for tenant in ("light", "heavy"):
            made = subprocess.run([sys.executable, "-m", "service", "keys", "create", tenant], cwd=ROOT, env=env,
                                  check=True, capture_output=True, text=True)
            keys[tenant] = made.stdout.strip().splitlines()[-1]
        subprocess.run([sys.executable, "-m", "ingest", str(ROOT / "data/samples"), "--tenant", "light"], cwd=ROOT,
                       env=env, check=True, capture_output=True)
        server = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(server, f"{url}/health", "rag serve", timeout=300)
            light_round(url, keys["light"], 2)  # warm
            alone = light_round(url, keys["light"], args.questions)
            stop, codes = threading.Event(), Counter()
            threads = [threading.Thread(target=heavy, args=(url, keys["heavy"], stop, kind, codes))
                       for kind in args.heavy]
            for thread in threads:
                thread.start()
            time.sleep(5)  # the heavy caller is under way
            beside = light_round(url, keys["light"], args.questions)
            stop.set()
            stopping = time.perf_counter()
        finally:
            server.terminate()  # the heavy caller's requests in flight are cut: the service stops within its bound
            try:
                server.wait(timeout=120)
            except subprocess.TimeoutExpired:
                server.kill()
                print("the service did not stop within 120 s of SIGTERM")
        print(f"stopped {time.perf_counter() - stopping:.1f} s after SIGTERM with the heavy caller's requests in flight")
        for thread in threads:
            thread.join()
    print(f"model {args.model}, {args.questions} light questions a round; heavy: {', '.join(args.heavy)}")
    print(f"{'':8} {'p50 s':>7} {'p95 s':>7} {'upload s':>9}  codes")
    for name, r in (("alone", alone), ("beside", beside)):
        print(f"{name:8} {r['p50']:7.2f} {r['p95']:7.2f} {r['upload_s']:9.2f}  {r['codes']}")
    print("the light caller's slowest answer beside (s, its timings):", beside["slowest"])
    print(f"light p95 beside / alone: {beside['p95'] / alone['p95']:.2f} (target <= 2); "
          f"small upload: {beside['upload_s'] / alone['upload_s']:.2f}x")
    print("heavy caller:", dict(sorted(codes.items())))


if __name__ == "__main__":
    main()
