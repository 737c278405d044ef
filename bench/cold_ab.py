#!/usr/bin/python3
"""Cold start of several lambdad builds in one run, rounds interleaved so load hits all alike.

Each VARIANT is DIR[:plain]: a directory holding `lambdad` (and `lambdad-sandbox-init` when the
build needs one) plus `tests/probe/probe.zip` (a symlink to a build's `tests` will do); `:plain`
adds `--no-isolation`. Per round and variant: create a probe function (1,769 MB), time its first
invoke (boto3, client side), delete it. Prints median and quartiles per variant.

  bench/cold_ab.py /tmp/old,/tmp/new,/tmp/new:plain [ROUNDS=40]
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import ROLE, Server, close_client, probe_zip  # noqa: E402

import boto3  # noqa: E402
import botocore.config  # noqa: E402


def client(endpoint):
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x",
                        config=botocore.config.Config(retries={"max_attempts": 0},
                                                      read_timeout=60))


def main():
    variants = sys.argv[1].split(",")
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    servers = {}
    try:
        zip_bytes = None
        for v in variants:
            directory, _, mode = v.partition(":")
            os.environ["LAMBDAD_BUILD_DIR"] = directory
            zip_bytes = zip_bytes or probe_zip()
            servers[v] = Server(extra_args=["--no-isolation"] if mode == "plain" else []).start()
        lams = {v: client(s.endpoint) for v, s in servers.items()}
        cold = {v: [] for v in servers}
        for i in range(rounds):
            for v, lam in lams.items():
                name = "cold-%d" % i
                lam.create_function(FunctionName=name, Runtime="provided.al2023",
                                    Handler="bootstrap", Role=ROLE, Code={"ZipFile": zip_bytes},
                                    MemorySize=1769)
                t = time.perf_counter()
                r = lam.invoke(FunctionName=name, Payload=b'{"action":"echo"}')
                r["Payload"].read()
                cold[v].append((time.perf_counter() - t) * 1e3)
                lam.delete_function(FunctionName=name)
        for v, xs in cold.items():
            xs.sort()
            print("%-40s cold median %6.2f ms  p25 %6.2f  p75 %6.2f  (n=%d)" % (
                v, statistics.median(xs), xs[len(xs) // 4], xs[3 * len(xs) // 4], len(xs)))
        for lam in lams.values():
            close_client(lam)
    finally:
        for s in servers.values():
            s.cleanup()


if __name__ == "__main__":
    main()
