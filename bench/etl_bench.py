#!/usr/bin/env python3
"""ETL figures: examples/etl (C++) beside the same function in Node.js (bench/etl_node: aws-lambda-ric
+ @aws-sdk/client-s3 + @aws-sdk/client-dynamodb + adm-zip), on a real `lambdad serve`, against
s3rver and dynalite on loopback (tests/e2e/etl_servers).

For each runtime and memory size (128, 512, 1769 MB) a fresh function gets one cold and one warm
invoke on the same input (default ~10 MB of JSON in 10 files, deflated); the REPORT line (LogType
Tail) gives Init Duration, Duration, Billed Duration and Max Memory Used.

  /usr/bin/python3 bench/etl_bench.py [--node-dir DIR] [--json-mb 10] [--markdown]

--node-dir must hold index.mjs, bootstrap and a node_modules with aws-lambda-ric and the packages
above; without it only the C++ function is measured.
"""

import argparse
import base64
import io
import json
import os
import random
import re
import sys
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e", "etl_servers"))

import boto3  # noqa: E402
import botocore.config  # noqa: E402
from harness import ROLE, Server, build_dir, zip_dir  # noqa: E402
from servers import EtlServers  # noqa: E402

BUCKET = "etl-bench"
TABLE = "etl-orders"
KEY = "in/orders.zip"
MEMORY = (128, 512, 1769)
# First-tier x86 on-demand prices, us-east-1 (as src/metering/billing.h).
GB_SECOND = 0.0000166667
PER_REQUEST = 0.20 / 1e6


def make_input(json_mb, files=10):
    rnd = random.Random(42)
    words = ["alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "tango", "zulu"]
    per_file = json_mb * 1024 * 1024 // files
    buf = io.BytesIO()
    n = 0
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in range(files):
            recs, size = [], 2
            while size < per_file:
                n += 1
                r = {
                    "order_id": "o-%07d" % n,
                    "created": "2024-03-%02dT%02d:%02d:00+02:00" % (1 + n % 28, n % 24, n % 60),
                    "customer": "cust %d" % rnd.randrange(5000),
                    "unit_price": "%d.%02d" % (rnd.randrange(500), rnd.randrange(100)),
                    "quantity": rnd.randrange(1, 20),
                    "note": " ".join(rnd.choice(words) for _ in range(150)),
                }
                s = json.dumps(r)
                recs.append(s)
                size += len(s) + 1
            zf.writestr("orders/part-%02d.json" % f, "[" + ",".join(recs) + "]")
    return buf.getvalue(), n


def report(log_tail):
    fields = {}
    for name, key in (("Duration", "duration"), ("Billed Duration", "billed"),
                      ("Init Duration", "init"), ("Max Memory Used", "max_mem")):
        m = re.search(r"(?<![A-Za-z ])%s: ([0-9.]+)" % name, log_tail)
        if m:
            fields[key] = float(m.group(1))
    return fields


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--node-dir")
    ap.add_argument("--json-mb", type=int, default=10)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    data, records = make_input(args.json_mb)
    packages = [("C++ (examples/etl)", open(os.path.join(build_dir(), "examples", "etl", "etl.zip"),
                                            "rb").read())]
    if args.node_dir:
        packages.append(("Node.js 20 (bench/etl_node)", zip_dir(
            args.node_dir, exclude={"node_modules/aws-lambda-ric/deps",
                                    "node_modules/aws-lambda-ric/build", "package-lock.json",
                                    "node_modules/.package-lock.json",
                                    "node_modules/.lambdad-stamp"})))

    servers = EtlServers().start()
    server = Server().start()
    rows = []
    try:
        s3, ddb = servers.clients()
        s3.create_bucket(Bucket=BUCKET)
        ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=data)
        lam = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name="us-east-1").client(
            "lambda", endpoint_url=server.endpoint,
            config=botocore.config.Config(read_timeout=900, retries={"max_attempts": 1}))
        event = json.dumps({"Records": [{"s3": {"bucket": {"name": BUCKET},
                                                 "object": {"key": KEY}}}]})
        env = servers.function_env()
        env["ETL_TABLE"] = TABLE
        for label, zip_bytes in packages:
            for mem in MEMORY:
                name = "etl-bench-%d-%d" % (len(rows), mem)
                lam.create_function(FunctionName=name, Runtime="provided.al2023",
                                    Handler="index.handler", Role=ROLE, MemorySize=mem,
                                    Timeout=900, Code={"ZipFile": zip_bytes},
                                    Environment={"Variables": env})
                while lam.get_function_configuration(FunctionName=name)["State"] != "Active":
                    time.sleep(0.1)
                runs = []
                for _ in range(2):
                    resp = lam.invoke(FunctionName=name, Payload=event, LogType="Tail")
                    body = resp["Payload"].read()
                    tail = base64.b64decode(resp.get("LogResult", "")).decode("utf-8", "replace")
                    r = report(tail)
                    r["error"] = resp.get("FunctionError")
                    r["body"] = body[:300].decode("utf-8", "replace")
                    runs.append(r)
                lam.delete_function(FunctionName=name)
                rows.append((label, len(zip_bytes), mem, runs))
                print(label, mem, json.dumps(runs), file=sys.stderr, flush=True)
    finally:
        server.stop()
        server.cleanup()
        servers.stop()

    print("Input: %d records, %d bytes of JSON zipped to %d bytes (10 files)\n"
          % (records, args.json_mb * 1024 * 1024, len(data)))
    print("| function | zip bytes | memory MB | Init Duration ms | cold Duration ms | "
          "warm Duration ms | Max Memory Used MB | $ per 1M warm runs |")
    print("|---|---|---|---|---|---|---|---|")
    for label, size, mem, (cold, warm) in rows:
        if cold.get("error") or warm.get("error"):
            print("| %s | %d | %d | %s | failed: %s | | | |" % (
                label, size, mem, cold.get("init", "-"), (cold.get("body") or "")[:120]))
            continue
        cost = 1e6 * (warm["billed"] / 1000 * mem / 1024 * GB_SECOND + PER_REQUEST)
        print("| %s | %d | %d | %.1f | %.0f | %.0f | %d | %.2f |" % (
            label, size, mem, cold.get("init", 0), cold["duration"], warm["duration"],
            max(cold["max_mem"], warm["max_mem"]), cost))


if __name__ == "__main__":
    main()
