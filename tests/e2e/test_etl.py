"""examples/etl end to end: an S3 event names a zip in s3rver; the C++ function (built by CMake
at <build>/examples/etl/etl.zip) runs on lambdad, writes <key>.csv back to s3rver and the rows
to dynalite. s3rver checks the function's SigV4 signatures; both servers are npm packages that
./setup.sh installs into tests/e2e/etl_servers/node_modules."""

import io
import json
import os
import sys
import unittest
import zipfile

from harness import ServerTestCase, build_dir

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "etl_servers"))
from servers import EtlServers  # noqa: E402

BUCKET = "etl-input"
TABLE = "etl-orders"


def etl_zip():
    path = os.path.join(build_dir(), "examples", "etl", "etl.zip")
    if not os.path.exists(path):
        raise AssertionError("etl zip missing: %s (built by examples/etl)" % path)
    with open(path, "rb") as f:
        return f.read()


def input_zip(files):
    """files: [(name, bytes, compress_type)] in this order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, compress in files:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compress
            zf.writestr(info, data)
    return buf.getvalue()


def s3_event(bucket, key):
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": "arn:aws:s3:::" + bucket},
                    "object": {"key": key, "size": 1},
                },
            }
        ]
    }


ORDERS_A = [
    {"order_id": "A-1", "created": "2024-03-01T14:30:00+02:00", "customer": "Ann",
     "unit_price": 12.5, "quantity": 3},
    {"order_id": 2, "created": 1709301600, "customer": "Bob, Jr.", "unit_price": "0.99",
     "quantity": 10, "note": 'said "hi"\nthen left'},
    {"order_id": "A-3", "created": "not a date", "customer": "Cy", "unit_price": 1, "quantity": 1},
    {"order_id": "A-4", "created": 1709301600123, "customer": "Dee", "unit_price": 7,
     "quantity": 0},
    "not an object",
    {"order_id": "A-6", "created": "2024-02-29", "customer": "Eve", "unit_price": 1.234,
     "quantity": 1},
]
# 30 more rows: more than one BatchWriteItem chunk of 25.
ORDERS_B = [
    {"order_id": "B-%02d" % i, "created": "2024-03-02 08:00:%02d" % i, "customer": "C%d" % i,
     "unit_price": "%d.05" % i, "quantity": i}
    for i in range(30)
]

EXPECTED_HEAD = [
    "id,created_at,customer_name,price,qty,total,note,source_file",
    "A-1,2024-03-01T12:30:00Z,Ann,12.50,3,37.50,,data/a.json",
    '2,2024-03-01T14:00:00Z,"Bob, Jr.",0.99,10,9.90,"said ""hi""\nthen left",data/a.json',
    "A-4,2024-03-01T14:00:00Z,Dee,7.00,0,0.00,,data/a.json",
]


class EtlTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.servers = EtlServers()
        try:
            cls.servers.start()
            cls.s3, cls.ddb = cls.servers.clients()
            cls.s3.create_bucket(Bucket=BUCKET)
            cls.ddb.create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except Exception:
            cls.servers.stop()
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.servers.stop()
        super().tearDownClass()

    def etl_function(self, **env):
        name = self.unique_name("etl")
        variables = self.servers.function_env()
        variables["ETL_TABLE"] = TABLE
        variables.update(env)
        self.create_function(name, etl_zip(), Timeout=30, MemorySize=256,
                             Environment={"Variables": variables})
        return name

    def scan(self):
        items = []
        kw = {"TableName": TABLE}
        while True:
            resp = self.ddb.scan(**kw)
            items.extend(resp["Items"])
            if "LastEvaluatedKey" not in resp:
                return sorted(items, key=lambda it: it["id"]["S"])
            kw["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def test_zip_to_csv_and_table(self):
        key = "in/batch 1.zip"
        data = input_zip([
            ("data/a.json", json.dumps(ORDERS_A).encode(), zipfile.ZIP_DEFLATED),
            ("README.txt", b"ignored", zipfile.ZIP_DEFLATED),
            ("data/broken.json", b'{"not": "an array"}', zipfile.ZIP_STORED),
            ("data/b.JSON", json.dumps(ORDERS_B).encode(), zipfile.ZIP_STORED),
        ])
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        name = self.etl_function()

        # S3 event keys are URL-encoded, spaces as '+'.
        result = self.invoke_json(name, s3_event(BUCKET, "in/batch+1.zip"))
        self.assertEqual(result, {
            "bucket": BUCKET, "key": key, "csvKey": key + ".csv", "table": TABLE,
            "files": 3, "records": 36, "rows": 33, "badRecords": 3, "badFiles": 1,
            "batchCalls": 2,
            "errors": [
                {"file": "data/a.json", "index": 2, "reason": "created missing or not a timestamp"},
                {"file": "data/a.json", "index": 4, "reason": "record is not an object"},
                {"file": "data/a.json", "index": 5,
                 "reason": "unit_price missing or not a decimal >= 0 with at most 2 places"},
                {"file": "data/broken.json", "index": -1, "reason": "not a JSON array"},
            ],
        })

        obj = self.s3.get_object(Bucket=BUCKET, Key=key + ".csv")
        self.assertEqual(obj["ContentType"], "text/csv")
        csv = obj["Body"].read().decode()
        expected = "\r\n".join(EXPECTED_HEAD) + "\r\n"
        for i in range(30):
            cents = i * (100 * i + 5)  # total = qty * price, price = i.05
            expected += "B-%02d,2024-03-02T08:00:%02dZ,C%d,%d.05,%d,%d.%02d,,data/b.JSON\r\n" % (
                i, i, i, i, i, cents // 100, cents % 100)
        self.assertEqual(csv, expected)

        items = self.scan()
        self.assertEqual(len(items), 33)
        self.assertEqual(items[0], {
            "id": {"S": "2"}, "created_at": {"S": "2024-03-01T14:00:00Z"},
            "customer_name": {"S": "Bob, Jr."}, "price": {"N": "0.99"}, "qty": {"N": "10"},
            "total": {"N": "9.9"}, "note": {"S": 'said "hi"\nthen left'},
            "source_file": {"S": "data/a.json"},
        })
        self.assertEqual(items[1], {
            "id": {"S": "A-1"}, "created_at": {"S": "2024-03-01T12:30:00Z"},
            "customer_name": {"S": "Ann"}, "price": {"N": "12.5"}, "qty": {"N": "3"},
            "total": {"N": "37.5"}, "source_file": {"S": "data/a.json"},
        })
        self.assertEqual(items[2]["id"], {"S": "A-4"})
        self.assertEqual(items[2]["total"], {"N": "0"})
        self.assertEqual([it["id"]["S"] for it in items[3:]], ["B-%02d" % i for i in range(30)])
        self.assertEqual(items[32]["total"], {"N": "842.45"})  # 29 * 29.05

    def test_missing_object_is_a_function_error(self):
        name = self.etl_function()
        resp, body = self.invoke(name, s3_event(BUCKET, "in/nope.zip"))
        self.assertEqual(resp.get("FunctionError"), "Unhandled")
        err = json.loads(body)
        self.assertEqual(err["errorType"], "S3Error")
        self.assertIn("NoSuchKey", err["errorMessage"])

    def test_missing_endpoint_fails_init(self):
        name = self.unique_name("etl-noenv")
        self.create_function(name, etl_zip(), Timeout=10)
        resp, body = self.invoke(name, s3_event(BUCKET, "x.zip"))
        self.assertEqual(resp.get("FunctionError"), "Unhandled")
        err = json.loads(body)
        self.assertIn("ConfigurationError", err["errorType"])
        self.assertIn("AWS_ENDPOINT_URL_S3", err["errorMessage"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
