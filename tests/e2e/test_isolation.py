"""Isolation and resource limits (issue 5) end to end: the probe under a real server with the
namespace spawner: /var/task, read-only filesystem, private /tmp, memory/pids/CPU cgroups."""

import base64
import errno
import glob
import hashlib
import io
import json
import os
import re
import stat
import tempfile
import time
import unittest
import zipfile

from harness import Server, ServerTestCase, probe_zip


class IsolationTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(cls.server.log_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        if "isolation: namespaces" not in log:
            super().tearDownClass()
            raise unittest.SkipTest("namespace isolation unavailable here (not root?)")

    def probe(self, **kw):
        name = self.unique_name("iso")
        self.create_function(name, probe_zip(), **kw)
        return name

    def call(self, name, event, log=False):
        kw = {"LogType": "Tail"} if log else {}
        resp = self.lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kw)
        body = resp["Payload"].read().decode()
        return resp, body

    def call_ok(self, name, event):
        resp, body = self.call(name, event)
        self.assertNotIn("FunctionError", resp, body)
        return json.loads(body)

    def test_code_is_at_var_task(self):
        name = self.probe()
        env = self.call_ok(name, {"action": "env"})
        self.assertEqual(env["LAMBDA_TASK_ROOT"], "/var/task")
        self.assertIn("/var/task", env["LD_LIBRARY_PATH"].split(":"))

    def test_writes_outside_tmp_fail(self):
        name = self.probe()
        for path in ("/var/task/new-file", "/etc/lambdad-probe", "/usr/lambdad-probe", "/x"):
            out = self.call_ok(name, {"action": "write", "path": path})
            self.assertIn(out["errno"], (errno.EROFS, errno.EACCES), path)
        out = self.call_ok(name, {"action": "write", "path": "/tmp/ok"})
        self.assertEqual(out["errno"], 0)

    def test_full_tmp_gives_enospc_to_the_function_only(self):
        name = self.probe(MemorySize=1024, EphemeralStorage={"Size": 512}, Timeout=60)
        out = self.call_ok(name, {"action": "write", "path": "/tmp/big", "mb": 600})
        self.assertEqual(out["errno"], errno.ENOSPC, out)
        self.assertLess(out["written_mb"], 600)
        # The host's /tmp is untouched and the environment still works.
        self.assertEqual(self.call_ok(name, {"action": "write", "path": "/tmp/small"})["errno"], 0)

    def test_memory_hog_gets_out_of_memory_and_next_invoke_works(self):
        # 128 MB also means 7% of a CPU: reclaim before the kill takes a while.
        name = self.probe(MemorySize=128, Timeout=60)
        resp, body = self.call(name, {"action": "alloc", "mb": 400}, log=True)
        self.assertEqual(resp.get("FunctionError"), "Unhandled", body)
        doc = json.loads(body)
        self.assertEqual(doc["errorType"], "Runtime.OutOfMemory", doc)
        self.assertIn("signal: killed", doc["errorMessage"])
        log = base64.b64decode(resp["LogResult"]).decode()
        self.assertIn("Runtime.OutOfMemory", log)
        self.assertEqual(self.call_ok(name, {"action": "echo", "n": 1}), {"action": "echo", "n": 1})

    def test_max_memory_used_comes_from_the_cgroup(self):
        name = self.probe(MemorySize=512)
        resp, body = self.call(name, {"action": "alloc", "mb": 100}, log=True)
        self.assertNotIn("FunctionError", resp, body)
        log = base64.b64decode(resp["LogResult"]).decode()
        used = int(re.search(r"Max Memory Used: (\d+) MB", log).group(1))
        self.assertGreaterEqual(used, 100)
        self.assertLessEqual(used, 512)

    def test_fork_bomb_is_contained(self):
        name = self.probe(MemorySize=1769, Timeout=60)
        out = self.call_ok(name, {"action": "fork", "count": 3000})
        self.assertLess(out["forked"], 1024)
        self.assertEqual(out["errno"], errno.EAGAIN)
        self.assertEqual(self.call_ok(name, {"action": "echo"}), {"action": "echo"})

    def test_cpu_share_follows_memory(self):
        small = self.probe(MemorySize=128, Timeout=30)
        large = self.probe(MemorySize=1769, Timeout=30)
        # Warm both first so the measured invocations are pure CPU.
        self.call_ok(small, {"action": "echo"})
        self.call_ok(large, {"action": "echo"})
        wall = 1500
        cpu_small = self.call_ok(small, {"action": "cpu", "ms": wall})["cpu_ms"]
        cpu_large = self.call_ok(large, {"action": "cpu", "ms": wall})["cpu_ms"]
        # Quotas: 128/1769 (7.2%) of a CPU vs one CPU, a ratio of ~13.8 on an idle host. The
        # small one's cap holds on any host; a busy host only lowers the large one's share,
        # so the ratio band is loose.
        self.assertLess(cpu_small, 0.15 * wall, (cpu_small, cpu_large))
        self.assertGreater(cpu_large, 1.5 * max(cpu_small, 1), (cpu_small, cpu_large))


class PackageStoreTest(IsolationTest):
    """Another function's code is out of reach through the package store. The data dir is
    under /var/tmp: the sandbox's /tmp is its own tmpfs, which would hide a store in /tmp."""

    @classmethod
    def make_server(cls):
        server = Server(data_dir=tempfile.mkdtemp(prefix="lambdad-e2e-store-", dir="/var/tmp"))
        server.owns(data_dir=True)
        return server

    test_code_is_at_var_task = None
    test_full_tmp_gives_enospc_to_the_function_only = None
    test_memory_hog_gets_out_of_memory_and_next_invoke_works = None
    test_max_memory_used_comes_from_the_cgroup = None
    test_fork_bomb_is_contained = None
    test_cpu_share_follows_memory = None
    test_writes_outside_tmp_fail = None

    def test_a_function_cannot_read_another_functions_package(self):
        # B's code carries a secret; its package id is the hex SHA-256 of its zip.
        buf = io.BytesIO(probe_zip())
        with zipfile.ZipFile(buf, "a") as zf:
            info = zipfile.ZipInfo("secret.txt")
            info.external_attr = 0o644 << 16
            zf.writestr(info, "B's secret\n")
        zip_b = buf.getvalue()
        b = self.probe_with(zip_b)
        a = self.probe()
        secret = os.path.join(self.server.data_dir, "packages", hashlib.sha256(zip_b).hexdigest(),
                              "tree", "secret.txt")
        self.assertTrue(os.path.exists(secret), secret)  # as root, the test sees it
        self.assertGreater(self.call_ok(b, {"action": "read", "path": "/var/task/secret.txt"})[
            "bytes"], 0)
        self.assertEqual(stat.S_IMODE(os.stat(self.server.data_dir).st_mode), 0o700)
        out = self.call_ok(a, {"action": "read", "path": secret})
        self.assertEqual(out["errno"], errno.EACCES, out)
        # Even with the data dir opened up, the package store itself stays closed.
        os.chmod(self.server.data_dir, 0o755)
        try:
            out = self.call_ok(a, {"action": "read", "path": secret})
            self.assertEqual(out["errno"], errno.EACCES, out)
            out = self.call_ok(a, {"action": "read", "path": os.path.join(
                self.server.data_dir, "registry.db")})
            self.assertEqual(out["errno"], 0, "registry.db readable once the dir is opened: "
                             "this checks the probe, the server keeps the dir 0700")
        finally:
            os.chmod(self.server.data_dir, 0o700)
        self.assertEqual(self.call_ok(a, {"action": "read", "path": "/var/task/secret.txt"})[
            "errno"], errno.ENOENT)

    def probe_with(self, zip_bytes, **kw):
        name = self.unique_name("iso")
        self.create_function(name, zip_bytes, **kw)
        return name


class FreezerTest(IsolationTest):
    """With --freeze-idle the idle environment's cgroup is frozen and thawed on delivery."""

    server_args = ["--freeze-idle"]

    # Run only the freezer test (and one basic check) here, not the whole inherited suite.
    test_full_tmp_gives_enospc_to_the_function_only = None
    test_memory_hog_gets_out_of_memory_and_next_invoke_works = None
    test_max_memory_used_comes_from_the_cgroup = None
    test_fork_bomb_is_contained = None
    test_cpu_share_follows_memory = None
    test_writes_outside_tmp_fail = None

    def env_cgroup_files(self, v1_controller, v1_file, v2_file):
        """The given file of every environment cgroup of this server."""
        pid = self.server.proc.pid
        with open("/proc/%d/cgroup" % pid) as f:
            lines = [l.strip().split(":", 2) for l in f]
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            own = [p for _, c, p in lines if c == ""][0]
            base, name = "/sys/fs/cgroup" + own, v2_file
            base = os.path.dirname(base) if base.endswith("/lambdad-server") else base
        else:
            own = [p for _, c, p in lines if v1_controller in c.split(",")][0]
            base, name = "/sys/fs/cgroup/%s%s" % (v1_controller, own.rstrip("/")), v1_file
        return glob.glob("%s/lambdad/%d/env-*/%s" % (base, pid, name))

    def test_idle_environment_is_frozen_and_thawed_for_the_next_invoke(self):
        name = self.probe()
        self.assertEqual(self.call_ok(name, {"action": "counter"}), 1)
        files = self.env_cgroup_files("freezer", "freezer.state", "cgroup.freeze")
        self.assertEqual(len(files), 1, files)
        deadline = time.monotonic() + 10
        state = ""
        while time.monotonic() < deadline:
            with open(files[0]) as f:
                state = f.read().strip()
            if state in ("FROZEN", "1"):
                break
            time.sleep(0.02)
        self.assertIn(state, ("FROZEN", "1"))
        # Thawed on delivery: the same process serves the next invocation.
        self.assertEqual(self.call_ok(name, {"action": "counter"}), 2)


if __name__ == "__main__":
    unittest.main()
