"""Asynchronous invocation (issue #7): durable 202, retries, destinations, max age, restart.

The probe's "append" action writes "<id> <request id>" to a file, "flaky" fails a set number
of times (state in a file), and env PROBE_RECORD makes a probe a destination that appends
every record it receives. Retries use --async-retry-base-ms 200 instead of Lambda's 1 minute;
--async-age-unit-ms 1 makes MaximumEventAgeInSeconds=60 last 60 ms so an age drop is quick.
"""

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request

from harness import (ServerTestCase, Server, close_client, function_arn, lambdad_binary, main,
                     probe_zip)

WAIT_S = 30


def wait_for(predicate, timeout=WAIT_S, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def read_lines(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def get_status(endpoint):
    with urllib.request.urlopen(endpoint + "/lambdad/async", timeout=10) as r:
        return json.loads(r.read())


class AsyncInvokeTest(ServerTestCase):
    # The probe records deliveries in files on the host: plain processes, not the sandbox
    # (whose filesystem is read-only outside a private /tmp).
    server_args = ["--no-isolation", "--async-retry-base-ms", "200", "--async-age-unit-ms", "1"]

    def path(self, name):
        return os.path.join(self.tmpdir, "%s-%d" % (name, time.time_ns()))

    def make_probe(self, prefix="async", env=None):
        name = self.unique_name(prefix)
        kw = {"Environment": {"Variables": env}} if env else {}
        self.create_function(name, probe_zip(), **kw)
        return name

    def make_recorder(self):
        out = self.path("records")
        return self.make_probe("dest", env={"PROBE_RECORD": out}), out

    def records(self, path, count=1):
        lines = wait_for(lambda: len(read_lines(path)) >= count and read_lines(path))
        self.assertTrue(lines, "destination got no record in %d s" % WAIT_S)
        return [json.loads(line) for line in lines]

    def test_cli_event_invoke_is_accepted_and_runs(self):
        name = self.make_probe()
        out = self.path("cli")
        payload = json.dumps({"action": "append", "path": out, "id": "cli-1"})
        resp = self.aws_ok(
            "invoke",
            "--function-name",
            name,
            "--invocation-type",
            "Event",
            "--cli-binary-format",
            "raw-in-base64-out",
            "--payload",
            payload,
            os.path.join(self.tmpdir, "cli-out.json"),
        )
        self.assertEqual(resp["StatusCode"], 202)
        lines = wait_for(lambda: read_lines(out))
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("cli-1 "), lines)

    def test_boto3_event_invoke_keeps_the_request_id(self):
        name = self.make_probe()
        out = self.path("boto")
        resp = self.lam.invoke(
            FunctionName=name,
            InvocationType="Event",
            Payload=json.dumps({"action": "append", "path": out, "id": "boto-1"}),
        )
        self.assertEqual(resp["StatusCode"], 202)
        self.assertEqual(resp["Payload"].read(), b"")
        rid = resp["ResponseMetadata"]["RequestId"]
        lines = wait_for(lambda: read_lines(out))
        self.assertEqual(lines, ["boto-1 " + rid])

    def test_async_payload_limit_is_1_mib(self):
        name = self.make_probe()
        big = json.dumps({"pad": "a" * (1048576 - 10)})
        self.assertGreater(len(big), 1048576)
        self.assertClientError(
            "RequestEntityTooLargeException",
            413,
            self.lam.invoke,
            FunctionName=name,
            InvocationType="Event",
            Payload=big,
        )

    def test_fails_twice_then_succeeds_and_reaches_on_success(self):
        name = self.make_probe()
        dest, records = self.make_recorder()
        self.lam.put_function_event_invoke_config(
            FunctionName=name,
            DestinationConfig={"OnSuccess": {"Destination": function_arn(dest)}},
        )
        state = self.path("flaky")
        event = {"action": "flaky", "path": state, "fail": 2}
        resp = self.lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event))
        rid = resp["ResponseMetadata"]["RequestId"]
        rec = self.records(records)[0]
        with open(state) as f:
            self.assertEqual(f.read().strip(), "3")
        self.assertEqual(rec["version"], "1.0")
        self.assertRegex(rec["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(
            rec["requestContext"],
            {
                "requestId": rid,
                "functionArn": function_arn(name) + ":$LATEST",
                "condition": "Success",
                "approximateInvokeCount": 3,
            },
        )
        self.assertEqual(rec["requestPayload"], event)
        self.assertEqual(rec["responseContext"], {"statusCode": 200, "executedVersion": "$LATEST"})
        self.assertEqual(rec["responsePayload"], {"attempt": 3})
        self.assertEqual(list(rec), ["version", "timestamp", "requestContext", "requestPayload",
                                     "responseContext", "responsePayload"])

    def test_failure_destination_gets_the_record_after_retries(self):
        name = self.make_probe()
        dest, records = self.make_recorder()
        self.lam.put_function_event_invoke_config(
            FunctionName=name,
            MaximumRetryAttempts=1,
            DestinationConfig={"OnFailure": {"Destination": function_arn(dest)}},
        )
        event = {"action": "error", "message": "always"}
        resp = self.lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event))
        rid = resp["ResponseMetadata"]["RequestId"]
        rec = self.records(records)[0]
        self.assertEqual(rec["requestContext"]["requestId"], rid)
        self.assertEqual(rec["requestContext"]["condition"], "RetriesExhausted")
        self.assertEqual(rec["requestContext"]["approximateInvokeCount"], 2)
        self.assertEqual(rec["requestPayload"], event)
        self.assertEqual(
            rec["responseContext"],
            {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        )
        self.assertEqual(rec["responsePayload"]["errorMessage"], "always")
        self.assertEqual(rec["responsePayload"]["errorType"], "ProbeError")

    def test_max_event_age_drops_to_on_failure(self):
        name = self.make_probe()
        dest, records = self.make_recorder()
        # 60 "seconds" last 60 ms here; the first retry waits 200 ms, so the event ages out.
        self.lam.put_function_event_invoke_config(
            FunctionName=name,
            MaximumEventAgeInSeconds=60,
            DestinationConfig={"OnFailure": {"Destination": function_arn(dest)}},
        )
        self.lam.invoke(FunctionName=name, InvocationType="Event",
                        Payload=json.dumps({"action": "error"}))
        rec = self.records(records)[0]
        self.assertEqual(rec["requestContext"]["condition"], "EventAgeExceeded")
        self.assertLessEqual(rec["requestContext"]["approximateInvokeCount"], 1)
        status = get_status(self.server.endpoint)
        self.assertGreaterEqual(status["totals"]["expired"], 1)

    def test_event_invoke_config_crud(self):
        name = self.make_probe()
        dest = self.make_probe("d")
        self.assertClientError("ResourceNotFoundException", 404,
                               self.lam.get_function_event_invoke_config, FunctionName=name)
        put = self.lam.put_function_event_invoke_config(
            FunctionName=name, MaximumRetryAttempts=0, MaximumEventAgeInSeconds=3600)
        self.assertEqual(put["FunctionArn"], function_arn(name) + ":$LATEST")
        self.assertEqual(put["MaximumRetryAttempts"], 0)
        self.assertEqual(put["MaximumEventAgeInSeconds"], 3600)
        self.assertEqual(put["DestinationConfig"], {"OnSuccess": {}, "OnFailure": {}})
        self.assertGreater(put["LastModified"].timestamp(), 1.7e9)
        upd = self.lam.update_function_event_invoke_config(
            FunctionName=name,
            DestinationConfig={"OnFailure": {"Destination": function_arn(dest)}},
        )
        self.assertEqual(upd["MaximumRetryAttempts"], 0)
        self.assertEqual(upd["DestinationConfig"]["OnFailure"], {"Destination": function_arn(dest)})
        got = self.lam.get_function_event_invoke_config(FunctionName=name)
        self.assertEqual(got["MaximumEventAgeInSeconds"], 3600)
        listed = self.lam.list_function_event_invoke_configs(FunctionName=name)
        self.assertEqual(len(listed["FunctionEventInvokeConfigs"]), 1)
        # PUT overwrites everything.
        put2 = self.lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1)
        self.assertNotIn("MaximumEventAgeInSeconds", put2)
        self.assertEqual(put2["DestinationConfig"], {"OnSuccess": {}, "OnFailure": {}})
        # Validation (botocore checks minimums itself; the server checks maximums).
        self.assertClientError("ValidationException", 400,
                               self.lam.put_function_event_invoke_config,
                               FunctionName=name, MaximumRetryAttempts=3)
        self.assertClientError("ValidationException", 400,
                               self.lam.put_function_event_invoke_config,
                               FunctionName=name, MaximumEventAgeInSeconds=21601)
        status, _, body = self.raw(
            "PUT", "/2019-09-25/functions/%s/event-invoke-config" % name,
            body=json.dumps({"MaximumEventAgeInSeconds": 59}).encode())
        self.assertEqual(status, 400, body)
        self.assertClientError("InvalidParameterValueException", 400,
                               self.lam.put_function_event_invoke_config, FunctionName=name,
                               DestinationConfig={"OnSuccess": {
                                   "Destination": "arn:aws:sqs:us-east-1:000000000000:q"}})
        self.assertClientError("ResourceNotFoundException", 404,
                               self.lam.put_function_event_invoke_config,
                               FunctionName=name + "-nope", MaximumRetryAttempts=1)
        # The AWS CLI reads it back too.
        out = self.aws_ok("get-function-event-invoke-config", "--function-name", name)
        self.assertEqual(out["MaximumRetryAttempts"], 1)
        self.lam.delete_function_event_invoke_config(FunctionName=name)
        self.assertClientError("ResourceNotFoundException", 404,
                               self.lam.get_function_event_invoke_config, FunctionName=name)

    def test_lambdad_ls_lists_functions_with_async_depth(self):
        name = self.make_probe()
        p = subprocess.run([lambdad_binary(), "ls", "--endpoint-url", self.server.endpoint],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "MEMORY", "TIMEOUT", "ASYNC-DEPTH", "OLDEST-S"])
        row = [line.split() for line in lines if line.startswith(name + " ")]
        self.assertEqual(row, [[name, "128", "3", "0", "0.0"]])
        self.assertTrue(lines[-1].startswith("async: depth "), lines[-1])

    def test_status_reports_totals(self):
        status = get_status(self.server.endpoint)
        for key in ("depth", "enqueued", "delivered", "retries", "drops", "recoveredAtStart"):
            self.assertIn(key, status["totals"])
        self.assertIsInstance(status["functions"], list)


class AsyncRestartTest(ServerTestCase):
    """kill -9 during a burst of accepted events; after a restart every one is delivered."""

    EVENTS = 10000
    THREADS = 8
    # One delivery at a time, 1 ms each: acceptance outruns delivery, so the kill leaves a
    # backlog in async.db (and usually one event in flight).
    server_args = ["--no-isolation", "--async-max-in-flight", "1"]

    def test_kill_9_mid_burst_then_restart_delivers_every_event(self):
        name = self.unique_name("burst")
        self.create_function(name, probe_zip(), cleanup=False)
        out = os.path.join(self.tmpdir, "burst.txt")
        accepted = set()
        lock = threading.Lock()
        next_id = [0]
        killed = threading.Event()

        def sender():
            client = self.make_client(read_timeout=10)
            try:
                while not killed.is_set():
                    with lock:
                        i = next_id[0]
                        next_id[0] += 1
                    if i >= self.EVENTS:
                        return
                    ev = {"action": "append", "path": out, "id": "e%05d" % i, "ms": 1}
                    try:
                        r = client.invoke(FunctionName=name, InvocationType="Event",
                                          Payload=json.dumps(ev))
                    except Exception:  # noqa: BLE001 - the server was killed under us
                        return
                    if r["StatusCode"] == 202:
                        with lock:
                            accepted.add("e%05d" % i)
            finally:
                close_client(client)

        threads = [threading.Thread(target=sender) for _ in range(self.THREADS)]
        for t in threads:
            t.start()
        self.assertTrue(wait_for(lambda: len(accepted) >= self.EVENTS // 2, timeout=60),
                        "only %d events accepted" % len(accepted))
        proc = self.server.proc
        os.kill(proc.pid, signal.SIGKILL)
        killed.set()
        proc.wait()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for t in threads:
            t.join()
        delivered_before = {line.split()[0] for line in read_lines(out)}
        self.assertLess(len(delivered_before), len(accepted), "no backlog at the kill")

        old = self.server
        old.proc = None
        type(self).server = Server(data_dir=old.data_dir, log_path=old.log_path,
                                   extra_args=self.server_args).start()
        old.owns(data_dir=False, log=False)
        self.server.owns(data_dir=True, log=True)
        old.cleanup()

        def all_delivered():
            ids = {line.split()[0] for line in read_lines(out)}
            return accepted <= ids

        ok = wait_for(all_delivered, timeout=60, interval=0.2)
        lines = read_lines(out)
        ids = [line.split()[0] for line in lines]
        missing = accepted - set(ids)
        dups = len(ids) - len(set(ids))
        status = get_status(self.server.endpoint)
        print("\nasync restart: accepted=%d delivered-before-kill=%d recovered=%d lines=%d "
              "duplicates=%d (server counted %d) missing=%d"
              % (len(accepted), len(delivered_before), status["totals"]["recoveredAtStart"],
                 len(lines), dups, status["totals"]["duplicates"], len(missing)))
        self.assertTrue(ok, "%d accepted events never delivered, e.g. %s"
                        % (len(missing), sorted(missing)[:5]))
        # Every delivery of one event carries the request id its 202 carried.
        by_id = {}
        for line in lines:
            eid, rid = line.split()
            by_id.setdefault(eid, set()).add(rid)
        self.assertTrue(all(len(r) == 1 for r in by_id.values()))
        # The server's duplicate count bounds what the function saw twice.
        self.assertGreaterEqual(status["totals"]["duplicates"], dups)
        final = wait_for(lambda: get_status(self.server.endpoint)["totals"]["depth"] == 0)
        self.assertTrue(final, get_status(self.server.endpoint))


if __name__ == "__main__":
    main()
