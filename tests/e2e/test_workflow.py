"""The developer workflow (issue 4) end to end on a real `lambdad serve`: `lambdad new` scaffolds
a project, `lambdad deploy` builds, packages and creates-or-updates it from template.yaml, boto3
invokes it; the same for examples/http with API Gateway payload 2.0 events; `lambdad package`.

Each class builds its C++ project once in setUpClass (the build dominates the run time)."""

import base64
import io
import json
import os
import stat
import subprocess
import unittest
import zipfile

from harness import ServerTestCase, lambdad_binary

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_TIMEOUT_S = 900


def run_lambdad(*args, cwd=None):
    env = dict(os.environ)
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", "2")  # the machine is shared
    for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
        env.pop(k, None)
    return subprocess.run(
        [lambdad_binary(), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )


def v2_event(method, path, body=None, path_params=None, base64_body=False):
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "localhost"},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
        },
        "isBase64Encoded": base64_body,
    }
    if body is not None:
        event["body"] = base64.b64encode(body.encode()).decode() if base64_body else body
    if path_params:
        event["pathParameters"] = path_params
    return event


class DeployedProjectTestCase(ServerTestCase):
    """Runs `lambdad deploy` once for the class; subclasses set cls.project in prepare()."""

    @classmethod
    def deploy(cls, *extra):
        return run_lambdad("deploy", cls.project, "--endpoint-url", cls.server.endpoint, *extra)

    def assert_ok(self, proc):
        self.assertEqual(proc.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (proc.stdout, proc.stderr))


class EchoWorkflowTest(DeployedProjectTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.project = os.path.join(cls.tmpdir, "demo")
        cls.new = run_lambdad("new", "demo", "--template", "echo", "--dir", cls.project)
        cls.first = cls.deploy() if cls.new.returncode == 0 else None

    def setUp(self):
        self.assert_ok(self.new)
        self.assert_ok(self.first)

    def test_new_writes_a_standalone_project(self):
        for f in ("CMakeLists.txt", "template.yaml", "src/main.cc", "test/handler_test.cc"):
            self.assertTrue(os.path.isfile(os.path.join(self.project, f)), f)
        self.assertIn("lambdad deploy", self.new.stdout)

    def test_deploy_reports_progress_and_creates_function(self):
        out = self.first.stdout
        self.assertIn("building ", out)
        self.assertRegex(out, r"packaging demo \(\d+ bytes\)")
        self.assertIn("created demo", out)
        cfg = self.lam.get_function_configuration(FunctionName="demo")
        self.assertEqual(cfg["Runtime"], "provided.al2023")
        self.assertEqual(cfg["Handler"], "bootstrap")
        self.assertEqual(cfg["MemorySize"], 128)
        self.assertEqual(cfg["Timeout"], 3)
        self.assertEqual(cfg["Architectures"], ["x86_64"])

    def test_invoke_echoes_the_event(self):
        payload = {"hello": "world", "n": [1, 2, 3]}
        self.assertEqual(self.invoke_json("demo", payload), payload)

    def test_scaffolded_unit_test_passes(self):
        p = subprocess.run(
            [os.path.join(self.project, "build", "demo_test")], capture_output=True, text=True
        )
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "ok")

    def test_redeploy_updates_code_and_configuration(self):
        tpl_path = os.path.join(self.project, "template.yaml")
        with open(tpl_path) as f:
            tpl = f.read()
        try:
            with open(tpl_path, "w") as f:
                f.write(tpl.replace("      MemorySize: 128\n", "      MemorySize: 256\n"))
            proc = self.deploy("--no-build")
            self.assert_ok(proc)
            self.assertIn("updated demo", proc.stdout)
            self.assertNotIn("building", proc.stdout)
            cfg = self.wait_active("demo")
            self.assertEqual(cfg["MemorySize"], 256)
            self.assertEqual(self.invoke_json("demo", {"again": True}), {"again": True})
        finally:
            with open(tpl_path, "w") as f:
                f.write(tpl)

    def test_package_zips_any_executable_as_bootstrap(self):
        out = os.path.join(self.tmpdir, "pkg.zip")
        proc = run_lambdad("package", os.path.join(self.project, "build", "bootstrap"), "-o", out)
        self.assert_ok(proc)
        with open(out, "rb") as f:
            data = f.read()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            self.assertEqual(zf.namelist(), ["bootstrap"])
            mode = zf.getinfo("bootstrap").external_attr >> 16
            self.assertEqual(stat.S_IMODE(mode), 0o755)
        self.create_function("packaged", data)
        self.assertEqual(self.invoke_json("packaged", {"p": 1}), {"p": 1})

    def test_deploy_without_template_fails_clearly(self):
        proc = run_lambdad("deploy", self.tmpdir, "--endpoint-url", self.server.endpoint)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("no template.yaml", proc.stderr)


class HttpExampleTest(DeployedProjectTestCase):
    """examples/http deployed from the source tree, built into a temporary build dir."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.project = os.path.join(REPO, "examples", "http")
        cls.first = cls.deploy("--build-dir", os.path.join(cls.tmpdir, "build"))

    def setUp(self):
        self.assert_ok(self.first)

    def call(self, event):
        """Invokes with a payload 2.0 event; returns (statusCode, parsed body, response)."""
        resp = self.invoke_json("ItemsFunction", event)
        self.assertEqual(resp["isBase64Encoded"], False)
        body = json.loads(resp["body"]) if resp["body"] else None
        return resp["statusCode"], body, resp

    def test_deploy_created_function_named_by_logical_id(self):
        self.assertIn("created ItemsFunction", self.first.stdout)
        cfg = self.lam.get_function_configuration(FunctionName="ItemsFunction")
        self.assertEqual(cfg["Description"], "items REST API")

    def test_create_list_and_get_items(self):
        status, body, resp = self.call(v2_event("POST", "/items", json.dumps({"name": "apple"})))
        self.assertEqual(status, 201, body)
        item_id = body["id"]
        self.assertEqual(body["item"], {"name": "apple"})
        self.assertEqual(resp["headers"]["content-type"], "application/json")
        self.assertEqual(resp["headers"]["location"], "/items/%d" % item_id)

        # A base64 body (as a front end sends binary-typed content) decodes the same way.
        status, body2, _ = self.call(
            v2_event("POST", "/items", json.dumps({"name": "pear"}), base64_body=True)
        )
        self.assertEqual(status, 201, body2)

        status, items, _ = self.call(v2_event("GET", "/items"))
        self.assertEqual(status, 200)
        by_id = {i["id"]: i["item"] for i in items}
        self.assertEqual(by_id[item_id], {"name": "apple"})
        self.assertEqual(by_id[body2["id"]], {"name": "pear"})

        # HTTP API route with a path parameter, and a function URL style path.
        status, got, _ = self.call(
            v2_event("GET", "/items/%d" % item_id, path_params={"id": str(item_id)})
        )
        self.assertEqual((status, got), (200, {"id": item_id, "item": {"name": "apple"}}))
        status, got, _ = self.call(v2_event("GET", "/items/%d" % item_id))
        self.assertEqual(status, 200)

    def test_errors_map_to_status_codes(self):
        status, body, _ = self.call(v2_event("GET", "/items/999999"))
        self.assertEqual(status, 404)
        self.assertIn("999999", body["message"])
        status, _, _ = self.call(v2_event("POST", "/items", "not json"))
        self.assertEqual(status, 400)
        status, _, _ = self.call(v2_event("DELETE", "/items/1"))
        self.assertEqual(status, 405)
        status, _, _ = self.call(v2_event("GET", "/nope"))
        self.assertEqual(status, 404)

    def test_non_http_event_is_a_function_error(self):
        resp, body = self.invoke("ItemsFunction", '"just a string"')
        self.assertEqual(resp.get("FunctionError"), "Unhandled")
        self.assertEqual(json.loads(body)["errorType"], "InvalidHttpEvent")


if __name__ == "__main__":
    unittest.main(verbosity=2)
