"""Cost you can see (issue 8) end to end: `lambdad cost` against the REPORT lines of real
invocations, `lambdad tune` over a few memory sizes, and GET /metrics counters."""

import base64
import json
import os
import re
import subprocess
import time
import unittest
import urllib.request

from harness import ServerTestCase, lambdad_binary, probe_zip

PRICE_X86 = 0.0000166667  # $ per GB-s, AWS us-east-1 first tier (the default)
PRICE_REQUEST = 0.0000002  # $0.20 per 1M requests


def report_fields(resp):
    log = base64.b64decode(resp["LogResult"]).decode("utf-8", "replace")
    m = re.search(r"REPORT RequestId: \S+\tDuration: ([0-9.]+) ms\tBilled Duration: (\d+) ms"
                  r"\tMemory Size: (\d+) MB\tMax Memory Used: \d+ MB(\tInit Duration: [0-9.]+ ms)?",
                  log)
    assert m, log
    return float(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) is not None


def parse_table(out):
    lines = [l.split() for l in out.strip().splitlines()]
    header = lines[0]
    return {row[0]: dict(zip(header[1:], row[1:])) for row in lines[1:]}


def metric(text, name, function):
    m = re.search(r'^%s\{function="%s"\} (\S+)$' % (re.escape(name), re.escape(function)), text,
                  re.M)
    return float(m.group(1)) if m else 0.0


class CostTest(ServerTestCase):
    def lambdad(self, *args, timeout=60):
        p = subprocess.run([lambdad_binary(), *args], capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def cost_table(self, name, *extra):
        rc, out, err = self.lambdad("cost", name, "--data-dir", self.server.data_dir, *extra)
        self.assertEqual(rc, 0, err)
        return parse_table(out)

    def test_cost_matches_report_lines(self):
        name = self.unique_name("cost")
        self.create_function(name, probe_zip(), MemorySize=256)
        reports = []
        for i in range(6):
            action = '{"action":"error"}' if i == 2 else '{"action":"echo"}'
            resp, _ = self.invoke(name, action, LogType="Tail")
            reports.append(report_fields(resp))
        # The usage writer is asynchronous: wait until every record is in.
        deadline = time.monotonic() + 15
        while True:
            table = self.cost_table(name)
            if name in table and int(table[name]["INVOCATIONS"]) == 6:
                break
            self.assertLess(time.monotonic(), deadline, table)
            time.sleep(0.1)
        row = table[name]
        billed = sum(b for _, b, _, _ in reports)
        self.assertTrue(all(mem == 256 for _, _, mem, _ in reports))
        self.assertEqual(int(row["BILLED_MS"]), billed)
        self.assertEqual(int(row["ERRORS"]), 1)
        self.assertEqual(int(row["COLD"]), sum(1 for *_, cold in reports if cold))
        self.assertGreaterEqual(int(row["COLD"]), 1)
        gbs = billed * 256 / 1024 / 1000
        self.assertAlmostEqual(float(row["GB_SECONDS"]), gbs, places=9)
        self.assertAlmostEqual(float(row["REQUEST_$"]), 6 * PRICE_REQUEST, places=12)
        compute = sum(b * 256 / 1024 / 1000 * PRICE_X86 for _, b, _, _ in reports)
        self.assertAlmostEqual(float(row["COMPUTE_$"]), compute, places=10)
        self.assertAlmostEqual(float(row["TOTAL_$"]), compute + 6 * PRICE_REQUEST, places=10)
        self.assertIn("TOTAL", table)
        # --since: the last hour includes them, a future date none.
        self.assertEqual(int(self.cost_table(name, "--since", "1h")[name]["INVOCATIONS"]), 6)
        future = self.cost_table(name, "--since", "2100-01-01T00:00:00Z")
        self.assertNotIn(name, future)
        self.assertEqual(int(future["TOTAL"]["INVOCATIONS"]), 0)
        rc, _, err = self.lambdad("cost", "--since", "yesterday", "--data-dir",
                                  self.server.data_dir)
        self.assertEqual(rc, 2, err)

    def test_tune_prints_table_and_restores_config(self):
        name = self.unique_name("tune")
        self.create_function(name, probe_zip(), MemorySize=192, Timeout=10)
        report = os.path.join(self.tmpdir, "tune.html")
        rc, out, err = self.lambdad("tune", name, "--memory", "128,256,512", "--runs", "3",
                                    "-d", '{"action":"sleep","ms":5}', "--report", report,
                                    "--endpoint-url", self.server.endpoint, timeout=120)
        self.assertEqual(rc, 0, out + err)
        table = parse_table(out.split("cheapest:")[0])
        self.assertEqual(sorted(int(k) for k in table), [128, 256, 512], out)
        for mem, row in table.items():
            p50, p95, billed = float(row["P50_MS"]), float(row["P95_MS"]), float(row["BILLED_MS"])
            self.assertGreaterEqual(p50, 5.0, out)  # the function sleeps 5 ms
            self.assertGreaterEqual(p95, p50, out)
            self.assertGreaterEqual(billed, 5, out)
            # $ per 1M = compute at the average billed duration + $0.20 requests
            expected = billed * int(mem) / 1024 / 1000 * PRICE_X86 * 1e6 + 0.20
            self.assertAlmostEqual(float(row["USD_PER_1M"]), expected, delta=0.0001)
            self.assertEqual(int(row["ERRORS"]), 0)
        for label in ("cheapest", "fastest", "balanced"):
            m = re.search(r"^%s: (\d+) MB$" % label, out, re.M)
            self.assertTrue(m, out)
            self.assertIn(m.group(1), table)
        with open(report, encoding="utf-8") as f:
            html = f.read()
        self.assertIn("<svg", html)
        self.assertEqual(html.count('class="cost"'), 3)
        # The result is stored on the server for the web console (GET /lambdad/tune/NAME).
        self.assertIn("console: %s/console#fn=%s" % (self.server.endpoint, name), out)
        status, _, body = self.raw("GET", "/lambdad/tune/" + name)
        self.assertEqual(status, 200, body)
        stored = json.loads(body)
        self.assertEqual(stored["function"], name)
        self.assertEqual([r["memoryMb"] for r in stored["rows"]], [128, 256, 512])
        for r in stored["rows"]:
            self.assertAlmostEqual(r["costPerMillionPico"] / 1e12,
                                   float(table[str(r["memoryMb"])]["USD_PER_1M"]), delta=1e-6)
        for label in ("cheapest", "fastest", "balanced"):
            self.assertEqual(str(stored[label]), re.search(r"^%s: (\d+) MB$" % label, out,
                                                           re.M).group(1))
        cfg = self.wait_active(name)
        self.assertEqual(cfg["MemorySize"], 192)
        self.assertEqual(cfg["Timeout"], 10)

    def test_tune_restores_config_on_failure(self):
        name = self.unique_name("tunefail")
        self.create_function(name, probe_zip(), MemorySize=192)
        # 100 MB is below Lambda's minimum: the second update fails, the first must be undone.
        rc, out, err = self.lambdad("tune", name, "--memory", "256,100", "--runs", "1",
                                    "--report", os.path.join(self.tmpdir, "fail.html"),
                                    "--endpoint-url", self.server.endpoint, timeout=120)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("restored MemorySize=192", err)
        self.assertEqual(self.wait_active(name)["MemorySize"], 192)

    def test_metrics_counters_move(self):
        name = self.unique_name("metrics")
        self.create_function(name, probe_zip())

        def scrape():
            with urllib.request.urlopen(self.server.endpoint + "/metrics", timeout=10) as r:
                self.assertEqual(r.status, 200)
                self.assertTrue(r.headers["Content-Type"].startswith("text/plain"))
                return r.read().decode()

        before = scrape()
        self.assertEqual(metric(before, "lambdad_invocations_total", name), 0)
        self.invoke(name, '{"action":"echo"}')
        self.invoke(name, '{"action":"echo"}')
        self.invoke(name, '{"action":"error"}')
        after = scrape()
        self.assertEqual(metric(after, "lambdad_invocations_total", name), 3)
        self.assertEqual(metric(after, "lambdad_errors_total", name), 1)
        self.assertEqual(metric(after, "lambdad_cold_starts_total", name), 1)
        self.assertEqual(metric(after, "lambdad_duration_seconds_count", name), 3)
        inf = re.search(r'^lambdad_duration_seconds_bucket\{function="%s",le="\+Inf"\} (\d+)$'
                        % re.escape(name), after, re.M)
        self.assertTrue(inf, after)
        self.assertEqual(int(inf.group(1)), 3)
        envs = re.search(r"^lambdad_environments (\d+)$", after, re.M)
        self.assertTrue(envs, after)
        self.assertGreaterEqual(int(envs.group(1)), 1)
        self.assertRegex(after, r"(?m)^lambdad_async_queue_depth 0$")
        self.assertIn("# TYPE lambdad_duration_seconds histogram", after)


if __name__ == "__main__":
    unittest.main()
