"""SigV4 access keys: a server with a key made by `lambdad keys add`, reached by the AWS CLI and
boto3 with right and wrong credentials; unsigned, expired and unknown-key requests; and the
refusal to listen beyond loopback without keys."""

import datetime
import json
import os
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials

from harness import (
    AWS_CLI,
    REGION,
    ClientError,
    Server,
    ServerTestCase,
    aws_env,
    close_client,
    free_port,
    lambdad_binary,
    probe_zip,
)

BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)


def keys_cmd(data_dir, *args):
    p = subprocess.run(
        [lambdad_binary(), "keys", *args, "--data-dir", data_dir],
        capture_output=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
    )
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def add_key(data_dir, name="e2e"):
    rc, out, err = keys_cmd(data_dir, "add", "--name", name)
    if rc != 0:
        raise AssertionError("lambdad keys add failed: %s" % err)
    fields = dict(line.split(":", 1) for line in out.strip().splitlines())
    return fields["AccessKeyId"].strip(), fields["SecretAccessKey"].strip()


class AuthTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        data_dir = tempfile.mkdtemp(prefix="lambdad-e2e-auth-")
        cls.akid, cls.secret = add_key(data_dir)
        cls.server = Server(data_dir=data_dir).start()
        cls.server.owns(data_dir=True)
        cls._failed = False
        cls.tmpdir = tempfile.mkdtemp(prefix="lambdad-e2e-tmp-")
        cls.lam = cls.client_with(cls.akid, cls.secret)

    @classmethod
    def client_with(cls, akid, secret):
        return boto3.session.Session(
            aws_access_key_id=akid, aws_secret_access_key=secret, region_name=REGION
        ).client(
            "lambda",
            endpoint_url=cls.server.endpoint,
            config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=5),
        )

    def cli(self, *args, akid=None, secret=None):
        env = aws_env()
        env["AWS_ACCESS_KEY_ID"] = akid or self.akid
        env["AWS_SECRET_ACCESS_KEY"] = secret or self.secret
        p = subprocess.run(
            [AWS_CLI, "lambda", *args, "--endpoint-url", self.server.endpoint, "--region", REGION,
             "--no-cli-pager", "--output", "json"],
            env=env, capture_output=True, timeout=120, cwd=self.tmpdir, stdin=subprocess.DEVNULL,
        )
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def assert_denied(self, client_call, code, message=None):
        with self.assertRaises(ClientError) as cm:
            client_call()
        err = cm.exception.response
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertEqual(err["Error"]["Code"], code)
        if message is not None:
            self.assertEqual(err["Error"]["Message"], message)

    def eventually(self, call, want, within=5.0):
        """Calls until the outcome ("ok" or the error code) is `want` or time runs out; returns
        the last outcome."""
        deadline = time.monotonic() + within
        while True:
            try:
                call()
                got = "ok"
            except ClientError as e:
                got = e.response["Error"]["Code"]
            if got == want or time.monotonic() > deadline:
                return got
            time.sleep(0.1)

    # --- the right key -------------------------------------------------------------------

    def lambdad_cli(self, *args, akid=None, secret=None):
        env = dict(os.environ, AWS_ENDPOINT_URL=self.server.endpoint, AWS_REGION=REGION)
        env["AWS_ACCESS_KEY_ID"] = akid or self.akid
        env["AWS_SECRET_ACCESS_KEY"] = secret or self.secret
        return subprocess.run([lambdad_binary(), *args], env=env, capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    def test_lambdad_cli_signs_its_requests(self):
        name = self.unique_name("authcli")
        self.create_function(name, probe_zip())
        r = self.lambdad_cli("invoke", name, "-d", '{"action":"echo","via":"cli"}')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout), {"action": "echo", "via": "cli"})
        r = self.lambdad_cli("ls")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(name, r.stdout)
        r = self.lambdad_cli("invoke", name, "-d", "{}", secret="wrong" + self.secret[5:])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("signature we calculated does not match", r.stdout + r.stderr)
        r = self.lambdad_cli("rm", name)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_boto3_with_key_creates_invokes_lists(self):
        name = self.unique_name("auth")
        self.create_function(name, probe_zip())
        resp, body = self.invoke(name, {"action": "echo", "k": "v"})
        self.assertEqual(resp["StatusCode"], 200)
        self.assertEqual(json.loads(body), {"action": "echo", "k": "v"})
        names = [f["FunctionName"] for f in self.lam.list_functions()["Functions"]]
        self.assertIn(name, names)

    def test_aws_cli_with_key_invokes_by_arn_and_lists(self):
        name = self.unique_name("auth-cli")
        self.create_function(name, probe_zip())
        out_path = os.path.join(self.tmpdir, "out-%s.json" % name)
        # A full ARN puts %3A in the path: the canonical URI is double-encoded.
        arn = "arn:aws:lambda:%s:000000000000:function:%s" % (REGION, name)
        rc, out, err = self.cli("invoke", "--function-name", arn, "--payload", '{"action":"echo"}',
                                "--cli-binary-format", "raw-in-base64-out", out_path)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["StatusCode"], 200)
        rc, out, err = self.cli("list-functions", "--max-items", "50")
        self.assertEqual(rc, 0, err)
        self.assertIn(name, [f["FunctionName"] for f in json.loads(out)["Functions"]])

    # --- the wrong ones ------------------------------------------------------------------

    def test_wrong_secret_is_invalid_signature(self):
        bad = self.client_with(self.akid, "x" * 40)
        self.addCleanup(close_client, bad)
        self.assert_denied(bad.list_functions, "InvalidSignatureException", BAD_SIGNATURE)
        self.assert_denied(lambda: bad.invoke(FunctionName="nope", Payload=b"{}"),
                           "InvalidSignatureException", BAD_SIGNATURE)
        rc, out, err = self.cli("list-functions", secret="y" * 40)
        self.assertNotEqual(rc, 0)
        self.assertIn("InvalidSignatureException", err)

    def test_unknown_key_is_unrecognized_client(self):
        bad = self.client_with("AKIAUNKNOWNUNKNOWN00", self.secret)
        self.addCleanup(close_client, bad)
        self.assert_denied(bad.list_functions, "UnrecognizedClientException",
                           "The security token included in the request is invalid.")
        rc, out, err = self.cli("list-functions", akid="AKIAUNKNOWNUNKNOWN01")
        self.assertNotEqual(rc, 0)
        self.assertIn("UnrecognizedClientException", err)

    def test_unsigned_requests_are_refused(self):
        for method, path, body in (
            ("GET", "/2015-03-31/functions/", None),
            ("POST", "/2015-03-31/functions/f/invocations", b"{}"),
        ):
            status, headers, payload = self.raw(method, path, body=body)
            self.assertEqual(status, 403, path)
            self.assertEqual(headers["x-amzn-errortype"], "MissingAuthenticationTokenException")
            self.assertEqual(json.loads(payload)["message"], "Missing Authentication Token")

    def test_expired_signature(self):
        when = datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
        stamp = when.strftime("%Y%m%dT%H%M%SZ")
        url = self.server.endpoint + "/2015-03-31/functions/"
        req = botocore.awsrequest.AWSRequest(method="GET", url=url, headers={"X-Amz-Date": stamp})
        signer = botocore.auth.SigV4Auth(
            botocore.credentials.Credentials(self.akid, self.secret), "lambda", REGION
        )
        req.context["timestamp"] = stamp
        canonical = signer.canonical_request(req)
        sig = signer.signature(signer.string_to_sign(req, canonical), req)
        auth = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
            self.akid, signer.credential_scope(req),
            signer.signed_headers(signer.headers_to_sign(req)), sig)
        r = urllib.request.Request(url, headers={"X-Amz-Date": stamp, "Authorization": auth})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(r, timeout=10)
        self.assertEqual(cm.exception.code, 403)
        self.assertEqual(cm.exception.headers["x-amzn-ErrorType"], "InvalidSignatureException")
        message = json.loads(cm.exception.read())["message"]
        self.assertTrue(message.startswith("Signature expired: %s is now earlier than " % stamp),
                        message)
        self.assertTrue(message.endswith(" - 15 min.)"), message)

    def test_code_location_downloads_with_its_token_only(self):
        """GetFunction's Code.Location works unsigned (as S3's presigned URL does); a tampered
        token, a token moved to another path or no token at all gets 403."""
        name = self.unique_name("authloc")
        zip_bytes = probe_zip()
        self.create_function(name, zip_bytes)
        rc, out, err = self.cli("get-function", "--function-name", name)
        self.assertEqual(rc, 0, err)
        location = json.loads(out)["Code"]["Location"]
        self.assertIn("X-Lambdad-Signature=", location)
        with urllib.request.urlopen(location, timeout=30) as r:
            self.assertEqual(r.read(), zip_bytes)

        base, query = location.split("?", 1)
        flipped = location[:-1] + ("0" if location[-1] != "0" else "1")
        other_path = base.replace("/lambdad/packages/", "/lambdad/packages/0") + "?" + query
        later = query.replace("X-Lambdad-Expires=", "X-Lambdad-Expires=9")
        for bad in (flipped, other_path, base + "?" + later, base):
            with self.assertRaises(urllib.error.HTTPError, msg=bad) as cm:
                urllib.request.urlopen(bad, timeout=30).close()
            self.assertEqual(cm.exception.code, 403, bad)
            cm.exception.close()
        # The server keeps serving signed clients.
        self.assertIn("Functions", self.lam.list_functions())

    def test_keys_added_and_removed_while_running(self):
        akid, secret = add_key(self.server.data_dir, "second")
        rc, out, err = keys_cmd(self.server.data_dir, "ls")
        self.assertEqual(rc, 0, err)
        self.assertIn(akid, out)
        self.assertIn(self.akid, out)
        self.assertNotIn(secret, out)
        second = self.client_with(akid, secret)
        self.addCleanup(close_client, second)
        # The server looks at keys.db at most once a second.
        self.assertEqual(self.eventually(second.list_functions, "ok"), "ok")
        self.assertEqual(keys_cmd(self.server.data_dir, "rm", akid)[0], 0)
        self.assertEqual(
            self.eventually(second.list_functions, "UnrecognizedClientException"),
            "UnrecognizedClientException",
        )
        self.assertNotEqual(keys_cmd(self.server.data_dir, "rm", akid)[0], 0)
        self.lam.list_functions()  # the first key still works


class ListenAddressTest(unittest.TestCase):
    def test_non_loopback_without_keys_is_refused(self):
        data_dir = tempfile.mkdtemp(prefix="lambdad-e2e-auth-")
        self.addCleanup(subprocess.run, ["rm", "-rf", data_dir], check=False)
        p = subprocess.run(
            [lambdad_binary(), "serve", "--listen", "0.0.0.0:%d" % free_port(), "--data-dir",
             data_dir],
            capture_output=True, timeout=20, stdin=subprocess.DEVNULL,
        )
        self.assertEqual(p.returncode, 2)
        err = p.stderr.decode()
        self.assertIn("refusing to listen on 0.0.0.0 without access keys", err)
        self.assertIn("lambdad keys add", err)
        self.assertIn("--insecure", err)


if __name__ == "__main__":
    unittest.main()
