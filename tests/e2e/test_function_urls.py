"""Function URLs (issue #6): FunctionUrlConfig CRUD through boto3 and the AWS CLI (errors
included), then plain HTTP to the URL by Host header and by the /lambda-url/<id>/ path form:
query strings, binary bodies, cookies, large headers, CORS, function errors, unknown ids, alias
qualifiers, deletion with the function, and AuthType AWS_IAM with SigV4 (keys from
`lambdad keys add`). The function is tests/e2e/fixtures/http_bootstrap.py, which can echo the
event it received."""

import base64
import http.client
import json
import os
import re
import tempfile
import unittest

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials

from harness import (
    FIXTURES,
    REGION,
    ClientError,
    Server,
    ServerTestCase,
    make_zip,
)
from test_auth import add_key

URL_RE = re.compile(r"^http://([a-z0-9]{32})\.lambda-url\.us-east-1\.localhost:(\d+)/$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def http_zip():
    with open(os.path.join(FIXTURES, "http_bootstrap.py"), "rb") as f:
        return make_zip({"bootstrap": (f.read(), 0o755)})


def request(port, method, path, body=None, headers=None, host=None):
    """Plain HTTP (http.client, so repeated headers survive). Returns (status, header list,
    body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        hdrs = dict(headers or {})
        if host is not None:
            hdrs["Host"] = host
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


def header(headers, name):
    values = [v for k, v in headers if k.lower() == name.lower()]
    return values[0] if values else None


class UrlTestBase(ServerTestCase):
    def url_id(self, cfg):
        m = URL_RE.match(cfg["FunctionUrl"])
        self.assertIsNotNone(m, cfg["FunctionUrl"])
        self.assertEqual(int(m.group(2)), self.server.port)
        return m.group(1)

    def new_function_with_url(self, **url_kw):
        name = self.unique_name("url")
        self.create_function(name, http_zip())
        cfg = self.lam.create_function_url_config(FunctionName=name, AuthType="NONE", **url_kw)
        return name, self.url_id(cfg)

    def get(self, url_id, path, headers=None, by_host=True, method="GET", body=None):
        if by_host:
            return request(self.server.port, method, path, body, headers,
                           host="%s.lambda-url.us-east-1.localhost:%d" % (url_id, self.server.port))
        return request(self.server.port, method, "/lambda-url/%s%s" % (url_id, path), body,
                       headers)

    def event(self, url_id, path, **kw):
        status, headers, body = self.get(url_id, path, **kw)
        self.assertEqual(status, 200, body)
        self.assertEqual(header(headers, "Content-Type"), "application/json")
        return json.loads(body)


class FunctionUrlConfigTest(UrlTestBase):
    def test_crud_with_boto3(self):
        name = self.unique_name("crud")
        self.create_function(name, http_zip())
        cors = {"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"],
                "MaxAge": 300, "AllowCredentials": True}
        created = self.lam.create_function_url_config(FunctionName=name, AuthType="NONE",
                                                      Cors=cors)
        self.assertEqual(created["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.url_id(created)
        self.assertEqual(created["FunctionArn"],
                         "arn:aws:lambda:us-east-1:000000000000:function:" + name)
        self.assertEqual(created["AuthType"], "NONE")
        self.assertEqual(created["Cors"], cors)
        self.assertRegex(created["CreationTime"], TIME_RE)

        with self.assertRaises(ClientError) as cm:
            self.lam.create_function_url_config(FunctionName=name, AuthType="NONE")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceConflictException")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 409)

        got = self.lam.get_function_url_config(FunctionName=name)
        self.assertEqual(got["FunctionUrl"], created["FunctionUrl"])
        self.assertEqual(got["CreationTime"], created["CreationTime"])
        self.assertRegex(got["LastModifiedTime"], TIME_RE)

        updated = self.lam.update_function_url_config(
            FunctionName=name, AuthType="AWS_IAM", Cors={"AllowOrigins": ["*"]})
        self.assertEqual(updated["AuthType"], "AWS_IAM")
        self.assertEqual(updated["Cors"], {"AllowOrigins": ["*"]})
        self.assertEqual(updated["FunctionUrl"], created["FunctionUrl"])
        self.assertGreaterEqual(updated["LastModifiedTime"], got["LastModifiedTime"])

        listed = self.lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
        self.assertEqual([c["FunctionUrl"] for c in listed], [created["FunctionUrl"]])
        self.assertEqual(listed[0]["AuthType"], "AWS_IAM")

        self.lam.delete_function_url_config(FunctionName=name)
        for call in (lambda: self.lam.get_function_url_config(FunctionName=name),
                     lambda: self.lam.delete_function_url_config(FunctionName=name),
                     lambda: self.lam.update_function_url_config(FunctionName=name,
                                                                 AuthType="NONE")):
            with self.assertRaises(ClientError) as cm:
                call()
            self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")
        self.assertEqual(self.lam.list_function_url_configs(FunctionName=name)
                         ["FunctionUrlConfigs"], [])

    def test_errors(self):
        name = self.unique_name("err")
        self.create_function(name, http_zip())
        cases = [
            (dict(FunctionName=name, AuthType="OPEN"), "ValidationException", "authType"),
            (dict(FunctionName=name, AuthType="NONE", Cors={"MaxAge": 86401}),
             "ValidationException", "cors.maxAge"),
            (dict(FunctionName=name, AuthType="NONE",
                  Cors={"AllowMethods": ["GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "X"]}),
             "ValidationException", "cors.allowMethods"),
            (dict(FunctionName=name + "-missing", AuthType="NONE"),
             "ResourceNotFoundException", "Function not found"),
            (dict(FunctionName=name, Qualifier="nosuchalias", AuthType="NONE"),
             "ResourceNotFoundException", name + ":nosuchalias"),
            (dict(FunctionName=name, Qualifier="1", AuthType="NONE"),
             "ValidationException", "qualifier"),
        ]
        for kw, code, text in cases:
            with self.subTest(kw=kw):
                with self.assertRaises(ClientError) as cm:
                    self.lam.create_function_url_config(**kw)
                self.assertEqual(cm.exception.response["Error"]["Code"], code)
                self.assertIn(text, cm.exception.response["Error"]["Message"])
        # Nothing was stored by the failed calls; the server still serves.
        self.assertEqual(self.lam.list_function_url_configs(FunctionName=name)
                         ["FunctionUrlConfigs"], [])

    def test_crud_with_aws_cli(self):
        name = self.unique_name("cli")
        self.create_function(name, http_zip())
        out = self.aws_ok("create-function-url-config", "--function-name", name,
                          "--auth-type", "NONE", "--cors",
                          json.dumps({"AllowOrigins": ["https://a.example"], "MaxAge": 10}))
        url_id = self.url_id(out)
        out = self.aws_ok("get-function-url-config", "--function-name", name)
        self.assertEqual(self.url_id(out), url_id)
        self.assertEqual(out["Cors"], {"AllowOrigins": ["https://a.example"], "MaxAge": 10})
        out = self.aws_ok("list-function-url-configs", "--function-name", name)
        self.assertEqual(len(out["FunctionUrlConfigs"]), 1)
        rc, _, err = self.aws("create-function-url-config", "--function-name", name,
                              "--auth-type", "NONE")
        self.assertNotEqual(rc, 0)
        self.assertIn("ResourceConflictException", err)
        rc, _, err = self.aws("update-function-url-config", "--function-name", name,
                              "--auth-type", "BASIC")
        self.assertNotEqual(rc, 0)
        self.assertIn("ValidationException", err)
        self.aws_ok("delete-function-url-config", "--function-name", name)
        rc, _, err = self.aws("get-function-url-config", "--function-name", name)
        self.assertNotEqual(rc, 0)
        self.assertIn("ResourceNotFoundException", err)

    def test_alias_qualifier(self):
        name = self.unique_name("alias")
        self.create_function(name, http_zip())
        version = self.lam.publish_version(FunctionName=name)["Version"]
        self.lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
        cfg = self.lam.create_function_url_config(FunctionName=name, Qualifier="live",
                                                  AuthType="NONE")
        self.assertTrue(cfg["FunctionArn"].endswith(":%s:live" % name), cfg["FunctionArn"])
        url_id = self.url_id(cfg)
        # The unqualified function has no URL of its own; the alias' URL is listed.
        with self.assertRaises(ClientError):
            self.lam.get_function_url_config(FunctionName=name)
        got = self.lam.get_function_url_config(FunctionName=name, Qualifier="live")
        self.assertEqual(got["FunctionUrl"], cfg["FunctionUrl"])
        listed = self.lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
        self.assertEqual([c["FunctionArn"] for c in listed], [cfg["FunctionArn"]])
        status, headers, body = self.get(url_id, "/?mode=event")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["requestContext"]["apiId"], url_id)
        # DeleteAlias takes the alias' URL with it.
        self.lam.delete_alias(FunctionName=name, Name="live")
        self.assertEqual(self.get(url_id, "/")[0], 404)
        self.assertEqual(self.lam.list_function_url_configs(FunctionName=name)
                         ["FunctionUrlConfigs"], [])

    def test_deleted_with_the_function(self):
        name, url_id = self.new_function_with_url()
        self.assertEqual(self.get(url_id, "/?mode=event")[0], 200)
        self.lam.delete_function(FunctionName=name)
        status, _, body = self.get(url_id, "/")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body), {"Message": None})
        self.create_function(name, http_zip())
        with self.assertRaises(ClientError) as cm:
            self.lam.get_function_url_config(FunctionName=name)
        self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")


class FunctionUrlServingTest(UrlTestBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.name = "url-serving-%d" % os.getpid()
        cls.lam.create_function(FunctionName=cls.name, Runtime="provided.al2023",
                                Handler="bootstrap", Role="arn:aws:iam::000000000000:role/x",
                                Code={"ZipFile": http_zip()})
        cfg = cls.lam.create_function_url_config(
            FunctionName=cls.name, AuthType="NONE",
            Cors={"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"],
                  "AllowHeaders": ["x-custom"], "ExposeHeaders": ["x-len"], "MaxAge": 600,
                  "AllowCredentials": True})
        cls.id = URL_RE.match(cfg["FunctionUrl"]).group(1)

    def test_get_with_query_by_host_and_by_path(self):
        for by_host in (True, False):
            with self.subTest(by_host=by_host):
                ev = self.event(self.id, "/items/7?mode=event&a=1&a=2&q=x%20y",
                                headers={"X-Custom": "v"}, by_host=by_host)
                self.assertEqual(ev["version"], "2.0")
                self.assertEqual(ev["routeKey"], "$default")
                self.assertEqual(ev["rawPath"], "/items/7")
                self.assertEqual(ev["rawQueryString"], "mode=event&a=1&a=2&q=x%20y")
                self.assertEqual(ev["queryStringParameters"],
                                 {"mode": "event", "a": "1,2", "q": "x y"})
                self.assertEqual(ev["headers"]["x-custom"], "v")
                self.assertEqual(ev["requestContext"]["http"]["method"], "GET")
                self.assertEqual(ev["requestContext"]["http"]["path"], "/items/7")
                self.assertEqual(ev["requestContext"]["http"]["sourceIp"], "127.0.0.1")
                self.assertEqual(ev["requestContext"]["apiId"], self.id)
                self.assertFalse(ev["isBase64Encoded"])
                self.assertNotIn("body", ev)
                self.assertEqual(ev["headers"]["x-forwarded-for"], "127.0.0.1")
                self.assertEqual(ev["headers"]["x-forwarded-port"], str(self.server.port))
                self.assertNotIn("authorizer", ev["requestContext"])

    def test_binary_body_round_trip_and_cookies(self):
        data = bytes(range(256)) * 40
        status, headers, body = self.get(
            self.id, "/upload", method="POST", body=data,
            headers={"Content-Type": "application/octet-stream", "Cookie": "a=1; b=2"})
        self.assertEqual(status, 201, body)
        self.assertEqual(body, data[::-1])
        self.assertEqual(header(headers, "X-Len"), str(len(data)))
        self.assertEqual(header(headers, "Content-Type"), "application/octet-stream")
        self.assertEqual([v for k, v in headers if k.lower() == "set-cookie"],
                         ["srv=1; Path=/", "other=2"])
        ev = self.event(self.id, "/upload?mode=event", method="POST", body=data,
                        headers={"Content-Type": "application/octet-stream",
                                 "Cookie": "a=1; b=2"})
        self.assertTrue(ev["isBase64Encoded"])
        self.assertEqual(base64.b64decode(ev["body"]), data)
        self.assertEqual(ev["cookies"], ["a=1", "b=2"])
        self.assertNotIn("cookie", ev["headers"])
        ev = self.event(self.id, "/?mode=event", method="POST", body=b'{"k": "v"}',
                        headers={"Content-Type": "application/json"}, by_host=False)
        self.assertFalse(ev["isBase64Encoded"])
        self.assertEqual(ev["body"], '{"k": "v"}')

    def test_large_header(self):
        big = "x" * 8192
        ev = self.event(self.id, "/?mode=event", headers={"X-Big": big})
        self.assertEqual(ev["headers"]["x-big"], big)

    def test_cors_preflight_and_response_headers(self):
        status, headers, body = self.get(self.id, "/", method="OPTIONS", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-custom"})
        self.assertEqual(status, 200)
        self.assertEqual(header(headers, "Access-Control-Allow-Origin"), "https://app.example")
        self.assertEqual(header(headers, "Access-Control-Allow-Methods"), "GET,POST")
        self.assertEqual(header(headers, "Access-Control-Allow-Headers"), "x-custom")
        self.assertEqual(header(headers, "Access-Control-Max-Age"), "600")
        self.assertEqual(header(headers, "Access-Control-Allow-Credentials"), "true")
        # Disallowed origin: answered, but without the allow headers.
        status, headers, _ = self.get(self.id, "/", method="OPTIONS", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 200)
        self.assertIsNone(header(headers, "Access-Control-Allow-Origin"))
        # A real response: the configured headers replace the function's own.
        status, headers, _ = self.get(self.id, "/", method="POST", body=b"abc",
                                      headers={"Origin": "https://app.example"})
        self.assertEqual(status, 201)
        self.assertEqual([v for k, v in headers if k.lower() == "access-control-allow-origin"],
                         ["https://app.example"])
        self.assertEqual(header(headers, "Access-Control-Expose-Headers"), "x-len")
        status, headers, _ = self.get(self.id, "/", method="POST", body=b"abc",
                                      headers={"Origin": "https://evil.example"})
        self.assertEqual(status, 201)
        self.assertIsNone(header(headers, "Access-Control-Allow-Origin"))

    def test_function_error_is_502(self):
        status, _, body = self.get(self.id, "/?mode=error")
        self.assertEqual(status, 502)
        self.assertEqual(json.loads(body), {"Message": "Internal Server Error"})
        self.assertEqual(self.get(self.id, "/?mode=event")[0], 200)  # still serving

    def test_head_has_length_but_no_body(self):
        status, headers, body = self.get(self.id, "/?mode=event", method="HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertGreater(int(header(headers, "Content-Length")), 100)

    def test_throttled_is_429(self):
        name, url_id = self.new_function_with_url()
        self.lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
        status, _, body = self.get(url_id, "/")
        self.assertEqual(status, 429)
        self.assertEqual(json.loads(body), {"Message": "Rate Exceeded."})
        self.lam.delete_function_concurrency(FunctionName=name)
        self.assertEqual(self.get(url_id, "/?mode=event")[0], 200)

    def test_unknown_url_id_is_404(self):
        for by_host in (True, False):
            status, _, body = self.get("0" * 32, "/", by_host=by_host)
            self.assertEqual(status, 404)
            self.assertEqual(json.loads(body), {"Message": None})


class FunctionUrlIamTest(UrlTestBase):
    @classmethod
    def setUpClass(cls):
        data_dir = tempfile.mkdtemp(prefix="lambdad-e2e-urls-")
        cls.akid, cls.secret = add_key(data_dir, name="urls")
        cls.server = Server(data_dir=data_dir).start()
        cls.server.owns(data_dir=True)
        cls._failed = False
        cls.tmpdir = tempfile.mkdtemp(prefix="lambdad-e2e-tmp-")
        cls.lam = boto3.session.Session(
            aws_access_key_id=cls.akid, aws_secret_access_key=cls.secret, region_name=REGION
        ).client("lambda", endpoint_url=cls.server.endpoint,
                 config=botocore.config.Config(retries={"max_attempts": 1}))

    def signed(self, url_id, path, secret=None, body=b""):
        host = "%s.lambda-url.us-east-1.localhost:%d" % (url_id, self.server.port)
        req = botocore.awsrequest.AWSRequest(method="POST", url="http://%s%s" % (host, path),
                                             data=body, headers={"Content-Type": "text/plain"})
        creds = botocore.credentials.Credentials(self.akid, secret or self.secret)
        botocore.auth.SigV4Auth(creds, "lambda", REGION).add_auth(req)
        headers = dict(req.headers.items())
        headers.pop("Host", None)
        return request(self.server.port, "POST", path, body, headers, host=host)

    def test_aws_iam_requires_a_signature(self):
        name = self.unique_name("iam")
        self.create_function(name, http_zip())
        url_id = self.url_id(self.lam.create_function_url_config(FunctionName=name,
                                                                 AuthType="AWS_IAM"))
        status, _, body = self.get(url_id, "/?mode=event")
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body), {"Message": "Forbidden"})
        status, _, body = self.signed(url_id, "/x?mode=event", secret="wrong" * 8, body=b"hi")
        self.assertEqual(status, 403)
        status, _, body = self.signed(url_id, "/x?mode=event", body=b"hi")
        self.assertEqual(status, 200, body)
        ev = json.loads(body)
        self.assertEqual(ev["rawPath"], "/x")
        self.assertEqual(ev["body"], "hi")
        self.assertEqual(ev["requestContext"]["authorizer"]["iam"]["accessKey"], self.akid)
        # Switching to NONE opens it to unsigned callers, although the server has keys.
        self.lam.update_function_url_config(FunctionName=name, AuthType="NONE")
        self.assertEqual(self.get(url_id, "/?mode=event")[0], 200)


if __name__ == "__main__":
    unittest.main()
