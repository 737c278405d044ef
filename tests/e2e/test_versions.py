"""Versions, aliases and reserved concurrency (issue 6) end to end: a real server driven by
boto3 and the AWS CLI."""

import base64
import concurrent.futures
import json
import unittest

from harness import ServerTestCase, function_arn, make_zip, probe_zip


def variant_zip(tag):
    """The probe zip plus one extra file: same behaviour, different CodeSha256."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(probe_zip())) as src, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED
    ) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("variant.txt", tag)
    return out.getvalue()


class VersionsTest(ServerTestCase):
    def publish_two(self, name):
        """$LATEST -> v1 (code A, memory 128), then v2 (code B, memory 256)."""
        self.create_function(name, variant_zip("a"))
        v1 = self.lam.publish_version(FunctionName=name, Description="first")
        self.lam.update_function_code(FunctionName=name, ZipFile=variant_zip("b"))
        self.lam.update_function_configuration(FunctionName=name, MemorySize=256)
        v2 = self.lam.publish_version(FunctionName=name)
        return v1, v2

    def test_publish_list_and_get(self):
        name = self.unique_name()
        v1, v2 = self.publish_two(name)
        self.assertEqual(v1["Version"], "1")
        self.assertEqual(v1["FunctionArn"], function_arn(name) + ":1")
        self.assertEqual(v1["Description"], "first")
        self.assertEqual(v1["MemorySize"], 128)
        self.assertEqual(v2["Version"], "2")
        self.assertEqual(v2["MemorySize"], 256)
        self.assertNotEqual(v1["CodeSha256"], v2["CodeSha256"])
        # Nothing changed since v2: Lambda hands back v2.
        again = self.lam.publish_version(FunctionName=name)
        self.assertEqual(again["Version"], "2")

        listed = self.aws_ok("list-versions-by-function", "--function-name", name)
        versions = [v["Version"] for v in listed["Versions"]]
        self.assertEqual(versions, ["$LATEST", "1", "2"])
        self.assertEqual(listed["Versions"][0]["FunctionArn"], function_arn(name) + ":$LATEST")
        self.assertEqual(listed["Versions"][2]["FunctionArn"], function_arn(name) + ":2")

        cfg = self.lam.get_function_configuration(FunctionName=name, Qualifier="1")
        self.assertEqual(cfg["Version"], "1")
        self.assertEqual(cfg["MemorySize"], 128)
        got = self.lam.get_function(FunctionName=name + ":2")
        self.assertEqual(got["Configuration"]["MemorySize"], 256)
        self.assertIn("/lambdad/packages/", got["Code"]["Location"])
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.get_function, FunctionName=name, Qualifier="9"
        )

        # Preconditions.
        self.lam.update_function_configuration(FunctionName=name, Timeout=5)
        self.assertClientError(
            "PreconditionFailedException",
            412,
            self.lam.publish_version,
            FunctionName=name,
            RevisionId="nope",
        )
        self.assertClientError(
            "PreconditionFailedException",
            412,
            self.lam.publish_version,
            FunctionName=name,
            CodeSha256=v1["CodeSha256"],
        )
        v3 = self.lam.publish_version(FunctionName=name, CodeSha256=v2["CodeSha256"])
        self.assertEqual(v3["Version"], "3")
        self.assertEqual(v3["Timeout"], 5)

    def test_invoke_by_version(self):
        name = self.unique_name()
        self.publish_two(name)
        for q, version, memory in (("1", "1", "128"), ("2", "2", "256"), ("$LATEST", "$LATEST", "256")):
            resp, body = self.invoke(name, {"action": "env"}, Qualifier=q, LogType="Tail")
            self.assertNotIn("FunctionError", resp, body)
            self.assertEqual(resp["ExecutedVersion"], version)
            env = json.loads(body)
            self.assertEqual(env["AWS_LAMBDA_FUNCTION_VERSION"], version)
            self.assertEqual(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], memory)
            log = base64.b64decode(resp["LogResult"]).decode()
            self.assertIn("Version: %s\n" % version, log)
        # Qualified name form and the CLI.
        rc, out, err = self.aws(
            "invoke",
            "--function-name",
            name + ":1",
            "--cli-binary-format",
            "raw-in-base64-out",
            "--payload",
            '{"action":"context"}',
            self.tmpdir + "/out.json",
        )
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["ExecutedVersion"], "1")
        with open(self.tmpdir + "/out.json") as f:
            ctx = json.load(f)
        self.assertEqual(ctx["invoked_function_arn"], function_arn(name) + ":1")
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.invoke, FunctionName=name, Qualifier="7"
        )

    def test_aliases_and_weights(self):
        name = self.unique_name()
        self.publish_two(name)
        alias = self.lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                                      Description="prod")
        self.assertEqual(alias["AliasArn"], function_arn(name) + ":live")
        self.assertEqual(alias["FunctionVersion"], "1")
        self.assertEqual(alias["Description"], "prod")
        self.assertNotIn("RoutingConfig", alias)
        self.assertClientError(
            "ResourceConflictException", 409, self.lam.create_alias, FunctionName=name,
            Name="live", FunctionVersion="1",
        )
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.create_alias, FunctionName=name,
            Name="other", FunctionVersion="9",
        )
        got = self.lam.get_alias(FunctionName=name, Name="live")
        self.assertEqual(got["RevisionId"], alias["RevisionId"])

        resp, body = self.invoke(name, {"action": "context"}, Qualifier="live")
        self.assertEqual(resp["ExecutedVersion"], "1")
        ctx = json.loads(body)
        self.assertEqual(ctx["invoked_function_arn"], function_arn(name) + ":live")
        self.assertEqual(ctx["version"], "1")
        cfg = self.lam.get_function_configuration(FunctionName=name, Qualifier="live")
        self.assertEqual(cfg["Version"], "1")

        self.assertClientError(
            "PreconditionFailedException", 412, self.lam.update_alias, FunctionName=name,
            Name="live", RevisionId="stale", FunctionVersion="2",
        )
        updated = self.lam.update_alias(
            FunctionName=name, Name="live", RevisionId=alias["RevisionId"],
            RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}},
        )
        self.assertEqual(updated["RoutingConfig"], {"AdditionalVersionWeights": {"2": 0.3}})
        self.assertNotEqual(updated["RevisionId"], alias["RevisionId"])

        def one(_):
            r, _b = self.invoke(name, {}, Qualifier="live")
            return r["ExecutedVersion"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            picks = list(pool.map(one, range(200)))
        self.assertEqual(set(picks) - {"1", "2"}, set())
        share = picks.count("2") / len(picks)
        self.assertGreater(share, 0.15, picks.count("2"))
        self.assertLess(share, 0.45, picks.count("2"))

        listed = self.aws_ok("list-aliases", "--function-name", name)
        self.assertEqual([a["Name"] for a in listed["Aliases"]], ["live"])
        only2 = self.lam.list_aliases(FunctionName=name, FunctionVersion="2")
        self.assertEqual(only2["Aliases"], [])

        # A version an alias references cannot go; an unreferenced one can.
        self.assertClientError(
            "ResourceConflictException", 409, self.lam.delete_function, FunctionName=name,
            Qualifier="2",
        )
        self.lam.update_alias(FunctionName=name, Name="live", FunctionVersion="1",
                              RoutingConfig={"AdditionalVersionWeights": {}})
        self.lam.delete_function(FunctionName=name, Qualifier="2")
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.invoke, FunctionName=name, Qualifier="2"
        )
        self.assertClientError(
            "InvalidParameterValueException", 400, self.lam.delete_function, FunctionName=name,
            Qualifier="$LATEST",
        )
        # Numbers are never reused.
        self.lam.update_function_configuration(FunctionName=name, Timeout=9)
        self.assertEqual(self.lam.publish_version(FunctionName=name)["Version"], "3")

        self.lam.delete_alias(FunctionName=name, Name="live")
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.get_alias, FunctionName=name, Name="live"
        )
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.invoke, FunctionName=name, Qualifier="live"
        )

    def test_publish_flag_on_create_and_code_update(self):
        name = self.unique_name()
        created = self.create_function(name, variant_zip("a"), Publish=True)
        self.assertEqual(created["Version"], "1")
        self.assertEqual(created["FunctionArn"], function_arn(name) + ":1")
        updated = self.lam.update_function_code(FunctionName=name, ZipFile=variant_zip("c"),
                                                Publish=True)
        self.assertEqual(updated["Version"], "2")
        resp, _ = self.invoke(name, {}, Qualifier="2")
        self.assertEqual(resp["ExecutedVersion"], "2")

    def test_delete_function_drops_versions(self):
        name = self.unique_name()
        self.publish_two(name)
        self.lam.create_alias(FunctionName=name, Name="live", FunctionVersion="2")
        self.lam.delete_function(FunctionName=name)
        self.create_function(name, probe_zip())
        listed = self.lam.list_versions_by_function(FunctionName=name)
        self.assertEqual([v["Version"] for v in listed["Versions"]], ["$LATEST"])
        self.assertEqual(self.lam.list_aliases(FunctionName=name)["Aliases"], [])
        self.assertEqual(self.lam.publish_version(FunctionName=name)["Version"], "1")


class ConcurrencyTest(ServerTestCase):
    def test_reserved_concurrency(self):
        name = self.unique_name()
        self.create_function(name, probe_zip())
        self.assertEqual(
            self.lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions"),
            None,
        )
        put = self.aws_ok("put-function-concurrency", "--function-name", name,
                          "--reserved-concurrent-executions", "1")
        self.assertEqual(put, {"ReservedConcurrentExecutions": 1})
        self.assertEqual(
            self.lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"], 1
        )
        self.assertEqual(
            self.lam.get_function(FunctionName=name)["Concurrency"], {"ReservedConcurrentExecutions": 1}
        )
        settings = self.lam.get_account_settings()["AccountLimit"]
        self.assertEqual(settings["UnreservedConcurrentExecutions"],
                         settings["ConcurrentExecutions"] - 1)

        # One runs; concurrent ones past the reservation are throttled with Lambda's Reason.
        def call(_):
            try:
                r, _b = self.invoke(name, {"action": "sleep", "ms": 1500})
                return 200, None
            except Exception as e:  # noqa: BLE001
                resp = e.response
                return resp["ResponseMetadata"]["HTTPStatusCode"], resp

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(call, range(4)))
        statuses = sorted(s for s, _ in results)
        self.assertIn(200, statuses)
        self.assertIn(429, statuses)
        throttled = [r for s, r in results if s == 429][0]
        self.assertEqual(throttled["Error"]["Code"], "TooManyRequestsException")
        self.assertEqual(throttled["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded")

        # 0 throttles everything.
        self.lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
        for _ in range(3):
            err = self.assertClientError("TooManyRequestsException", 429, self.lam.invoke,
                                         FunctionName=name, Payload=b"{}")
            self.assertEqual(err["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded")

        # The unreserved floor of 100.
        err = self.assertClientError(
            "InvalidParameterValueException", 400, self.lam.put_function_concurrency,
            FunctionName=name, ReservedConcurrentExecutions=901,
        )
        self.assertIn("below its minimum value of [100]", err["Error"]["Message"])

        self.lam.delete_function_concurrency(FunctionName=name)
        self.assertEqual(
            self.lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions"),
            None,
        )
        self.assertEqual(self.invoke_json(name, {"x": 1}), {"x": 1})
        self.assertClientError(
            "ResourceNotFoundException", 404, self.lam.put_function_concurrency,
            FunctionName=name + "-missing", ReservedConcurrentExecutions=1,
        )


if __name__ == "__main__":
    unittest.main(verbosity=2)
