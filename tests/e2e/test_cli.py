"""The lambdad client commands against a real server: invoke (with --log), logs, rm."""
import json
import os
import subprocess
import time
import unittest

from harness import ServerTestCase, lambdad_binary, probe_zip


class CliTest(ServerTestCase):
    def lambdad(self, *args, timeout=60):
        env = dict(os.environ, AWS_ENDPOINT_URL=self.server.endpoint)
        return subprocess.run(
            [lambdad_binary(), *args], capture_output=True, text=True, timeout=timeout, env=env
        )

    def test_invoke_prints_result_and_log_tail(self):
        name = self.unique_name()
        self.create_function(name, probe_zip())
        r = self.lambdad("invoke", name, "-d", '{"action":"print","text":"hello-cli"}', "--log")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"printed": 9})
        self.assertIn("START RequestId: ", r.stderr)
        self.assertIn("hello-cli", r.stderr)
        self.assertIn("REPORT RequestId: ", r.stderr)

    def test_invoke_of_a_failing_function_exits_non_zero(self):
        name = self.unique_name()
        self.create_function(name, probe_zip())
        r = self.lambdad("invoke", name, "-d", '{"action":"error"}')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ProbeError", r.stdout)
        r = self.lambdad("invoke", "no-such-function", "-d", "{}")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Function not found", r.stdout)

    def test_logs_show_platform_lines_and_output(self):
        name = self.unique_name()
        self.create_function(name, probe_zip())
        for i in range(3):
            self.lambdad("invoke", name, "-d", '{"action":"print","text":"line-%d"}' % i)
        deadline = time.time() + 10
        out = ""
        while time.time() < deadline:
            r = self.lambdad("logs", name, "--data-dir", self.server.data_dir)
            out = r.stdout
            if out.count("REPORT RequestId: ") >= 3:
                break
            time.sleep(0.1)
        self.assertEqual(out.count("START RequestId: "), 3, out)
        self.assertEqual(out.count("END RequestId: "), 3, out)
        for i in range(3):
            self.assertIn("line-%d" % i, out)
        self.assertIn("\tBilled Duration: ", out)
        self.assertIn("\tInit Duration: ", out)  # the first was a cold start

    def test_logs_follow_streams_new_invocations(self):
        name = self.unique_name()
        self.create_function(name, probe_zip())
        self.lambdad("invoke", name, "-d", '{"action":"print","text":"before"}')
        env = dict(os.environ, AWS_ENDPOINT_URL=self.server.endpoint)
        follower = subprocess.Popen(
            [lambdad_binary(), "logs", name, "--follow", "--data-dir", self.server.data_dir],
            stdout=subprocess.PIPE, env=env,
        )
        try:
            self.lambdad("invoke", name, "-d", '{"action":"print","text":"after-follow"}')
            seen = ""
            deadline = time.time() + 10
            fd = follower.stdout.fileno()
            os.set_blocking(fd, False)
            while time.time() < deadline and "after-follow" not in seen:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    chunk = b""
                seen += chunk.decode(errors="replace")
                time.sleep(0.05)
            self.assertIn("after-follow", seen)
        finally:
            follower.terminate()
            follower.wait(10)

    def test_status_call_says_which_isolation_is_in_force(self):
        name = self.unique_name()
        self.create_function(name, probe_zip())
        self.lambdad("invoke", name, "-d", '{"action":"echo"}')
        status, headers, body = self.raw("GET", "/lambdad/status")
        self.assertEqual(status, 200, body)
        doc = json.loads(body)
        self.assertTrue(doc["isolation"].startswith(("namespaces", "process")), doc)
        self.assertEqual(doc["auth"], "none")
        self.assertGreaterEqual(doc["invocations"], 1)
        self.assertGreaterEqual(doc["coldStarts"], 1)
        self.assertGreaterEqual(doc["environments"], 1)
        self.assertIn("version", doc)

    def test_rm_deletes(self):
        name = self.unique_name()
        self.create_function(name, probe_zip(), cleanup=False)
        r = self.lambdad("rm", name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("deleted " + name, r.stdout)
        r = self.lambdad("rm", name)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Function not found", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
