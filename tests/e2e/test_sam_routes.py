"""SAM HttpApi/Api events as HTTP routes (issue #6): a template.yaml deployed with
`lambdad deploy` becomes routes served at http://api.localhost:<port>/ (Host header) and, after a
restart with `serve --api-listen`, on their own port, with path parameters, the HttpApi payload
2.0 event and the REST (Api) proxy event 1.0. The function is
tests/e2e/fixtures/http_bootstrap.py."""

import json
import os
import shutil
import subprocess
import unittest

from harness import FIXTURES, Server, ServerTestCase, free_port, lambdad_binary
from test_function_urls import request

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  ItemsFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: {items}
      CodeUri: fn/
      Handler: bootstrap
      Runtime: provided.al2023
      Events:
        GetItem:
          Type: HttpApi
          Properties:
            Path: /items/{{id}}
            Method: get
        PutItem:
          Type: HttpApi
          Properties:
            Path: /items/{{id}}
            Method: put
  FilesFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: {files}
      CodeUri: fn/
      Handler: bootstrap
      Runtime: provided.al2023
      Events:
        Files:
          Type: Api
          Properties:
            Path: /files/{{proxy+}}
            Method: any
"""


class SamRoutesTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        suffix = str(os.getpid())
        cls.items = "sam-items-" + suffix
        cls.files = "sam-files-" + suffix
        cls.project = os.path.join(cls.tmpdir, "project")
        os.makedirs(os.path.join(cls.project, "fn"))
        shutil.copy(os.path.join(FIXTURES, "http_bootstrap.py"),
                    os.path.join(cls.project, "fn", "bootstrap"))
        os.chmod(os.path.join(cls.project, "fn", "bootstrap"), 0o755)
        with open(os.path.join(cls.project, "template.yaml"), "w") as f:
            f.write(TEMPLATE.format(items=cls.items, files=cls.files))
        cls.deployed = subprocess.run(
            [lambdad_binary(), "deploy", cls.project, "--no-build", "--endpoint-url",
             cls.server.endpoint],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    def api(self, method, path, port=None, host="api.localhost", **kw):
        port = port or self.server.port
        return request(port, method, path, host=host and "%s:%d" % (host, port), **kw)

    def test_1_deploy_reports_routes(self):
        self.assertEqual(self.deployed.returncode, 0, self.deployed.stderr)
        self.assertIn("route GET /items/{id} -> %s" % self.items, self.deployed.stdout)
        self.assertIn("route ANY /files/{proxy+} -> %s (payload 1.0)" % self.files,
                      self.deployed.stdout)
        status, _, body = request(self.server.port, "GET", "/lambdad/routes")
        self.assertEqual(status, 200)
        routes = json.loads(body)["Routes"]
        self.assertIn({"FunctionName": self.items, "Method": "PUT", "Path": "/items/{id}",
                       "PayloadFormatVersion": "2.0"}, routes)

    def test_http_api_route_with_path_parameter(self):
        status, headers, body = self.api("GET", "/items/42?mode=event&x=1")
        self.assertEqual(status, 200, body)
        ev = json.loads(body)
        self.assertEqual(ev["version"], "2.0")
        self.assertEqual(ev["routeKey"], "GET /items/{id}")
        self.assertEqual(ev["requestContext"]["routeKey"], "GET /items/{id}")
        self.assertEqual(ev["pathParameters"], {"id": "42"})
        self.assertEqual(ev["rawPath"], "/items/42")
        self.assertEqual(ev["queryStringParameters"], {"mode": "event", "x": "1"})
        # The structured reply with a binary body.
        status, headers, body = self.api("PUT", "/items/9", body=b"\x00\x01\x02",
                                         headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 201)
        self.assertEqual(body, b"\x02\x01\x00")
        self.assertEqual([v for k, v in headers if k.lower() == "set-cookie"],
                         ["srv=1; Path=/", "other=2"])

    def test_rest_api_route_gets_the_proxy_event(self):
        status, _, body = self.api("POST", "/files/a/b%20c.txt?mode=event&k=1&k=2",
                                   body=b'{"x":1}', headers={"Content-Type": "application/json",
                                                             "X-Thing": "T"})
        self.assertEqual(status, 200, body)
        ev = json.loads(body)
        self.assertEqual(ev["resource"], "/files/{proxy+}")
        self.assertEqual(ev["path"], "/files/a/b%20c.txt")
        self.assertEqual(ev["httpMethod"], "POST")
        self.assertEqual(ev["pathParameters"], {"proxy": "a/b c.txt"})
        self.assertEqual(ev["queryStringParameters"], {"mode": "event", "k": "2"})
        self.assertEqual(ev["multiValueQueryStringParameters"]["k"], ["1", "2"])
        self.assertEqual(ev["headers"]["X-Thing"], "T")
        self.assertEqual(ev["multiValueHeaders"]["X-Thing"], ["T"])
        self.assertEqual(ev["body"], '{"x":1}')
        self.assertFalse(ev["isBase64Encoded"])
        self.assertEqual(ev["requestContext"]["resourcePath"], "/files/{proxy+}")
        # Binary body through the REST event.
        status, _, body = self.api("PUT", "/files/bin", body=b"\xff\xfe")
        self.assertEqual(status, 201)
        self.assertEqual(body, b"\xfe\xff")

    def test_errors_and_unmatched(self):
        status, _, body = self.api("GET", "/nothing/here")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body), {"message": "Not Found"})
        status, _, body = self.api("DELETE", "/items/1")  # no DELETE route
        self.assertEqual(status, 404)
        status, _, body = self.api("GET", "/items/1?mode=error")
        self.assertEqual(status, 500)
        self.assertEqual(json.loads(body), {"message": "Internal Server Error"})
        status, _, body = self.api("GET", "/files/x?mode=error")
        self.assertEqual(status, 502)
        # Without the api.localhost Host the same path is the control API's.
        status, _, _ = request(self.server.port, "GET", "/items/1")
        self.assertEqual(status, 404)

    def test_zz_routes_persist_and_serve_on_api_listen(self):
        """Restart on the same data dir with --api-listen: routes come back from the registry
        and are served on the API port without any Host trick."""
        self.server.stop()
        port = free_port()
        self.server.extra_args = ["--api-listen", "127.0.0.1:%d" % port]
        self.server.start()
        status, _, body = self.api("GET", "/items/5?mode=event", port=port, host=None)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["pathParameters"], {"id": "5"})
        # Deleting a function drops its routes.
        status, _, _ = request(self.server.port, "DELETE", "/2015-03-31/functions/" + self.items)
        self.assertEqual(status, 204)
        status, _, body = self.api("GET", "/items/5", port=port, host=None)
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
