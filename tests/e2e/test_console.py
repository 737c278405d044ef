"""The web console (issue 8) end to end: /lambdad/usage[/series] and /lambdad/tune against real
invocations, then the console itself in headless Chromium (Debian's chromium + playwright-core
from console/node_modules, see tests/e2e/console_browser/check_console.mjs): the function list,
an invoke from the form with its result and log tail, the recent invocations, the charts with
data, and a screenshot in the test output directory. A second class runs the console against a
server with access keys, where the browser signs its requests with SigV4."""

import json
import os
import subprocess
import tempfile
import time
import unittest

import boto3
import botocore.config

from harness import REGION, Server, ServerTestCase, build_dir, lambdad_binary, probe_zip

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(HERE, "console_browser", "check_console.mjs")
CHROMIUM = os.environ.get("LAMBDAD_CHROMIUM", "/usr/bin/chromium")
PLAYWRIGHT = os.path.join(ROOT, "console", "node_modules", "playwright-core")


def output_dir():
    """Where screenshots go: $LAMBDAD_TEST_OUTPUT_DIR or <build>/tests/e2e-output."""
    d = os.environ.get("LAMBDAD_TEST_OUTPUT_DIR") or os.path.join(build_dir(), "tests",
                                                                   "e2e-output")
    os.makedirs(d, exist_ok=True)
    return d


def require_browser(test):
    if not os.path.exists(CHROMIUM):
        test.fail("%s missing: run ./setup.sh (Debian package chromium)" % CHROMIUM)
    if not os.path.isdir(PLAYWRIGHT):
        test.fail("%s missing: run ./setup.sh (npm ci in console/)" % PLAYWRIGHT)


def run_browser(test, **args):
    """Runs check_console.mjs; returns its JSON report (fails the test with it on error)."""
    require_browser(test)
    p = subprocess.run(["node", SCRIPT, json.dumps(args)], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    test.assertTrue(lines, "no report from the browser script (rc %d): %s %s"
                    % (p.returncode, p.stdout[-2000:], p.stderr[-4000:]))
    report = json.loads(lines[-1])
    if report.get("screenshot"):
        print("\nconsole screenshot: %s" % report["screenshot"])
    test.assertEqual(p.returncode, 0, json.dumps(report, indent=1) + p.stderr[-4000:])
    test.assertEqual(report["pageErrors"], [], report)
    return report


class ConsoleTest(ServerTestCase):
    def get_json(self, path):
        status, headers, body = self.raw("GET", path)
        return status, headers, json.loads(body) if body else None

    def wait_usage_rows(self, name, count):
        deadline = time.monotonic() + 15
        while True:
            status, _, doc = self.get_json("/lambdad/usage?function=%s&limit=1000" % name)
            self.assertEqual(status, 200, doc)
            if len(doc["invocations"]) >= count:
                return doc["invocations"]
            self.assertLess(time.monotonic(), deadline, doc)
            time.sleep(0.1)

    def test_usage_endpoints_and_console_in_browser(self):
        name = self.unique_name("console")
        self.create_function(name, probe_zip(), MemorySize=256)
        for action in ('{"action":"echo"}', '{"action":"error"}', '{"action":"sleep","ms":5}'):
            self.invoke(name, action)

        # Recent invocations: newest first, with the REPORT figures.
        rows = self.wait_usage_rows(name, 3)
        self.assertEqual(len(rows), 3)
        self.assertEqual([r["status"] for r in rows], ["ok", "error", "ok"])
        cold = rows[-1]
        self.assertTrue(cold["cold"])
        self.assertGreater(cold["initDurationMs"], 0)
        self.assertFalse(rows[0]["cold"])
        self.assertIsNone(rows[0]["initDurationMs"])
        for r in rows:
            self.assertEqual(r["memoryMb"], 256)
            self.assertEqual(r["version"], "$LATEST")
            self.assertGreaterEqual(r["billedMs"], int(r["durationMs"]))
            self.assertGreater(r["costPico"], 0)
        self.assertGreaterEqual(rows[0]["durationMs"], 5.0)  # the 5 ms sleep
        status, _, limited = self.get_json("/lambdad/usage?function=%s&limit=1" % name)
        self.assertEqual([r["requestId"] for r in limited["invocations"]], [rows[0]["requestId"]])

        # Series: the buckets add up to the same invocations, errors, cold starts and cost.
        now_ms = int(time.time() * 1000)
        status, _, series = self.get_json(
            "/lambdad/usage/series?function=%s&since=%d&until=%d&step=60"
            % (name, now_ms - 600_000, now_ms + 60_000))
        self.assertEqual(status, 200, series)
        buckets = series["buckets"]
        self.assertGreaterEqual(len(buckets), 11)
        self.assertEqual(sorted(set(b["t"] % 60_000 for b in buckets)), [0])
        self.assertEqual(sum(b["invocations"] for b in buckets), 3)
        self.assertEqual(sum(b["errors"] for b in buckets), 1)
        self.assertEqual(sum(b["coldStarts"] for b in buckets), 1)
        self.assertEqual(sum(b["costPico"] for b in buckets), sum(r["costPico"] for r in rows))
        busy = [b for b in buckets if b["invocations"]]
        for b in busy:
            self.assertLessEqual(b["p50Ms"], b["p95Ms"])
            self.assertLessEqual(b["p95Ms"], b["p99Ms"])
            self.assertLessEqual(b["p99Ms"], b["maxMs"])

        # Bad input: Lambda's error types, and the server keeps serving.
        for path, status_want, etype in [
            ("/lambdad/usage?limit=abc", 400, "InvalidParameterValueException"),
            ("/lambdad/usage?limit=100000", 400, "InvalidParameterValueException"),
            ("/lambdad/usage?function=../x", 400, "InvalidParameterValueException"),
            ("/lambdad/usage/series?step=0", 400, "InvalidParameterValueException"),
            ("/lambdad/usage/series?since=0&step=1", 400, "InvalidParameterValueException"),
            ("/lambdad/tune/no-such-fn", 404, "ResourceNotFoundException"),
            ("/lambdad/tune/a%2F..%2Fb", 400, "InvalidParameterValueException"),
        ]:
            status, headers, _ = self.raw("GET", path)
            self.assertEqual((status, headers.get("x-amzn-errortype")), (status_want, etype), path)
        status, headers, _ = self.raw("PUT", "/lambdad/tune/" + name, body=b"[1,2]")
        self.assertEqual((status, headers.get("x-amzn-errortype")),
                         (400, "InvalidRequestContentException"))
        status, _, _ = self.raw("DELETE", "/lambdad/usage")
        self.assertEqual(status, 405)
        status, headers, body = self.raw("GET", "/console/nope.js")
        self.assertEqual(status, 404)

        # Static files: content types, ETag revalidation.
        status, headers, body = self.raw("GET", "/console")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertIn(b"/console/app.js", body)
        status, headers, body = self.raw("GET", "/console/uPlot.iife.min.js")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/javascript"))
        self.assertIn(b"uPlot", body)
        self.assertGreater(len(body), 10_000, "uPlot not bundled: run ./setup.sh and re-run cmake")
        status, _, _ = self.raw("GET", "/console/app.js",
                                headers={"If-None-Match": self.raw("GET", "/console/app.js")[1]["etag"]})
        self.assertEqual(status, 304)

        # A tuning result, stored by `lambdad tune` through PUT /lambdad/tune/NAME.
        report = os.path.join(self.tmpdir, "tune.html")
        p = subprocess.run([lambdad_binary(), "tune", name, "--memory", "128,512", "--runs", "2",
                            "-d", '{"action":"echo"}', "--report", report, "--endpoint-url",
                            self.server.endpoint], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        status, _, tune = self.get_json("/lambdad/tune/" + name)
        self.assertEqual(status, 200, tune)
        self.assertEqual([r["memoryMb"] for r in tune["rows"]], [128, 512])
        self.assertEqual(self.wait_active(name)["MemorySize"], 256)
        # tune invoked 2 x (1 warm-up + 2); wait for those records too.
        self.wait_usage_rows(name, 9)

        # The console in a real browser.
        shot = os.path.join(output_dir(), "console-%s.png" % self._testMethodName)
        rep = run_browser(self, url=self.server.endpoint, function=name, screenshot=shot,
                          payload='{"action":"print","text":"hello from the console form"}',
                          expectTune=True)
        self.assertEqual(rep["consoleStatus"], 200)
        self.assertTrue(rep["uplotLoaded"])
        self.assertIn(name, rep["functions"])
        self.assertEqual(rep["configMemory"], "256 MB")
        self.assertEqual(rep["lastInvoke"]["status"], 200)
        self.assertIsNone(rep["lastInvoke"]["functionError"])
        self.assertIn('"printed"', rep["invokeResult"])
        self.assertIn("hello from the console form", rep["logTail"])
        self.assertIn("START RequestId: %s" % rep["lastInvoke"]["requestId"], rep["logTail"])
        self.assertIn("REPORT RequestId: %s" % rep["lastInvoke"]["requestId"], rep["logTail"])
        # The new row: time, id, version, status, warm, duration, billed, memory, max used ...
        row = rep["recentRow"]
        self.assertEqual(row[1], rep["lastInvoke"]["requestId"])
        self.assertEqual(row[3], "ok")
        self.assertEqual(row[7], "256")
        self.assertGreaterEqual(rep["recentRows"], 10)
        charts = rep["charts"]
        for cid in ("chart-duration", "chart-invocations", "chart-cost", "chart-tune"):
            self.assertGreaterEqual(charts[cid]["canvases"], 1, charts)
            self.assertGreater(charts[cid]["nonEmpty"], 0, charts)
        self.assertEqual(charts["chart-duration"]["series"], 3)  # p50, p95, p99
        self.assertEqual(charts["chart-invocations"]["series"], 3)  # invocations, errors, cold
        self.assertEqual(charts["chart-tune"]["points"], 2)
        self.assertEqual(rep["tune"]["rows"], 2)
        self.assertIn("cheapest", rep["tuneNote"])
        self.assertTrue(os.path.getsize(rep["screenshot"]) > 10_000)


class ConsoleAuthTest(ServerTestCase):
    """With access keys the console's files load, its data calls are refused unsigned, and the
    browser signs them (console/sigv4.js) once given a key."""

    @classmethod
    def setUpClass(cls):
        data_dir = tempfile.mkdtemp(prefix="lambdad-e2e-console-auth-")
        p = subprocess.run([lambdad_binary(), "keys", "add", "--name", "console", "--data-dir",
                            data_dir], capture_output=True, text=True, timeout=20,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise AssertionError("lambdad keys add failed: %s" % p.stderr)
        fields = dict(line.split(":", 1) for line in p.stdout.strip().splitlines())
        cls.akid = fields["AccessKeyId"].strip()
        cls.secret = fields["SecretAccessKey"].strip()
        cls.server = Server(data_dir=data_dir).start()
        cls.server.owns(data_dir=True)
        cls._failed = False
        cls.tmpdir = tempfile.mkdtemp(prefix="lambdad-e2e-tmp-")
        cls.lam = boto3.session.Session(
            aws_access_key_id=cls.akid, aws_secret_access_key=cls.secret, region_name=REGION
        ).client("lambda", endpoint_url=cls.server.endpoint,
                 config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=5))

    def test_console_signs_with_an_access_key(self):
        name = self.unique_name("signed")
        self.create_function(name, probe_zip())
        self.invoke(name, '{"action":"echo"}')
        status, _, _ = self.raw("GET", "/console")
        self.assertEqual(status, 200)
        for method, path in [("GET", "/lambdad/usage?function=" + name),
                             ("GET", "/lambdad/usage/series"), ("GET", "/lambdad/tune/" + name),
                             ("PUT", "/lambdad/tune/" + name)]:
            status, headers, _ = self.raw(method, path, body=b"{}" if method == "PUT" else None)
            self.assertEqual(status, 403, path)

        shot = os.path.join(output_dir(), "console-%s.png" % self._testMethodName)
        rep = run_browser(self, url=self.server.endpoint, function=name, screenshot=shot,
                          payload='{"action":"echo","signed":true}',
                          key={"id": self.akid, "secret": self.secret})
        self.assertIn("Access key", rep["noticeBeforeKey"])
        self.assertEqual(rep["rowsBeforeKey"], 0)
        self.assertIn(name, rep["functions"])
        self.assertEqual(rep["lastInvoke"]["status"], 200)
        self.assertIn('"signed": true', rep["invokeResult"])
        self.assertIn("REPORT RequestId", rep["logTail"])
        self.assertGreater(rep["charts"]["chart-invocations"]["nonEmpty"], 0)


if __name__ == "__main__":
    unittest.main()
