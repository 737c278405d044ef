"""End-to-end test harness: runs a real `lambdad serve` and drives it with real clients.

Stdlib unittest plus Debian's boto3 and AWS CLI (/usr/bin/python3, /usr/bin/aws). CMake sets
LAMBDAD_BUILD_DIR; LAMBDAD_SERVE_ARGS adds arguments to `lambdad serve` (split like a shell).

One server per test class (ServerTestCase); its stderr goes to a log file that is printed
when a test of the class fails or errors.

Sanitizer builds (LAMBDAD_BUILD_DIR pointing at a build configured with -DLAMBDAD_SANITIZE=...,
e.g. build-asan): the server runs with ASAN_OPTIONS/UBSAN_OPTIONS/TSAN_OPTIONS that make any
report fatal, and Server.stop() fails the test when the server's log holds a sanitizer report
(AddressSanitizer, LeakSanitizer, UBSan "runtime error:", ThreadSanitizer).
"""

import base64
import hashlib
import io
import json
import os
import shlex
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import zipfile

import boto3
import botocore.config
import botocore.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
NODE_FN_DIR = os.path.join(HERE, "node_fn")
AWS_CLI = "/usr/bin/aws"
REGION = "us-east-1"
ACCOUNT = "000000000000"
ROLE = "arn:aws:iam::000000000000:role/x"
START_TIMEOUT_S = 20
STOP_GRACE_S = 10

ClientError = botocore.exceptions.ClientError


def build_dir():
    d = os.environ.get("LAMBDAD_BUILD_DIR")
    if not d:
        d = os.path.join(os.path.dirname(os.path.dirname(HERE)), "build")
    return os.path.abspath(d)


def lambdad_binary():
    return os.path.join(build_dir(), "lambdad")


def sanitizer():
    """"address", "thread" or "" as the build dir's CMakeCache says (LAMBDAD_SANITIZE)."""
    try:
        with open(os.path.join(build_dir(), "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("LAMBDAD_SANITIZE:"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return ""


# Every report is fatal and goes to stderr (the server log). Leak checking runs at exit, so a
# server that leaks fails at stop(). Set in the environment to override.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=66"
    ":detect_stack_use_after_return=0:strict_string_checks=1:check_initialization_order=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=66",
    "LSAN_OPTIONS": "exitcode=66",
    "TSAN_OPTIONS": "halt_on_error=1:exitcode=66:second_deadlock_stack=1",
}
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "WARNING: ThreadSanitizer",
    "runtime error:",
)


def sanitizer_env(env=None):
    """env (default os.environ) plus the sanitizer options for binaries of this build."""
    env = dict(os.environ if env is None else env)
    if sanitizer():
        for k, v in SANITIZER_ENV.items():
            env.setdefault(k, v)
    return env


def sanitizer_report(text):
    """The first sanitizer report in text (from its marker on, bounded), or ""."""
    for marker in SANITIZER_MARKERS:
        i = text.find(marker)
        if i >= 0:
            start = text.rfind("\n", 0, i) + 1
            # Asio/Beast frames run to thousands of characters: cut each line, keep 200.
            lines = text[start:].splitlines()[:200]
            return "\n".join(l if len(l) <= 300 else l[:300] + " ..." for l in lines)
    return ""


def function_arn(name):
    return "arn:aws:lambda:%s:%s:function:%s" % (REGION, ACCOUNT, name)


def code_sha256(data):
    """CodeSha256 as Lambda reports it for a zip: base64 of the SHA-256 of the zip bytes."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_zip(files):
    """Zip in memory. files: {name: (bytes_or_str, mode)} or {name: bytes} (mode 0o644)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, value in files.items():
            if isinstance(value, tuple):
                data, mode = value
            else:
                data, mode = value, 0o644
            if isinstance(data, str):
                data = data.encode()
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so external_attr carries the mode
            info.external_attr = (stat.S_IFREG | mode) << 16
            zf.writestr(info, data)
    return buf.getvalue()


def zip_dir(root, exclude=()):
    """Zip a directory tree in memory, keeping file modes; symlinks are stored as files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            rel_dir = os.path.relpath(dirpath, root)
            dirnames[:] = sorted(
                d for d in dirnames if os.path.normpath(os.path.join(rel_dir, d)) not in exclude
            )
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                rel = os.path.normpath(os.path.join(rel_dir, fn))
                if rel in exclude or not os.path.exists(full):
                    continue
                st = os.stat(full)
                with open(full, "rb") as f:
                    data = f.read()
                info = zipfile.ZipInfo(rel, date_time=(2024, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = (stat.S_IFREG | (st.st_mode & 0o777)) << 16
                zf.writestr(info, data)
    return buf.getvalue()


def probe_zip():
    """The probe function's zip, built by CMake at <build>/tests/probe/probe.zip."""
    path = os.path.join(build_dir(), "tests", "probe", "probe.zip")
    if not os.path.exists(path):
        raise AssertionError("probe zip missing: %s (built by tests/probe)" % path)
    with open(path, "rb") as f:
        return f.read()


def shell_bootstrap_zip():
    """The curl-based shell runtime (tests/e2e/fixtures/shell_bootstrap) as `bootstrap`."""
    with open(os.path.join(FIXTURES, "shell_bootstrap"), "rb") as f:
        return make_zip({"bootstrap": (f.read(), 0o755)})


class Server:
    """A `lambdad serve` process on a free loopback port with its own data dir."""

    def __init__(self, data_dir=None, extra_args=None, log_path=None, wrapper=None):
        self._own_data_dir = data_dir is None
        self.wrapper = list(wrapper or [])  # e.g. setpriv ... to run the server as another user
        self._own_log = log_path is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="lambdad-e2e-data-")
        self.extra_args = list(extra_args or [])
        self.port = None
        self.proc = None
        if log_path is None:
            log = tempfile.NamedTemporaryFile(prefix="lambdad-e2e-", suffix=".log", delete=False)
            log_path = log.name
            log.close()
        self.log_path = log_path

    def owns(self, data_dir=None, log=None):
        """Hands the data dir / log file over when a restarted server reuses them."""
        if data_dir is not None:
            self._own_data_dir = data_dir
        if log is not None:
            self._own_log = log

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        binary = lambdad_binary()
        if not os.access(binary, os.X_OK):
            raise AssertionError("lambdad binary not found: %s (run `make build`)" % binary)
        self.port = free_port()
        args = self.wrapper + [
            binary,
            "serve",
            "--listen",
            "127.0.0.1:%d" % self.port,
            "--data-dir",
            self.data_dir,
        ]
        args += shlex.split(os.environ.get("LAMBDAD_SERVE_ARGS", ""))
        args += self.extra_args
        with open(self.log_path, "ab") as log:
            log.write(("$ %s\n" % " ".join(shlex.quote(a) for a in args)).encode())
            log.flush()
            self.proc = subprocess.Popen(
                args,
                env=sanitizer_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    "lambdad exited with %s during start\n%s" % (self.proc.returncode, self.log())
                )
            try:
                with urllib.request.urlopen(self.endpoint + "/2015-03-31/functions/", timeout=2):
                    return self
            except urllib.error.HTTPError:
                return self  # it answers HTTP: up
            except (urllib.error.URLError, OSError) as e:
                last_error = e
            time.sleep(0.05)
        self.stop()
        raise AssertionError(
            "lambdad did not answer within %d s (%s)\n%s" % (START_TIMEOUT_S, last_error, self.log())
        )

    def stop(self):
        """SIGTERM, wait up to 10 s, then SIGKILL. Returns the exit code.

        In a sanitizer build, raises AssertionError when the log holds a sanitizer report."""
        if self.proc is None:
            return None
        rc = self._stop()
        if sanitizer():
            report = sanitizer_report(self.log())
            if report:
                raise AssertionError(
                    "lambdad (%s sanitizer build) reported an error (exit %s):\n%s"
                    % (sanitizer(), rc, report)
                )
        return rc

    def _stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                with open(self.log_path, "ab") as log:
                    log.write(b"[harness] no exit %d s after SIGTERM: SIGKILL\n" % STOP_GRACE_S)
                self.proc.kill()
                self.proc.wait()
        # Runtimes the server failed to stop would keep ports and files busy.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        rc = self.proc.returncode
        self.proc = None
        return rc

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def cleanup(self):
        try:
            self.stop()
        finally:
            self._remove()

    def _remove(self):
        if self._own_data_dir:
            subprocess.run(["rm", "-rf", self.data_dir], check=False)
        if self._own_log:
            try:
                os.unlink(self.log_path)
            except OSError:
                pass


def close_client(client):
    """Closes a boto3 client's connection pool (botocore >= 1.26 has close())."""
    if client is not None and hasattr(client, "close"):
        client.close()


def aws_env():
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("AWS_"):
            del env[k]
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_PAGER": "",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


class ServerTestCase(unittest.TestCase):
    """One lambdad server per test class; helpers to reach it with the AWS CLI and boto3."""

    server = None
    server_args = []

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = cls.make_server().start()
        cls._failed = False
        cls.tmpdir = tempfile.mkdtemp(prefix="lambdad-e2e-tmp-")
        cls.lam = cls.make_client()

    @classmethod
    def make_server(cls):
        """The (not yet started) Server for this class; override to change how it runs."""
        return Server(extra_args=cls.server_args)

    @classmethod
    def tearDownClass(cls):
        close_client(getattr(cls, "lam", None))
        server = cls.server
        cls.server = None
        sanitizer_error = None
        if server is not None:
            rc = None
            try:
                rc = server.stop()
            except AssertionError as e:  # a sanitizer report: fails the class
                sanitizer_error = e
            if cls._failed or sanitizer_error is not None:
                sys.stderr.write(
                    "\n===== lambdad log (%s, exit %s) =====\n%s\n===== end of log =====\n"
                    % (cls.__name__, rc, server.log())
                )
            server.cleanup()
        subprocess.run(["rm", "-rf", cls.tmpdir], check=False)
        super().tearDownClass()
        if sanitizer_error is not None:
            raise sanitizer_error

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            type(self)._failed = True
        return out

    # --- clients -----------------------------------------------------------------------

    @classmethod
    def make_client(cls, read_timeout=70):
        return boto3.session.Session(
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name=REGION,
        ).client(
            "lambda",
            endpoint_url=cls.server.endpoint,
            config=botocore.config.Config(
                retries={"max_attempts": 1},
                read_timeout=read_timeout,
                connect_timeout=5,
                max_pool_connections=32,
            ),
        )

    def aws(self, *args, timeout=120):
        """Runs `aws lambda <args>`. Returns (rc, parsed JSON or text or None, stderr)."""
        cmd = [
            AWS_CLI,
            "lambda",
            *args,
            "--endpoint-url",
            self.server.endpoint,
            "--region",
            REGION,
            "--no-cli-pager",
            "--output",
            "json",
        ]
        p = subprocess.run(
            cmd,
            env=aws_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            cwd=self.tmpdir,
        )
        out = p.stdout.decode("utf-8", "replace")
        if out.strip():
            try:
                out = json.loads(out)
            except ValueError:
                pass
        else:
            out = None
        return p.returncode, out, p.stderr.decode("utf-8", "replace")

    def aws_ok(self, *args, **kw):
        rc, out, err = self.aws(*args, **kw)
        self.assertEqual(rc, 0, "aws lambda %s failed: %s" % (" ".join(args), err))
        return out

    def raw(self, method, path, body=None, headers=None, timeout=60):
        """Unsigned raw HTTP request. Returns (status, headers dict lower-case, body bytes)."""
        req = urllib.request.Request(
            self.server.endpoint + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    # --- functions ---------------------------------------------------------------------

    def unique_name(self, prefix="fn"):
        name = "%s-%s-%d" % (prefix, self._testMethodName.replace("_", "-")[:30], time.time_ns() % 10**9)
        return name[:64]

    def create_function(self, name, zip_bytes, cleanup=True, **kw):
        params = {
            "FunctionName": name,
            "Runtime": "provided.al2023",
            "Handler": "bootstrap",
            "Role": ROLE,
            "Code": {"ZipFile": zip_bytes},
        }
        params.update(kw)
        resp = self.lam.create_function(**params)
        if cleanup:
            self.addCleanup(self._delete_quietly, name)
        self.wait_active(name)
        return resp

    def _delete_quietly(self, name):
        try:
            self.lam.delete_function(FunctionName=name)
        except Exception:  # noqa: BLE001 - cleanup only
            pass

    def wait_active(self, name, timeout=30):
        """Polls until State Active and LastUpdateStatus not InProgress; returns the config."""
        deadline = time.monotonic() + timeout
        while True:
            cfg = self.lam.get_function_configuration(FunctionName=name)
            if cfg.get("State") == "Active" and cfg.get("LastUpdateStatus") != "InProgress":
                return cfg
            if cfg.get("State") == "Failed" or cfg.get("LastUpdateStatus") == "Failed":
                self.fail("function %s failed: %s" % (name, cfg))
            if time.monotonic() > deadline:
                self.fail("function %s not Active after %d s: %s" % (name, timeout, cfg))
            time.sleep(0.1)

    def invoke(self, name, payload=None, **kw):
        """boto3 invoke; returns (response, payload bytes)."""
        if payload is not None and not isinstance(payload, (bytes, str)):
            payload = json.dumps(payload)
        if payload is not None:
            kw["Payload"] = payload
        resp = self.lam.invoke(FunctionName=name, **kw)
        body = resp["Payload"].read() if "Payload" in resp else b""
        return resp, body

    def invoke_json(self, name, payload=None, **kw):
        resp, body = self.invoke(name, payload, **kw)
        self.assertNotIn("FunctionError", resp, "function failed: %r" % body[:2000])
        return json.loads(body) if body else None

    def assertClientError(self, code, status, fn, *args, **kw):
        """fn(*args, **kw) must raise ClientError with this code and HTTP status."""
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)
        return err


def main():
    unittest.main(verbosity=2)
