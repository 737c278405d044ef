#!/usr/bin/python3
"""Cold start and warm invoke with full isolation beside plain processes, in one run.

Two servers from the same build: `lambdad serve` (namespace spawner when privileged) and
`lambdad serve --no-isolation`. Cold: create a fresh probe function and time its first invoke
(client side, boto3). Warm: time repeated invokes of one function. Rounds alternate between
the servers so machine load hits both alike. Prints medians and the isolated/plain ratio.

  LAMBDAD_BUILD_DIR=build bench/isolation_bench.py [--cold N] [--warm N] [--memory MB]
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import ROLE, Server, close_client, probe_zip  # noqa: E402

import boto3  # noqa: E402
import botocore.config  # noqa: E402


def client(endpoint):
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=botocore.config.Config(retries={"max_attempts": 0}, read_timeout=60),
    )


def invoke_ms(lam, name):
    t = time.perf_counter()
    r = lam.invoke(FunctionName=name, Payload=b'{"action":"echo"}')
    r["Payload"].read()
    if "FunctionError" in r:
        raise SystemExit("invoke failed on %s" % name)
    return (time.perf_counter() - t) * 1e3


MEMORY_MB = 1769


def create(lam, name, zip_bytes):
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Handler="bootstrap",
                        Role=ROLE, Code={"ZipFile": zip_bytes}, MemorySize=MEMORY_MB)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", type=int, default=20)
    ap.add_argument("--warm", type=int, default=200)
    # 1,769 MB = one vCPU: the isolated function is not throttled, so the figures show the
    # sandbox's own cost. Smaller sizes add the CPU quota's (intended) slowdown.
    ap.add_argument("--memory", type=int, default=1769)
    args = ap.parse_args()
    global MEMORY_MB
    MEMORY_MB = args.memory
    zip_bytes = probe_zip()
    servers = {"isolated": Server().start(), "plain": Server(extra_args=["--no-isolation"]).start()}
    try:
        log = servers["isolated"].log()
        if "isolation: namespaces" not in log:
            print("note: namespace isolation unavailable; both servers run plain processes")
        lams = {k: client(s.endpoint) for k, s in servers.items()}
        cold = {k: [] for k in servers}
        warm = {k: [] for k in servers}
        for mode, lam in lams.items():
            create(lam, "warm", zip_bytes)
            invoke_ms(lam, "warm")
        for i in range(args.cold):
            for mode, lam in lams.items():
                name = "cold-%d" % i
                create(lam, name, zip_bytes)
                cold[mode].append(invoke_ms(lam, name))
                lam.delete_function(FunctionName=name)
        for _ in range(args.warm):
            for mode, lam in lams.items():
                warm[mode].append(invoke_ms(lam, "warm"))
        result = {}
        for what, data in (("cold_ms", cold), ("warm_ms", warm)):
            med = {k: statistics.median(v) for k, v in data.items()}
            result[what] = {
                "isolated_median": round(med["isolated"], 2),
                "plain_median": round(med["plain"], 2),
                "added_ms": round(med["isolated"] - med["plain"], 2),
                "ratio": round(med["isolated"] / med["plain"], 3),
            }
        print(json.dumps({"memory_mb": args.memory, "cold_n": args.cold, "warm_n": args.warm,
                          **result}, indent=2))
        for lam in lams.values():
            close_client(lam)
    finally:
        for s in servers.values():
            s.cleanup()


if __name__ == "__main__":
    main()
