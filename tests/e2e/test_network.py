"""Network modes per function (issue 5): the tag `lambdad:network` = host | isolated.

Isolated: the environment has its own network namespace with only loopback, and its Runtime API
at 127.0.0.1:9001 inside it; it cannot reach the server (or anything else) on the host's
127.0.0.1. Host: the environment shares the host's network."""

import errno
import json
import unittest

from harness import ClientError, ServerTestCase, probe_zip

TAG = "lambdad:network"


class NetworkModeTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        status = json.loads(cls.raw_status())
        if not status.get("networkIsolatedAvailable"):
            super().tearDownClass()
            raise unittest.SkipTest("network namespaces unavailable here: %s" % status["isolation"])

    @classmethod
    def raw_status(cls):
        import urllib.request

        with urllib.request.urlopen(cls.server.endpoint + "/lambdad/status", timeout=10) as r:
            return r.read().decode()

    def probe(self, network=None, **kw):
        name = self.unique_name("net")
        if network:
            kw["Tags"] = {TAG: network}
        self.create_function(name, probe_zip(), **kw)
        return name

    def call(self, name, event):
        resp = self.lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
        body = resp["Payload"].read().decode()
        self.assertNotIn("FunctionError", resp, body)
        return resp, json.loads(body)

    def call_ok(self, name, event):
        return self.call(name, event)[1]

    def test_isolated_function_answers_and_cannot_reach_the_server(self):
        name = self.probe("isolated")
        env = self.call_ok(name, {"action": "env"})
        self.assertEqual(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001")
        out = self.call_ok(name, {"action": "connect", "host": "127.0.0.1", "port": self.server.port})
        self.assertEqual(out["errno"], errno.ECONNREFUSED, out)
        # Only loopback exists: no route to anything else.
        out = self.call_ok(name, {"action": "connect", "host": "10.0.2.2", "port": 80})
        self.assertIn(out["errno"], (errno.ENETUNREACH, errno.EHOSTUNREACH), out)
        # The same environment keeps answering (warm).
        self.assertEqual(self.call_ok(name, {"action": "counter"}), 4)
        tags = self.lam.list_tags(Resource=self.lam.get_function(FunctionName=name)[
            "Configuration"]["FunctionArn"])["Tags"]
        self.assertEqual(tags, {TAG: "isolated"})

    def test_host_function_can_reach_the_server(self):
        for name in (self.probe(), self.probe("host")):
            env = self.call_ok(name, {"action": "env"})
            self.assertNotEqual(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001")
            out = self.call_ok(
                name, {"action": "connect", "host": "127.0.0.1", "port": self.server.port})
            self.assertEqual(out["errno"], 0, out)

    def test_isolated_environment_cannot_take_another_invocation(self):
        host_fn = self.probe()
        iso_a = self.probe("isolated")
        iso_b = self.probe("isolated")
        # Another environment's Runtime API on the host loopback is out of reach...
        host_api = self.call_ok(host_fn, {"action": "env"})["AWS_LAMBDA_RUNTIME_API"]
        port = int(host_api.rsplit(":", 1)[1])
        out = self.call_ok(iso_a, {"action": "connect", "host": "127.0.0.1", "port": port})
        self.assertEqual(out["errno"], errno.ECONNREFUSED, out)
        # ...and 127.0.0.1:9001 is each environment's own endpoint: a /next there re-renders
        # the caller's own invocation, never the other isolated function's (warm and waiting).
        self.call_ok(iso_b, {"action": "echo"})
        nxt = {"action": "http", "host": "127.0.0.1", "port": 9001,
               "path": "/2018-06-01/runtime/invocation/next"}
        resp, out = self.call(iso_a, nxt)
        self.assertEqual(out["status"], 200, out)
        self.assertEqual(out["request_id"], resp["ResponseMetadata"]["RequestId"])
        # Answering some other request id is refused.
        bad = dict(nxt, method="POST", path="/2018-06-01/runtime/invocation/not-mine/response")
        self.assertEqual(self.call_ok(iso_a, bad)["status"], 400)
        self.assertEqual(self.call_ok(iso_b, {"action": "counter"}), 2)

    def test_host_environment_cannot_reach_another_runtime_api(self):
        # Host network: every endpoint is on the host's loopback, but each environment runs as
        # its own uid and an endpoint drops connections from any other uid.
        a, b = self.probe(), self.probe()
        api_a = self.call_ok(a, {"action": "env"})["AWS_LAMBDA_RUNTIME_API"]
        api_b = self.call_ok(b, {"action": "env"})["AWS_LAMBDA_RUNTIME_API"]
        ping = {"action": "http", "host": "127.0.0.1", "path": "/2018-06-01/ping"}
        own = self.call_ok(a, dict(ping, port=int(api_a.rsplit(":", 1)[1])))
        self.assertEqual(own["status"], 200, own)
        other = self.call_ok(a, dict(ping, port=int(api_b.rsplit(":", 1)[1])))
        self.assertEqual(other["status"], 0, other)  # closed unanswered
        steal = {"action": "http", "host": "127.0.0.1", "port": int(api_b.rsplit(":", 1)[1]),
                 "method": "POST", "path": "/2018-06-01/runtime/invocation/x/response"}
        self.assertEqual(self.call_ok(a, steal)["status"], 0)
        self.assertEqual(self.call_ok(b, {"action": "counter"}), 2)

    def test_changing_the_tag_drains_environments(self):
        name = self.probe()
        self.assertEqual(self.call_ok(name, {"action": "counter"}), 1)
        arn = self.lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        rc, _, err = self.aws("tag-resource", "--resource", arn, "--tags", TAG + "=isolated")
        self.assertEqual(rc, 0, err)
        env = self.call_ok(name, {"action": "env"})
        self.assertEqual(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001")
        self.assertEqual(self.call_ok(name, {"action": "counter"}), 2)  # a new environment
        self.lam.untag_resource(Resource=arn, TagKeys=[TAG])
        env = self.call_ok(name, {"action": "env"})
        self.assertNotEqual(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001")

    def test_bad_tag_value_is_rejected(self):
        name = self.probe()
        arn = self.lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        with self.assertRaises(ClientError) as cm:
            self.lam.tag_resource(Resource=arn, Tags={TAG: "bridge"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidParameterValueException")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        with self.assertRaises(ClientError) as cm:
            self.probe("none")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidParameterValueException")
        self.assertEqual(self.lam.list_tags(Resource=arn)["Tags"], {})


class IsolatedDefaultTest(NetworkModeTest):
    """`lambdad serve --network isolated`: functions without the tag are isolated."""

    server_args = ["--network", "isolated"]

    test_isolated_function_answers_and_cannot_reach_the_server = None
    test_isolated_environment_cannot_take_another_invocation = None
    test_changing_the_tag_drains_environments = None
    test_bad_tag_value_is_rejected = None
    test_host_function_can_reach_the_server = None
    test_host_environment_cannot_reach_another_runtime_api = None

    def test_untagged_function_is_isolated_and_host_tag_opts_out(self):
        status = json.loads(self.raw_status())
        self.assertEqual(status["networkDefault"], "isolated")
        name = self.probe()
        self.assertEqual(self.call_ok(name, {"action": "env"})["AWS_LAMBDA_RUNTIME_API"],
                         "127.0.0.1:9001")
        out = self.call_ok(name, {"action": "connect", "host": "127.0.0.1", "port": self.server.port})
        self.assertEqual(out["errno"], errno.ECONNREFUSED, out)
        host = self.probe("host")
        out = self.call_ok(host, {"action": "connect", "host": "127.0.0.1", "port": self.server.port})
        self.assertEqual(out["errno"], 0, out)


if __name__ == "__main__":
    unittest.main()
