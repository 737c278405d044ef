"""The Lambda control plane driven by the AWS CLI and boto3 against a real `lambdad serve`."""

import base64
import http.client
import json
import os
import re
import time
import unittest
import urllib.request
import uuid

import botocore.config

from harness import (
    ROLE,
    ClientError,
    Server,
    ServerTestCase,
    code_sha256,
    function_arn,
    make_zip,
)

LAST_MODIFIED_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
BOOTSTRAP = b"#!/bin/sh\necho bootstrap v1\nexit 0\n"


def fn_zip(text=BOOTSTRAP, extra=None):
    files = {"bootstrap": (text, 0o755)}
    files.update(extra or {})
    return make_zip(files)


class ControlApiTest(ServerTestCase):
    def write_tmp(self, name, data):
        path = os.path.join(self.tmpdir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def assert_fresh_config(self, cfg, name, zip_bytes):
        """Fields every $LATEST FunctionConfiguration carries after create with defaults."""
        self.assertEqual(cfg["FunctionName"], name)
        self.assertEqual(cfg["FunctionArn"], function_arn(name))
        self.assertEqual(cfg["Runtime"], "provided.al2023")
        self.assertEqual(cfg["Role"], ROLE)
        self.assertEqual(cfg["Handler"], "bootstrap")
        self.assertEqual(cfg["CodeSize"], len(zip_bytes))
        self.assertEqual(cfg["CodeSha256"], code_sha256(zip_bytes))
        self.assertEqual(cfg["Description"], "")
        self.assertEqual(cfg["Timeout"], 3)
        self.assertEqual(cfg["MemorySize"], 128)
        self.assertRegex(cfg["LastModified"], LAST_MODIFIED_RE)
        self.assertEqual(cfg["Version"], "$LATEST")
        self.assertEqual(cfg["TracingConfig"], {"Mode": "PassThrough"})
        self.assertRegex(cfg["RevisionId"], UUID_RE)
        self.assertEqual(cfg["PackageType"], "Zip")
        self.assertEqual(cfg["Architectures"], ["x86_64"])
        self.assertEqual(cfg["EphemeralStorage"], {"Size": 512})
        self.assertNotIn("Environment", cfg)

    # --- create / get ------------------------------------------------------------------

    def test_create_with_cli_then_get_configuration(self):
        name = self.unique_name()
        data = fn_zip()
        path = self.write_tmp("create.zip", data)
        self.addCleanup(self._delete_quietly, name)
        created = self.aws_ok(
            "create-function",
            "--function-name", name,
            "--runtime", "provided.al2023",
            "--handler", "bootstrap",
            "--role", ROLE,
            "--zip-file", "fileb://" + path,
        )
        self.assert_fresh_config(created, name, data)
        self.assertIn(created["State"], ("Pending", "Active"))

        self.wait_active(name)
        cfg = self.aws_ok("get-function-configuration", "--function-name", name)
        self.assert_fresh_config(cfg, name, data)
        self.assertEqual(cfg["State"], "Active")
        self.assertEqual(cfg["LastUpdateStatus"], "Successful")
        self.assertEqual(cfg["CodeSha256"], created["CodeSha256"])

    def test_get_function_returns_configuration_and_downloadable_code(self):
        name = self.unique_name()
        data = fn_zip(extra={"lib/data.txt": (b"payload" * 100, 0o644)})
        self.create_function(name, data)

        got = self.lam.get_function(FunctionName=name)
        self.assertEqual(got["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertTrue(got["ResponseMetadata"]["RequestId"])
        self.assert_fresh_config(got["Configuration"], name, data)
        self.assertEqual(got["Configuration"]["State"], "Active")
        self.assertEqual(got["Code"]["RepositoryType"], "S3")
        self.assertNotIn("Tags", got)  # only present when the function has tags
        with urllib.request.urlopen(got["Code"]["Location"], timeout=30) as r:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.read(), data)

        by_cli = self.aws_ok("get-function", "--function-name", function_arn(name))
        self.assertEqual(by_cli["Configuration"]["FunctionArn"], function_arn(name))
        self.assertEqual(by_cli["Configuration"]["RevisionId"], got["Configuration"]["RevisionId"])

    def test_get_function_by_partial_arn_and_missing_function(self):
        name = self.unique_name()
        self.create_function(name, fn_zip())
        cfg = self.lam.get_function_configuration(FunctionName="000000000000:function:" + name)
        self.assertEqual(cfg["FunctionName"], name)

        err = self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.get_function, FunctionName="no-such-fn"
        )
        self.assertEqual(err["Error"]["Message"], "Function not found: " + function_arn("no-such-fn"))
        rc, _, stderr = self.aws("get-function-configuration", "--function-name", "no-such-fn")
        self.assertNotEqual(rc, 0)
        self.assertIn("ResourceNotFoundException", stderr)

    def test_duplicate_create_is_conflict(self):
        name = self.unique_name()
        self.create_function(name, fn_zip())
        err = self.assertClientError(
            "ResourceConflictException", 409, self.create_function, name, fn_zip(), cleanup=False
        )
        self.assertIn(name, err["Error"]["Message"])

    def test_create_with_options(self):
        name = self.unique_name()
        data = fn_zip()
        created = self.create_function(
            name,
            data,
            Description="an e2e function",
            Timeout=30,
            MemorySize=512,
            Environment={"Variables": {"GREETING": "hello", "Other_2": "x"}},
            EphemeralStorage={"Size": 1024},
            Tags={"team": "e2e"},
        )
        self.assertEqual(created["Description"], "an e2e function")
        self.assertEqual(created["Timeout"], 30)
        self.assertEqual(created["MemorySize"], 512)
        self.assertEqual(
            created["Environment"], {"Variables": {"GREETING": "hello", "Other_2": "x"}}
        )
        self.assertEqual(created["EphemeralStorage"], {"Size": 1024})
        got = self.lam.get_function(FunctionName=name)
        self.assertEqual(got["Tags"], {"team": "e2e"})
        self.assertEqual(got["Configuration"]["MemorySize"], 512)

    # --- list --------------------------------------------------------------------------

    def test_list_functions_paginates_with_boto3_marker(self):
        prefix = "lst-%d-" % (time.time_ns() % 10**9)
        names = [prefix + str(i) for i in range(5)]
        for n in names:
            self.create_function(n, fn_zip())

        seen, pages, marker = [], 0, None
        while True:
            kw = {"MaxItems": 2}
            if marker:
                kw["Marker"] = marker
            page = self.lam.list_functions(**kw)
            pages += 1
            self.assertLessEqual(len(page["Functions"]), 2)
            seen += [f["FunctionName"] for f in page["Functions"]]
            marker = page.get("NextMarker")
            if not marker:
                break
            self.assertLess(pages, 1000, "pagination does not end")
        self.assertEqual(len(seen), len(set(seen)), "a function was listed twice: %s" % seen)
        self.assertEqual(sorted(n for n in seen if n.startswith(prefix)), names)
        self.assertGreaterEqual(pages, 3)

        listed = {f["FunctionName"]: f for f in self.lam.list_functions()["Functions"]}
        item = listed[names[0]]
        self.assertEqual(item["FunctionArn"], function_arn(names[0]))
        self.assertEqual(item["Version"], "$LATEST")
        self.assertEqual(item["CodeSha256"], code_sha256(fn_zip()))

    def test_list_functions_paginates_with_cli_max_items(self):
        prefix = "cli-%d-" % (time.time_ns() % 10**9)
        names = [prefix + str(i) for i in range(3)]
        for n in names:
            self.create_function(n, fn_zip())

        first = self.aws_ok("list-functions", "--max-items", "2")
        self.assertEqual(len(first["Functions"]), 2)
        self.assertIn("NextToken", first)
        seen = [f["FunctionName"] for f in first["Functions"]]
        token = first["NextToken"]
        for _ in range(100):
            page = self.aws_ok("list-functions", "--max-items", "2", "--starting-token", token)
            seen += [f["FunctionName"] for f in page["Functions"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(sorted(n for n in seen if n.startswith(prefix)), names)

        everything = self.aws_ok("list-functions")
        self.assertTrue(set(names) <= {f["FunctionName"] for f in everything["Functions"]})
        self.assertNotIn("NextToken", everything)

    # --- update ------------------------------------------------------------------------

    def test_update_function_configuration(self):
        name = self.unique_name()
        created = self.create_function(name, fn_zip(), Environment={"Variables": {"AA": "1"}})
        before = self.wait_active(name)

        upd = self.aws_ok(
            "update-function-configuration",
            "--function-name", name,
            "--memory-size", "256",
            "--timeout", "10",
            "--description", "updated",
            "--environment", "Variables={BB=2}",
        )
        self.assertEqual(upd["MemorySize"], 256)
        self.assertEqual(upd["Timeout"], 10)
        self.assertEqual(upd["Description"], "updated")
        self.assertEqual(upd["Environment"], {"Variables": {"BB": "2"}})  # replaced, not merged
        self.assertNotEqual(upd["RevisionId"], before["RevisionId"])
        self.assertNotEqual(upd["RevisionId"], created["RevisionId"])
        self.assertRegex(upd["LastModified"], LAST_MODIFIED_RE)
        self.assertGreaterEqual(upd["LastModified"], before["LastModified"])
        self.assertIn(upd.get("LastUpdateStatus"), ("InProgress", "Successful"))

        cfg = self.wait_active(name)
        self.assertEqual(cfg["LastUpdateStatus"], "Successful")
        self.assertEqual(cfg["MemorySize"], 256)
        self.assertEqual(cfg["Environment"], {"Variables": {"BB": "2"}})
        self.assertEqual(cfg["CodeSha256"], before["CodeSha256"])

    def test_update_function_code(self):
        name = self.unique_name()
        self.create_function(name, fn_zip())
        before = self.wait_active(name)

        v2 = fn_zip(b"#!/bin/sh\necho bootstrap v2\nexit 0\n")
        path = self.write_tmp("v2.zip", v2)
        upd = self.aws_ok(
            "update-function-code", "--function-name", name, "--zip-file", "fileb://" + path
        )
        self.assertEqual(upd["CodeSha256"], code_sha256(v2))
        self.assertEqual(upd["CodeSize"], len(v2))
        self.assertNotEqual(upd["RevisionId"], before["RevisionId"])
        self.assertEqual(upd["Version"], "$LATEST")
        cfg = self.wait_active(name)
        self.assertEqual(cfg["CodeSha256"], code_sha256(v2))
        location = self.lam.get_function(FunctionName=name)["Code"]["Location"]
        with urllib.request.urlopen(location, timeout=30) as r:
            self.assertEqual(r.read(), v2)

        v3 = fn_zip(b"#!/bin/sh\necho bootstrap v3\n")
        upd3 = self.lam.update_function_code(FunctionName=name, ZipFile=v3)
        self.assertEqual(upd3["CodeSha256"], code_sha256(v3))
        self.assertNotEqual(upd3["RevisionId"], upd["RevisionId"])

    def test_wrong_revision_id_is_precondition_failed(self):
        name = self.unique_name()
        self.create_function(name, fn_zip())
        current = self.wait_active(name)["RevisionId"]
        wrong = str(uuid.uuid4())
        self.assertClientError(
            "PreconditionFailedException",
            412,
            self.lam.update_function_configuration,
            FunctionName=name,
            Timeout=5,
            RevisionId=wrong,
        )
        self.assertClientError(
            "PreconditionFailedException",
            412,
            self.lam.update_function_code,
            FunctionName=name,
            ZipFile=fn_zip(b"#!/bin/sh\n"),
            RevisionId=wrong,
        )
        self.assertEqual(self.wait_active(name)["Timeout"], 3)  # nothing changed
        ok = self.lam.update_function_configuration(FunctionName=name, Timeout=5, RevisionId=current)
        self.assertEqual(ok["Timeout"], 5)

    # --- delete ------------------------------------------------------------------------

    def test_delete_function(self):
        name = self.unique_name()
        self.create_function(name, fn_zip(), cleanup=False)
        rc, out, err = self.aws("delete-function", "--function-name", name)
        self.assertEqual(rc, 0, err)
        self.assertIsNone(out)
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.get_function_configuration, FunctionName=name
        )
        self.assertNotIn(name, [f["FunctionName"] for f in self.lam.list_functions()["Functions"]])
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.delete_function, FunctionName=name
        )
        # The name is free again.
        again = self.create_function(name, fn_zip(b"#!/bin/sh\n# again\n"))
        self.assertEqual(again["FunctionName"], name)

    # --- tags --------------------------------------------------------------------------

    def test_tag_untag_list_tags(self):
        name = self.unique_name()
        self.create_function(name, fn_zip())
        arn = function_arn(name)
        self.assertEqual(self.aws_ok("list-tags", "--resource", arn), {"Tags": {}})

        rc, out, err = self.aws("tag-resource", "--resource", arn, "--tags", "a=1,b=two")
        self.assertEqual(rc, 0, err)
        self.lam.tag_resource(Resource=arn, Tags={"c": "3", "a": "one"})
        self.assertEqual(self.lam.list_tags(Resource=arn)["Tags"], {"a": "one", "b": "two", "c": "3"})
        self.assertEqual(self.lam.get_function(FunctionName=name)["Tags"], {"a": "one", "b": "two", "c": "3"})

        rc, out, err = self.aws("untag-resource", "--resource", arn, "--tag-keys", "a", "c")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.aws_ok("list-tags", "--resource", arn), {"Tags": {"b": "two"}})
        self.lam.untag_resource(Resource=arn, TagKeys=["b"])
        self.assertEqual(self.lam.list_tags(Resource=arn)["Tags"], {})

        self.assertClientError(
            "ResourceNotFoundException",
            404,
            self.lam.list_tags,
            Resource=function_arn("no-such-fn-for-tags"),
        )

    # --- account -----------------------------------------------------------------------

    def test_get_account_settings(self):
        data = fn_zip()
        self.create_function(self.unique_name(), data)
        s = self.aws_ok("get-account-settings")
        limit, usage = s["AccountLimit"], s["AccountUsage"]
        self.assertEqual(limit["TotalCodeSize"], 80530636800)
        self.assertEqual(limit["CodeSizeUnzipped"], 262144000)
        self.assertEqual(limit["CodeSizeZipped"], 52428800)
        self.assertGreaterEqual(limit["ConcurrentExecutions"], 1)
        self.assertLessEqual(limit["UnreservedConcurrentExecutions"], limit["ConcurrentExecutions"])
        self.assertGreaterEqual(usage["FunctionCount"], 1)
        self.assertGreaterEqual(usage["TotalCodeSize"], len(data))
        via_boto = self.lam.get_account_settings()
        self.assertEqual(via_boto["AccountLimit"]["CodeSizeZipped"], 52428800)

    # --- invalid input -----------------------------------------------------------------

    def assert_still_serving(self):
        self.assertIn("Functions", self.lam.list_functions())

    def test_zip_slip_is_rejected(self):
        token = "zipslip-%d" % (time.time_ns() % 10**9)
        for evil in ("../" + token, "a/../../" + token, "../../../../../../tmp/" + token, "/tmp/" + token):
            with self.subTest(entry=evil):
                data = fn_zip(extra={evil: (b"escaped", 0o644)})
                err = self.assertClientError(
                    "InvalidParameterValueException",
                    400,
                    self.create_function,
                    self.unique_name(),
                    data,
                )
                self.assertTrue(err["Error"]["Message"])
        self.assertFalse(os.path.exists("/tmp/" + token))
        for root, dirs, files in os.walk(os.path.dirname(self.server.data_dir)):
            self.assertNotIn(token, files + dirs, "zip entry escaped into " + root)
            if root.count(os.sep) > 6:
                dirs[:] = []
        self.assert_still_serving()

    def test_corrupt_zip_is_rejected(self):
        name = self.unique_name()
        for bad in (b"this is not a zip file", fn_zip()[:-40]):
            with self.subTest(size=len(bad)):
                err = self.assertClientError(
                    "InvalidParameterValueException", 400, self.create_function, name, bad
                )
                self.assertEqual(
                    err["Error"]["Message"],
                    "Could not unzip uploaded file. Please check your file, then try to upload again.",
                )
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.get_function, FunctionName=name
        )
        self.assert_still_serving()

    def test_reserved_environment_key_is_rejected(self):
        for key in ("AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT", "AWS_EXECUTION_ENV"):
            with self.subTest(key=key):
                err = self.assertClientError(
                    "InvalidParameterValueException",
                    400,
                    self.create_function,
                    self.unique_name(),
                    fn_zip(),
                    Environment={"Variables": {key: "x"}},
                )
                self.assertIn(key, err["Error"]["Message"])
        name = self.unique_name()
        self.create_function(name, fn_zip())
        self.assertClientError(
            "InvalidParameterValueException",
            400,
            self.lam.update_function_configuration,
            FunctionName=name,
            Environment={"Variables": {"AWS_REGION": "eu-west-1"}},
        )
        self.assertNotIn("Environment", self.wait_active(name))

    def test_out_of_range_memory_and_timeout_are_validation_errors(self):
        # botocore would refuse MemorySize 100 itself; the server must refuse it too.
        unchecked = type(self).make_client_unvalidated()
        cases = [
            ({"MemorySize": 100}, "Value '100' at 'memorySize' failed to satisfy constraint"),
            ({"Timeout": 901}, "Value '901' at 'timeout' failed to satisfy constraint"),
        ]
        for kw, text in cases:
            with self.subTest(**kw):
                params = dict(
                    FunctionName=self.unique_name(),
                    Runtime="provided.al2023",
                    Handler="bootstrap",
                    Role=ROLE,
                    Code={"ZipFile": fn_zip()},
                    **kw,
                )
                err = self.assertClientError(
                    "ValidationException", 400, unchecked.create_function, **params
                )
                self.assertIn(text, err["Error"]["Message"])
                self.assertTrue(err["Error"]["Message"].startswith("1 validation error detected: "))
        name = self.unique_name()
        self.create_function(name, fn_zip())
        self.assertClientError(
            "ValidationException",
            400,
            unchecked.update_function_configuration,
            FunctionName=name,
            Timeout=901,
        )
        self.assertEqual(self.wait_active(name)["Timeout"], 3)

    @classmethod
    def make_client_unvalidated(cls):
        import boto3

        return boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        ).client(
            "lambda",
            endpoint_url=cls.server.endpoint,
            config=botocore.config.Config(
                retries={"max_attempts": 1}, parameter_validation=False
            ),
        )

    def test_malformed_json_is_invalid_request_content(self):
        for body in (b"{not json", b'{"FunctionName": "x", ', b"\xff\xfe"):
            with self.subTest(body=body):
                status, headers, resp = self.raw(
                    "POST",
                    "/2015-03-31/functions",
                    body=body,
                    headers={"Content-Type": "application/json"},
                )
                self.assertEqual(status, 400, resp)
                self.assertEqual(
                    headers.get("x-amzn-errortype", "").split(":")[0], "InvalidRequestContentException"
                )
                doc = json.loads(resp)
                self.assertEqual(doc["Type"], "User")
                message = doc.get("message", doc.get("Message", ""))
                self.assertTrue(message.startswith("Could not parse request body into json"), message)
                self.assertTrue(headers.get("x-amzn-requestid"))
        self.assert_still_serving()

    def test_body_over_70_mb_is_413(self):
        size = 70 * 1024 * 1024 + 1
        prefix = b'{"FunctionName":"too-big","Role":"' + ROLE.encode() + b'","Code":{"ZipFile":"'
        suffix = b'"}}'
        filler = size - len(prefix) - len(suffix)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        try:
            conn.putrequest("POST", "/2015-03-31/functions")
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            chunk = b"A" * (1 << 20)
            try:
                conn.send(prefix)
                sent = 0
                while sent < filler:
                    n = min(len(chunk), filler - sent)
                    conn.send(chunk[:n])
                    sent += n
                conn.send(suffix)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer before reading it all
            resp = conn.getresponse()
            body = resp.read()
            self.assertEqual(resp.status, 413, body[:500])
            self.assertEqual(
                resp.getheader("x-amzn-ErrorType", "").split(":")[0], "RequestEntityTooLargeException"
            )
        finally:
            conn.close()
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.get_function, FunctionName="too-big"
        )
        self.assert_still_serving()

    def test_unknown_route_answers_without_breaking_server(self):
        status, headers, _ = self.raw("GET", "/2015-03-31/no-such-thing")
        self.assertGreaterEqual(status, 400)
        self.assertLess(status, 500)
        status, _, _ = self.raw("PATCH", "/2015-03-31/functions")
        self.assertGreaterEqual(status, 400)
        self.assert_still_serving()


class RestartTest(ServerTestCase):
    def test_function_survives_restart(self):
        name = self.unique_name()
        data = fn_zip()
        self.create_function(
            name, data, Environment={"Variables": {"KK": "v"}}, Tags={"t": "1"}, MemorySize=192
        )
        before = self.wait_active(name)

        old = type(self).server
        rc = old.stop()
        self.assertEqual(rc, 0, "lambdad did not exit cleanly on SIGTERM:\n" + old.log())
        new = Server(data_dir=old.data_dir, log_path=old.log_path)
        new.owns(data_dir=True, log=True)
        old.owns(data_dir=False, log=False)
        type(self).server = new.start()
        type(self).lam = self.make_client()

        after = self.lam.get_function(FunctionName=name)
        cfg = after["Configuration"]
        for field in ("FunctionArn", "CodeSha256", "CodeSize", "RevisionId", "LastModified",
                      "MemorySize", "Environment", "Runtime", "Handler", "Role"):
            self.assertEqual(cfg[field], before[field], field)
        self.assertEqual(cfg["State"], "Active")
        self.assertEqual(after["Tags"], {"t": "1"})
        with urllib.request.urlopen(after["Code"]["Location"], timeout=30) as r:
            self.assertEqual(r.read(), data)
        self.assertIn(name, [f["FunctionName"] for f in self.lam.list_functions()["Functions"]])


if __name__ == "__main__":
    unittest.main(verbosity=2)
