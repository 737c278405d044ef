"""Invoke (issue 3) end to end: the probe and a curl-based shell runtime under a real server,
driven by `aws lambda invoke` and boto3."""

import base64
import concurrent.futures
import json
import os
import re
import time
import unittest

from harness import (
    REGION,
    ServerTestCase,
    function_arn,
    make_zip,
    probe_zip,
    shell_bootstrap_zip,
)

SYNC_PAYLOAD_LIMIT = 6291456  # 6 MiB
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def decode_log(resp):
    return base64.b64decode(resp["LogResult"]).decode("utf-8", "replace")


def variant_zip(tag):
    """The probe zip plus one extra file: same behaviour, different CodeSha256."""
    import io
    import zipfile

    buf = io.BytesIO(probe_zip())
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("variant.txt", tag)
    return out.getvalue()


class ProbeInvokeTest(ServerTestCase):
    def probe(self, **kw):
        name = self.unique_name("probe")
        self.create_function(name, probe_zip(), **kw)
        return name

    def assert_unhandled(self, resp, body, error_type):
        self.assertEqual(resp["StatusCode"], 200)
        self.assertEqual(resp.get("FunctionError"), "Unhandled", body[:2000])
        doc = json.loads(body)
        self.assertEqual(doc.get("errorType"), error_type, doc)
        return doc

    # --- happy path and headers ----------------------------------------------------------

    def test_cli_invoke_echoes_payload(self):
        name = self.probe()
        payload = {"action": "echo", "n": 42, "s": "héllo"}
        out_path = os.path.join(self.tmpdir, "out-%s.json" % name)
        meta = self.aws_ok(
            "invoke",
            "--function-name", name,
            "--payload", json.dumps(payload),
            "--cli-binary-format", "raw-in-base64-out",
            out_path,
        )
        self.assertEqual(meta["StatusCode"], 200)
        self.assertEqual(meta["ExecutedVersion"], "$LATEST")
        self.assertNotIn("FunctionError", meta)
        with open(out_path, "rb") as f:
            self.assertEqual(json.loads(f.read()), payload)

        meta = self.aws_ok(
            "invoke",
            "--function-name", function_arn(name),
            "--payload", '{"action":"print","text":"cli-tail-marker"}',
            "--cli-binary-format", "raw-in-base64-out",
            "--log-type", "Tail",
            out_path,
        )
        self.assertIn("cli-tail-marker", base64.b64decode(meta["LogResult"]).decode())

    def test_boto3_invoke_with_log_tail(self):
        name = self.probe()
        resp, body = self.invoke(
            name, {"action": "print", "text": "hello-from-probe"}, LogType="Tail"
        )
        self.assertEqual(resp["StatusCode"], 200)
        self.assertEqual(resp["ExecutedVersion"], "$LATEST")
        self.assertNotIn("FunctionError", resp)
        self.assertEqual(json.loads(body), {"printed": len("hello-from-probe")})
        request_id = resp["ResponseMetadata"]["RequestId"]
        self.assertRegex(request_id, "^" + UUID + "$")

        log = decode_log(resp)
        self.assertIn("START RequestId: %s Version: $LATEST" % request_id, log)
        self.assertIn("hello-from-probe", log)
        self.assertIn("END RequestId: %s" % request_id, log)
        self.assertRegex(
            log,
            r"REPORT RequestId: %s\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
            r"Memory Size: 128 MB\tMax Memory Used: \d+ MB" % re.escape(request_id),
        )
        self.assertLess(log.index("START RequestId"), log.index("hello-from-probe"))
        self.assertLess(log.index("hello-from-probe"), log.index("END RequestId"))
        self.assertLess(log.index("END RequestId"), log.index("REPORT RequestId"))

        # Without LogType there is no log; the tail is at most the last 4 KB.
        resp, _ = self.invoke(name, {"action": "echo"})
        self.assertNotIn("LogResult", resp)
        resp, _ = self.invoke(name, {"action": "print", "text": "x" * 10000}, LogType="Tail")
        tail = base64.b64decode(resp["LogResult"])
        self.assertLessEqual(len(tail), 4096)
        self.assertIn(b"REPORT RequestId: " + resp["ResponseMetadata"]["RequestId"].encode(), tail)

    def test_trace_id_header_is_the_invocations(self):
        # X-Amzn-Trace-Id on the Invoke reply is the trace id the runtime got for this
        # invocation (Lambda-Runtime-Trace-Id, which the SDK exports as _X_AMZN_TRACE_ID),
        # with lower-case keys as Lambda writes it; a new one per invocation.
        name = self.probe()
        seen = set()
        for _ in range(2):
            resp, body = self.invoke(name, {"action": "env"})
            runtime_trace = json.loads(body)["_X_AMZN_TRACE_ID"]
            self.assertRegex(
                runtime_trace,
                r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0;"
                r"Lineage=1:[0-9a-f]{8}:0$",
            )
            header = resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-trace-id"]
            expected = ";".join(
                kv.split("=", 1)[0].lower() + "=" + kv.split("=", 1)[1]
                for kv in runtime_trace.split(";")
            )
            self.assertEqual(header, expected)
            seen.add(header)
        self.assertEqual(len(seen), 2)

    def test_dry_run_is_204_and_runs_nothing(self):
        name = self.probe()
        resp, body = self.invoke(name, {"action": "counter"}, InvocationType="DryRun")
        self.assertEqual(resp["StatusCode"], 204)
        self.assertEqual(body, b"")
        self.assertEqual(self.invoke_json(name, {"action": "counter"}), 1)
        self.assertClientError(
            "ResourceNotFoundException",
            404,
            self.lam.invoke,
            FunctionName="no-such-fn",
            InvocationType="DryRun",
        )
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.invoke, FunctionName="no-such-fn"
        )

    def test_empty_payload_is_allowed(self):
        name = self.probe()
        resp, _ = self.invoke(name)
        self.assertEqual(resp["StatusCode"], 200)
        self.assertNotIn("FunctionError", resp)

    def test_invalid_json_payload_is_rejected(self):
        name = self.probe()
        self.assertClientError(
            "InvalidRequestContentException", 400, self.lam.invoke, FunctionName=name, Payload=b"{nope"
        )

    # --- failures ------------------------------------------------------------------------

    def test_function_error_is_unhandled_with_posted_body(self):
        name = self.probe()
        resp, body = self.invoke(name, {"action": "error", "message": "kaboom"})
        doc = self.assert_unhandled(resp, body, "ProbeError")
        self.assertEqual(doc["errorMessage"], "kaboom")
        self.assertEqual(resp["ExecutedVersion"], "$LATEST")
        # The environment survives a handled /error.
        self.assertEqual(self.invoke_json(name, {"action": "counter"}), 2)

    def test_timeout(self):
        name = self.probe(Timeout=1)
        resp, body = self.invoke(name, {"action": "sleep", "ms": 3000}, LogType="Tail")
        doc = self.assert_unhandled(resp, body, "Sandbox.Timedout")
        request_id = resp["ResponseMetadata"]["RequestId"]
        self.assertEqual(
            doc["errorMessage"],
            "RequestId: %s Error: Task timed out after 1.00 seconds" % request_id,
        )
        self.assertIn("Task timed out after 1.00 seconds", decode_log(resp))
        # The timed-out environment is gone: a new one starts from zero.
        self.assertEqual(self.invoke_json(name, {"action": "counter"}), 1)

    def test_crash_during_init(self):
        name = self.probe(Environment={"Variables": {"PROBE_INIT": "crash"}})
        for _ in range(2):  # every attempt fails the same way; the server stays up
            resp, body = self.invoke(name, {"action": "echo"})
            doc = self.assert_unhandled(resp, body, "Runtime.ExitError")
            self.assertIn("Runtime exited with error: exit status 3", doc["errorMessage"])
        self.lam.update_function_configuration(FunctionName=name, Environment={"Variables": {}})
        self.wait_active(name)
        self.assertEqual(self.invoke_json(name, {"action": "counter"}), 1)

    def test_init_error_is_reported(self):
        name = self.probe(Environment={"Variables": {"PROBE_INIT": "error"}})
        resp, body = self.invoke(name, {"action": "echo"})
        self.assert_unhandled(resp, body, "ProbeInitError")

    def test_crash_mid_invoke(self):
        name = self.probe()
        self.assertEqual(self.invoke_json(name, {"action": "counter"}), 1)
        resp, body = self.invoke(name, {"action": "crash", "code": 7})
        doc = self.assert_unhandled(resp, body, "Runtime.ExitError")
        self.assertEqual(
            doc["errorMessage"],
            "RequestId: %s Error: Runtime exited with error: exit status 7"
            % resp["ResponseMetadata"]["RequestId"],
        )
        self.assertEqual(self.invoke_json(name, {"action": "counter"}), 1)  # fresh environment

        resp, body = self.invoke(name, {"action": "signal"})
        doc = self.assert_unhandled(resp, body, "Runtime.ExitError")
        self.assertIn("signal: segmentation fault", doc["errorMessage"])
        self.assertEqual(self.invoke_json(name, {"action": "echo", "ok": True}), {"action": "echo", "ok": True})

    def test_missing_or_non_executable_bootstrap(self):
        cases = {
            "missing": make_zip({"index.txt": (b"no bootstrap here", 0o644)}),
            "not-executable": make_zip({"bootstrap": (b"#!/bin/sh\nexit 0\n", 0o644)}),
        }
        for label, data in cases.items():
            with self.subTest(label):
                name = self.unique_name(label)
                self.create_function(name, data)
                resp, body = self.invoke(name, {})
                self.assert_unhandled(resp, body, "Runtime.InvalidEntrypoint")

    # --- environments --------------------------------------------------------------------

    def test_warm_environment_is_reused(self):
        name = self.probe()
        self.assertEqual([self.invoke_json(name, {"action": "counter"}) for _ in range(3)], [1, 2, 3])

    def test_update_resets_the_environment(self):
        name = self.probe()
        self.assertEqual(self.invoke_json(name, {"action": "counter"}), 1)
        self.assertEqual(self.invoke_json(name, {"action": "counter"}), 2)

        self.lam.update_function_code(FunctionName=name, ZipFile=variant_zip("v2"))
        self.wait_active(name)
        self.assertEqual(self.invoke_json(name, {"action": "counter"}), 1)
        self.assertEqual(self.invoke_json(name, {"action": "counter"}), 2)

        self.lam.update_function_configuration(FunctionName=name, Description="changed")
        self.wait_active(name)
        self.assertEqual(self.invoke_json(name, {"action": "counter"}), 1)

        self.lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": {"NEW_VAR": "yes"}}
        )
        self.wait_active(name)
        env = self.invoke_json(name, {"action": "env"})
        self.assertEqual(env.get("NEW_VAR"), "yes")

    def test_twenty_concurrent_invokes_succeed(self):
        name = self.probe()
        client = self.make_client()

        def one(i):
            resp = client.invoke(
                FunctionName=name, Payload=json.dumps({"action": "sleep", "ms": 300, "i": i})
            )
            return resp["StatusCode"], resp.get("FunctionError"), json.loads(resp["Payload"].read())

        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
                results = list(pool.map(one, range(20)))
        finally:
            client.close()
        for status, function_error, body in results:
            self.assertEqual(status, 200)
            self.assertIsNone(function_error, body)
            self.assertEqual(body, {"slept_ms": 300})

    # --- limits --------------------------------------------------------------------------

    def test_request_payload_limit(self):
        name = self.probe()
        at_limit = b'"' + b"a" * (SYNC_PAYLOAD_LIMIT - 2) + b'"'
        resp, body = self.invoke(name, at_limit)
        self.assertNotIn("FunctionError", resp, body[:500])
        self.assertEqual(len(body), SYNC_PAYLOAD_LIMIT)

        over = b'"' + b"a" * (SYNC_PAYLOAD_LIMIT - 1) + b'"'
        err = self.assertClientError(
            "RequestEntityTooLargeException", 413, self.lam.invoke, FunctionName=name, Payload=over
        )
        self.assertEqual(
            err["Error"]["Message"],
            "%d byte payload is too large for the RequestResponse invocation type (limit %d bytes)"
            % (SYNC_PAYLOAD_LIMIT + 1, SYNC_PAYLOAD_LIMIT),
        )
        self.assertEqual(self.invoke_json(name, {"action": "echo"}), {"action": "echo"})

    def test_response_too_large(self):
        name = self.probe()
        resp, body = self.invoke(name, {"action": "big", "bytes": 7 * 1024 * 1024})
        doc = self.assert_unhandled(resp, body, "Function.ResponseSizeTooLarge")
        self.assertIn("exceeded maximum allowed payload size (6291556 bytes)", doc["errorMessage"])
        resp, body = self.invoke(name, {"action": "big", "bytes": 1024})
        self.assertNotIn("FunctionError", resp)
        self.assertEqual(len(body), 1024)

    def test_reserved_and_user_environment(self):
        name = self.probe(MemorySize=256, Environment={"Variables": {"MY_VAR": "hello", "X_2": ""}})
        env = self.invoke_json(name, {"action": "env"})
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_NAME"], name)
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256")
        self.assertEqual(env["AWS_REGION"], REGION)
        self.assertEqual(env["_HANDLER"], "bootstrap")
        self.assertEqual(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/" + name)
        self.assertRegex(env["AWS_LAMBDA_LOG_STREAM_NAME"], r"^\d{4}/\d\d/\d\d/\[\$LATEST\]\S+$")
        self.assertRegex(env["AWS_LAMBDA_RUNTIME_API"], r"^[^/\s]+:\d+$")
        self.assertTrue(os.path.isabs(env["LAMBDA_TASK_ROOT"]), env["LAMBDA_TASK_ROOT"])
        self.assertEqual(env["MY_VAR"], "hello")
        self.assertEqual(env["X_2"], "")


class ShellBootstrapTest(ServerTestCase):
    """A runtime written in /bin/sh with curl, as the AWS custom-runtime tutorial does."""

    def shell_fn(self, **kw):
        name = self.unique_name("sh")
        self.create_function(name, shell_bootstrap_zip(), Timeout=10, **kw)
        return name

    def test_cli_invoke(self):
        name = self.shell_fn()
        out_path = os.path.join(self.tmpdir, "sh-%s.json" % name)
        before_ms = int(time.time() * 1000)
        meta = self.aws_ok(
            "invoke",
            "--function-name", name,
            "--payload", '{"hello": "shell"}',
            "--cli-binary-format", "raw-in-base64-out",
            out_path,
        )
        after_ms = int(time.time() * 1000)
        self.assertEqual(meta["StatusCode"], 200)
        self.assertEqual(meta["ExecutedVersion"], "$LATEST")
        with open(out_path) as f:
            doc = json.load(f)
        self.assertEqual(doc["event"], {"hello": "shell"})
        self.assertRegex(doc["requestId"], "^" + UUID + "$")
        self.assertEqual(doc["functionArn"], function_arn(name))
        self.assertEqual(doc["handler"], "bootstrap")
        self.assertIsNone(doc["clientContext"])
        # The deadline is the invoke's start plus the 10 s timeout (epoch milliseconds).
        self.assertGreater(doc["deadlineMs"], before_ms + 9000)
        self.assertLessEqual(doc["deadlineMs"], after_ms + 10000)

    def test_boto3_invoke_request_id_log_and_warm_reuse(self):
        name = self.shell_fn()
        resp, body = self.invoke(name, {"n": 1}, LogType="Tail")
        doc = json.loads(body)
        request_id = resp["ResponseMetadata"]["RequestId"]
        self.assertEqual(doc["requestId"], request_id)
        self.assertEqual(doc["count"], 1)
        log = decode_log(resp)
        self.assertIn("START RequestId: %s Version: $LATEST" % request_id, log)
        self.assertIn("shell-bootstrap: handling %s" % request_id, log)
        self.assertIn("REPORT RequestId: %s\tDuration: " % request_id, log)
        resp, body = self.invoke(name, {"n": 2})
        self.assertEqual(json.loads(body)["count"], 2)

    def test_error_posted_by_shell_runtime(self):
        name = self.shell_fn()
        resp, body = self.invoke(name, {"please": "shell-fail"})
        self.assertEqual(resp.get("FunctionError"), "Unhandled")
        self.assertEqual(
            json.loads(body), {"errorMessage": "shell failure requested", "errorType": "ShellError"}
        )
        resp, body = self.invoke(name, {"n": 3})
        self.assertNotIn("FunctionError", resp)
        self.assertEqual(json.loads(body)["count"], 2)

    def test_client_context_reaches_the_runtime_decoded(self):
        name = self.shell_fn()
        context = {
            "client": {
                "installation_id": "inst-1",
                "app_title": "e2e",
                "app_version_name": "1.0",
                "app_version_code": "1",
                "app_package_name": "dev.lambdad.e2e",
            },
            "custom": {"tenant": "t-42"},
            "env": {"platform": "linux"},
        }
        encoded = base64.b64encode(json.dumps(context).encode()).decode()
        resp, body = self.invoke(name, {"cc": True}, ClientContext=encoded)
        self.assertNotIn("FunctionError", resp, body)
        self.assertEqual(json.loads(body)["clientContext"], context)


if __name__ == "__main__":
    unittest.main(verbosity=2)
