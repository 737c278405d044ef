"""The server at scale and under a log flood (loopback, bounded): 10,000 functions created
concurrently, then ListFunctions pages through all of them and the server's RSS stays bounded;
a function writing a gigabyte of logs leaves RSS and the log files bounded while other clients
keep being answered."""

import concurrent.futures
import json
import os
import threading
import time

from harness import ServerTestCase, close_client, make_zip, probe_zip

FUNCTIONS = int(os.environ.get("LAMBDAD_SCALE_FUNCTIONS", "10000"))
SPEW_MB = int(os.environ.get("LAMBDAD_SCALE_SPEW_MB", "1024"))
THREADS = 8
RSS_BOUND_MB = 512  # generous: the server holds every function's config in memory


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for fn in files:
            try:
                total += os.path.getsize(os.path.join(root, fn))
            except OSError:
                pass
    return total


class ScaleTest(ServerTestCase):
    def test_ten_thousand_functions_then_list_pages_through_all(self):
        # One tiny package for all: the store is content-addressed, so this measures the
        # registry and the invoker's cache, not zip unpacking.
        zip_bytes = make_zip({"bootstrap": ("#!/bin/sh\nexit 0\n", 0o755)})
        prefix = "scale-%d-" % (time.time_ns() % 10**9)
        names = ["%s%05d" % (prefix, i) for i in range(FUNCTIONS)]
        clients = threading.local()
        made = []

        def create(name):
            if not hasattr(clients, "lam"):
                clients.lam = self.make_client()
                made.append(clients.lam)
            clients.lam.create_function(
                FunctionName=name,
                Runtime="provided.al2023",
                Handler="bootstrap",
                Role="arn:aws:iam::000000000000:role/x",
                Code={"ZipFile": zip_bytes},
            )

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            for f in [pool.submit(create, n) for n in names]:
                f.result()
        for lam in made:
            close_client(lam)
        created_s = time.monotonic() - started
        rss_after_create = rss_mb(self.server.proc.pid)

        seen = []
        marker = None
        pages = 0
        while True:
            kw = {"MaxItems": 50}
            if marker:
                kw["Marker"] = marker
            page = self.lam.list_functions(**kw)
            pages += 1
            self.assertLessEqual(len(page["Functions"]), 50)
            seen += [f["FunctionName"] for f in page["Functions"]]
            marker = page.get("NextMarker")
            if not marker:
                break
            self.assertLess(pages, FUNCTIONS, "pagination does not end")
        mine = [n for n in seen if n.startswith(prefix)]
        self.assertEqual(len(mine), len(set(mine)), "a function listed twice")
        self.assertEqual(sorted(mine), names)

        rss = rss_mb(self.server.proc.pid)
        print(
            "\n[scale] %d functions created in %.1f s with %d threads; %d pages; "
            "server RSS %d MB after create, %d MB after listing"
            % (FUNCTIONS, created_s, THREADS, pages, rss_after_create, rss)
        )
        self.assertLess(rss, RSS_BOUND_MB)
        # Still answering: one of them by name, and an invoke path lookup.
        self.assertEqual(
            self.lam.get_function_configuration(FunctionName=names[-1])["FunctionName"],
            names[-1],
        )

    def test_gigabyte_of_logs_keeps_memory_and_disk_bounded(self):
        spewer = self.unique_name("spew")
        self.create_function(spewer, probe_zip(), Timeout=300)
        other = self.unique_name("other")
        self.create_function(other, probe_zip())
        self.invoke_json(other, {"action": "echo"})  # warm, so "answered meanwhile" is fair
        rss_before = rss_mb(self.server.proc.pid)

        result = {}

        def flood():
            lam = self.make_client(read_timeout=300)
            self.addCleanup(close_client, lam)
            try:
                resp = lam.invoke(
                    FunctionName=spewer,
                    Payload=json.dumps({"action": "spew", "mb": SPEW_MB}),
                    LogType="Tail",
                )
                result["resp"] = resp
                result["body"] = resp["Payload"].read()
            except Exception as e:  # noqa: BLE001 - reported below
                result["error"] = e

        t = threading.Thread(target=flood)
        t.start()
        answered = 0
        peak = rss_before
        while t.is_alive():
            self.assertEqual(self.invoke_json(other, {"action": "echo", "n": answered})["n"], answered)
            self.assertIn("Functions", self.lam.list_functions(MaxItems=1))
            answered += 1
            peak = max(peak, rss_mb(self.server.proc.pid))
            t.join(0.2)
        self.assertNotIn("error", result)
        self.assertEqual(result["resp"]["StatusCode"], 200)
        self.assertNotIn("FunctionError", result["resp"])
        self.assertEqual(json.loads(result["body"]), {"spewed_mb": SPEW_MB})
        self.assertGreater(answered, 0)

        logs = os.path.join(self.server.data_dir, "logs")
        log_bytes = dir_bytes(logs)
        print(
            "\n[scale] %d MiB of logs: server RSS %d MB before, peak %d MB; %d other requests "
            "answered meanwhile; logs dir %d KB on disk"
            % (SPEW_MB, rss_before, peak, answered, log_bytes // 1024)
        )
        self.assertLess(peak - rss_before, 128, "server memory grew with the log volume")
        self.assertLess(log_bytes, 64 * 1024 * 1024, "log files are not bounded")


if __name__ == "__main__":
    import unittest

    unittest.main()
