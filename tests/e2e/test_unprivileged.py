"""Without privileges (issue 5): `lambdad serve` run as an unprivileged user (nobody, via
setpriv) starts anyway with plain processes and rlimits, says so in one startup line and in
/lambdad/status, and invokes work."""

import json
import os
import pwd
import grp
import shutil
import tempfile
import unittest
import urllib.request

from harness import ClientError, Server, ServerTestCase, probe_zip

SETPRIV = shutil.which("setpriv")


class UnprivilegedServerTest(ServerTestCase):
    @classmethod
    def make_server(cls):
        if os.geteuid() != 0:
            return Server()  # already unprivileged
        if not SETPRIV:
            raise unittest.SkipTest("setpriv (util-linux) not installed")
        user, group = pwd.getpwnam("nobody"), grp.getgrnam("nogroup")
        # The data dir under the world-accessible /tmp, owned by the server's user.
        data_dir = tempfile.mkdtemp(prefix="lambdad-e2e-nobody-")
        os.chown(data_dir, user.pw_uid, group.gr_gid)
        server = Server(data_dir=data_dir, wrapper=[
            SETPRIV, "--reuid=%d" % user.pw_uid, "--regid=%d" % group.gr_gid, "--clear-groups",
            "--inh-caps=-all", "--"])
        server.owns(data_dir=True)
        return server

    def status(self):
        with urllib.request.urlopen(self.server.endpoint + "/lambdad/status", timeout=10) as r:
            return json.loads(r.read())

    def probe(self, **kw):
        name = self.unique_name("unpriv")
        self.create_function(name, probe_zip(), **kw)
        return name

    def call(self, name, event):
        resp = self.lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
        return resp, json.loads(resp["Payload"].read())

    def test_startup_line_and_status_say_plain_processes(self):
        lines = [l for l in self.server.log().splitlines() if "isolation" in l]
        self.assertEqual(len(lines), 2, lines)  # the one line about it, and the listen line
        self.assertIn("isolation unavailable (not running as root)", lines[0])
        self.assertIn("plain processes with rlimits", lines[0])
        self.assertIn("sandbox: process", lines[1])
        st = self.status()
        self.assertIn("process (no isolation; rlimits", st["isolation"])
        self.assertFalse(st["networkIsolatedAvailable"])
        self.assertEqual(os.stat(os.path.join(self.server.data_dir, "registry.db")).st_uid,
                         pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid())

    def test_invoke_works_and_memory_is_limited(self):
        name = self.probe(MemorySize=128)
        resp, out = self.call(name, {"action": "echo", "n": 7})
        self.assertNotIn("FunctionError", resp, out)
        self.assertEqual(out, {"action": "echo", "n": 7})
        resp, out = self.call(name, {"action": "alloc", "mb": 50})
        self.assertNotIn("FunctionError", resp, out)
        # RLIMIT_DATA = MemorySize: a 400 MiB mapping is refused.
        resp, out = self.call(name, {"action": "alloc", "mb": 400})
        self.assertEqual(resp.get("FunctionError"), "Unhandled", out)
        self.assertIn("mmap of 400 MiB failed", out["errorMessage"])
        resp, out = self.call(name, {"action": "counter"})
        self.assertEqual(out, 4)  # same process, still serving

    def test_isolated_network_is_refused_with_a_service_error(self):
        name = self.probe(Tags={"lambdad:network": "isolated"})
        with self.assertRaises(ClientError) as cm:
            self.lam.invoke(FunctionName=name, Payload=b"{}")
        err = cm.exception.response
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.assertEqual(err["Error"]["Code"], "ServiceException")
        self.assertIn("isolated", err["Error"]["Message"])


if __name__ == "__main__":
    unittest.main()
