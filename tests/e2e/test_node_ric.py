"""A Node.js function run through the official AWS runtime interface client (npm
aws-lambda-ric 3.x, built by ./setup.sh into tests/e2e/node_fn/node_modules)."""

import json
import os
import unittest

from harness import NODE_FN_DIR, ServerTestCase, make_zip, zip_dir

RIC_ADDON = os.path.join(NODE_FN_DIR, "node_modules", "aws-lambda-ric", "dist", "rapid-client.node")
# Build inputs and leftovers the function does not need at run time.
EXCLUDE = {
    "npm-ci.log",
    "node_modules/.lambdad-stamp",
    "node_modules/.package-lock.json",
    "node_modules/aws-lambda-ric/deps",
    "node_modules/aws-lambda-ric/build",
}

_zip_cache = []


def node_fn_zip():
    if not os.path.exists(RIC_ADDON):
        raise AssertionError(
            "aws-lambda-ric is not built (%s missing): run ./setup.sh" % RIC_ADDON
        )
    if not _zip_cache:
        _zip_cache.append(zip_dir(NODE_FN_DIR, exclude=EXCLUDE))
    return _zip_cache[0]


class NodeRicTest(ServerTestCase):
    def node_fn(self, timeout=10, zip_bytes=None):
        name = self.unique_name("node")
        self.create_function(
            name,
            zip_bytes or node_fn_zip(),
            Runtime="provided.al2023",
            Handler="index.handler",
            Timeout=timeout,
        )
        return name

    def test_returns_the_event(self):
        name = self.node_fn()
        event = {"hello": "node", "list": [1, 2, 3], "nested": {"ok": True}}
        resp, body = self.invoke(name, event, LogType="Tail")
        self.assertEqual(resp["StatusCode"], 200)
        self.assertNotIn("FunctionError", resp, body[:2000])
        self.assertEqual(json.loads(body), event)
        self.assertEqual(resp["ExecutedVersion"], "$LATEST")

    def test_throw_is_unhandled_error(self):
        name = self.node_fn()
        resp, body = self.invoke(name, {"throw": True})
        self.assertEqual(resp.get("FunctionError"), "Unhandled", body[:2000])
        doc = json.loads(body)
        self.assertEqual(doc["errorType"], "Error")
        self.assertEqual(doc["errorMessage"], "thrown on request")
        self.assertIsInstance(doc.get("trace"), list)  # the Node RIC names it "trace"
        # The environment keeps serving after a thrown error.
        self.assertEqual(self.invoke_json(name, {"after": "throw"}), {"after": "throw"})

    def test_warm_counter_and_reset_on_new_code(self):
        name = self.node_fn()
        counts = [self.invoke_json(name, {"counter": True})["counter"] for _ in range(3)]
        self.assertEqual(counts, [1, 2, 3])

        changed = zip_dir(NODE_FN_DIR, exclude=EXCLUDE)
        changed = _with_extra_file(changed, "VERSION", b"2\n")
        self.lam.update_function_code(FunctionName=name, ZipFile=changed)
        self.wait_active(name)
        self.assertEqual(self.invoke_json(name, {"counter": True}), {"counter": 1})

    def test_sleep_and_timeout(self):
        name = self.node_fn(timeout=2)
        self.assertEqual(self.invoke_json(name, {"sleep": 50})["slept"], 50)
        resp, body = self.invoke(name, {"sleep": 5000})
        self.assertEqual(resp.get("FunctionError"), "Unhandled", body[:2000])
        doc = json.loads(body)
        self.assertEqual(doc["errorType"], "Sandbox.Timedout")
        self.assertTrue(doc["errorMessage"].endswith("Task timed out after 2.00 seconds"), doc)
        self.assertEqual(self.invoke_json(name, {"counter": True}), {"counter": 1})


def _with_extra_file(zip_bytes, name, data):
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as src, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED
    ) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr(name, data)
    return out.getvalue()


if __name__ == "__main__":
    unittest.main(verbosity=2)
