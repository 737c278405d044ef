"""s3rver and dynalite (npm, installed by ./setup.sh into this directory's node_modules) as
loopback S3- and DynamoDB-compatible servers for the ETL test and benchmark."""

import os
import shutil
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = os.path.join(HERE, "node_modules")
S3RVER = os.path.join(HERE, "s3rver.js")
DYNALITE = os.path.join(MODULES, "dynalite", "cli.js")
# s3rver checks SigV4 signatures against this fixed key pair (and lambdad/lambdad, the
# credentials lambdad gives functions: see s3rver.js); dynalite accepts any.
ACCESS_KEY = "S3RVER"
SECRET_KEY = "S3RVER"
REGION = "us-east-1"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, proc, log_path, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log_path, errors="replace") as f:
                raise RuntimeError("server exited with %s: %s" % (proc.returncode, f.read()))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen on %d within %d s" % (port, timeout))


class EtlServers:
    """Starts s3rver (data in a temp dir) and dynalite (in memory) on free loopback ports."""

    def __init__(self):
        self.tmp = None
        self.procs = []
        self.s3_url = None
        self.dynamodb_url = None

    def start(self):
        for path in (os.path.join(MODULES, "s3rver"), DYNALITE):
            if not os.path.exists(path):
                raise RuntimeError("%s missing: run ./setup.sh (npm ci in %s)" % (path, HERE))
        self.tmp = tempfile.mkdtemp(prefix="lambdad-etl-servers-")
        s3_port, ddb_port = _free_port(), _free_port()
        os.mkdir(os.path.join(self.tmp, "s3"))
        self._spawn(
            "s3rver",
            ["node", S3RVER, os.path.join(self.tmp, "s3"), "127.0.0.1", str(s3_port)],
            s3_port,
        )
        self._spawn(
            "dynalite",
            ["node", DYNALITE, "--host", "127.0.0.1", "--port", str(ddb_port),
             "--createTableMs", "0", "--deleteTableMs", "0"],
            ddb_port,
        )
        self.s3_url = "http://127.0.0.1:%d" % s3_port
        self.dynamodb_url = "http://127.0.0.1:%d" % ddb_port
        return self

    def _spawn(self, name, cmd, port):
        log_path = os.path.join(self.tmp, name + ".log")
        log = open(log_path, "wb")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=HERE)
        log.close()
        self.procs.append(proc)
        _wait_port(port, proc, log_path)

    def function_env(self):
        """Environment a function needs to reach both servers, as the AWS SDKs read it. The
        credentials and region are the ones lambdad sets (reserved keys, as on Lambda)."""
        return {
            "AWS_ENDPOINT_URL_S3": self.s3_url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_url,
        }

    def clients(self):
        """boto3 (s3, dynamodb) clients for the servers (path-style S3)."""
        import boto3
        import botocore.config

        session = boto3.session.Session(
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
        )
        s3 = session.client(
            "s3",
            endpoint_url=self.s3_url,
            config=botocore.config.Config(s3={"addressing_style": "path"}),
        )
        ddb = session.client("dynamodb", endpoint_url=self.dynamodb_url)
        return s3, ddb

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
