#!/usr/bin/python3
"""Function URL and SAM route requests beside plain Invoke, in one run on one server.

One probe function (echo) with a function URL and an HttpApi route. A single keep-alive
http.client connection sends N requests of each kind, interleaved in rounds so machine load hits
all alike: Invoke (POST .../invocations with a small JSON payload), the function URL (GET by
Host header; the event is built by the server) and the route (Host api.localhost). Prints the
median and p95 client-side latency per kind and the ratio to Invoke.

  LAMBDAD_BUILD_DIR=build bench/url_bench.py [--requests N]
"""

import argparse
import http.client
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import ROLE, Server, close_client, probe_zip  # noqa: E402

import boto3  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    args = ap.parse_args()
    server = Server(extra_args=["--no-isolation"]).start()
    lam = boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    try:
        lam.create_function(FunctionName="bench", Runtime="provided.al2023", Role=ROLE,
                            Handler="bootstrap", Code={"ZipFile": probe_zip()})
        url = lam.create_function_url_config(FunctionName="bench", AuthType="NONE")["FunctionUrl"]
        url_host = url[len("http://"):].rstrip("/")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("PUT", "/lambdad/routes/bench",
                     body=json.dumps({"Routes": [{"Method": "GET", "Path": "/items/{id}"}]}))
        assert conn.getresponse().read() is not None
        kinds = {
            "invoke": ("POST", "/2015-03-31/functions/bench/invocations", b'{"action":"echo"}',
                       {}),
            "url": ("GET", "/items/1?a=b", None, {"Host": url_host}),
            "route": ("GET", "/items/1?a=b", None, {"Host": "api.localhost:%d" % server.port}),
        }
        samples = {k: [] for k in kinds}
        for _ in range(20):  # warm
            for method, path, body, headers in kinds.values():
                conn.request(method, path, body=body, headers=headers)
                conn.getresponse().read()
        rounds = 10
        for _ in range(rounds):
            for kind, (method, path, body, headers) in kinds.items():
                for _ in range(args.requests // rounds):
                    t0 = time.perf_counter()
                    conn.request(method, path, body=body, headers=headers)
                    r = conn.getresponse()
                    r.read()
                    samples[kind].append(time.perf_counter() - t0)
                    assert r.status == 200, (kind, r.status)
        base = statistics.median(samples["invoke"])
        for kind, xs in samples.items():
            xs.sort()
            med = statistics.median(xs)
            print("%-7s n=%d median %.3f ms  p95 %.3f ms  ratio to invoke %.2f" % (
                kind, len(xs), med * 1e3, xs[int(len(xs) * 0.95)] * 1e3, med / base))
    finally:
        close_client(lam)
        server.cleanup()


if __name__ == "__main__":
    main()
