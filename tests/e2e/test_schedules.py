"""Schedules (issue #7): `lambdad schedule add|ls|rm`, rate()/cron() schedules firing the
scheduled event of events.md §6 through the async queue, constant Input, restart without a
burst of missed firings, SAM Schedule events through `lambdad deploy`, SigV4 on the schedule
API, and bad input answered in Lambda's error format.

Test hook: `lambdad serve --schedule-minute-ms 500` makes one schedule-clock minute last 500 ms,
so rate(1 minute) and cron(* * * * ? *) fire twice a second. The probe with env PROBE_RECORD
appends every event it receives to a file on the host (hence --no-isolation).
"""

import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request

from harness import (ACCOUNT, REGION, Server, ServerTestCase, aws_env, function_arn,
                     lambdad_binary, main, probe_zip)

MINUTE_MS = 500
SERVER_ARGS = ["--no-isolation", "--schedule-minute-ms", str(MINUTE_MS)]
WAIT_S = 30
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
EVENT_KEYS = ["version", "id", "detail-type", "source", "account", "time", "region",
              "resources", "detail"]


def wait_for(predicate, timeout=WAIT_S, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def read_events(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def run_lambdad(*args, env=None):
    e = aws_env() if env is None else env
    for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
        e.pop(k, None)
    return subprocess.run([lambdad_binary(), *args], env=e, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


class ScheduleTestCase(ServerTestCase):
    server_args = SERVER_ARGS

    def cli(self, *args, env=None):
        return run_lambdad("schedule", *args, "--endpoint-url", self.server.endpoint, env=env)

    def cli_ok(self, *args):
        p = self.cli(*args)
        self.assertEqual(p.returncode, 0, "lambdad schedule %s: %s%s" % (args, p.stdout, p.stderr))
        return p.stdout

    def recorder(self, prefix="sched"):
        """A probe that appends every event to a file; returns (name, path)."""
        name = self.unique_name(prefix)
        path = os.path.join(self.tmpdir, name + ".jsonl")
        self.create_function(name, probe_zip(),
                             Environment={"Variables": {"PROBE_RECORD": path}})
        return name, path

    def get_json(self, path):
        status, headers, body = self.raw("GET", path)
        return status, json.loads(body) if body else None

    def send_json(self, method, path, obj):
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        status, headers, body = self.raw(method, path, body=data,
                                         headers={"Content-Type": "application/json"})
        return status, headers, json.loads(body) if body else None

    def status(self):
        with urllib.request.urlopen(self.server.endpoint + "/lambdad/status", timeout=10) as r:
            return json.loads(r.read())

    def remove_quietly(self, name):
        self.raw("DELETE", "/lambdad/schedules/" + name)


class ScheduleCliTest(ScheduleTestCase):
    def test_add_ls_rm(self):
        fn, _ = self.recorder()
        name = "cli-" + fn[-20:]
        self.addCleanup(self.remove_quietly, name)
        out = self.cli_ok("add", name, "--function", fn, "--expression", "cron(0 12 * * ? *)")
        self.assertRegex(out, r"created schedule %s: cron\(0 12 \* \* \? \*\) -> %s "
                              r"\(next firing \d{4}-\d\d-\d\dT12:00:00Z\)" % (name, fn))
        ls = self.cli_ok("ls").splitlines()
        self.assertEqual(ls[0].split(), ["NAME", "FUNCTION", "EXPRESSION", "NEXT", "LAST"])
        row = [line for line in ls if line.startswith(name + " ")]
        self.assertEqual(len(row), 1, ls)
        self.assertIn(fn, row[0])
        self.assertIn("cron(0 12 * * ? *)", row[0])
        self.assertRegex(row[0], r"T12:00:00Z\s+-\s*$")  # never fired yet

        # Adding it again is a conflict; --replace updates it.
        p = self.cli("add", name, "--function", fn, "--expression", "rate(2 hours)")
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 409 ResourceConflictException: Schedule already exists: " + name,
                      p.stderr)
        out = self.cli_ok("add", name, "--function", fn, "--expression", "rate(2 hours)",
                          "--replace", "--disabled")
        self.assertIn("updated schedule " + name, out)
        status, s = self.get_json("/lambdad/schedules/" + name)
        self.assertEqual(status, 200)
        self.assertEqual(s["ScheduleExpression"], "rate(2 hours)")
        self.assertFalse(s["Enabled"])
        self.assertIsNone(s["NextFire"])
        self.assertEqual(s["Arn"], "arn:aws:events:%s:%s:rule/%s" % (REGION, ACCOUNT, name))
        self.assertEqual(s["FunctionArn"], function_arn(fn))
        self.assertRegex(s["CreatedAt"], ISO_Z)
        row = [line for line in self.cli_ok("ls", "--function", fn).splitlines()
               if line.startswith(name + " ")]
        self.assertIn("disabled", row[0])

        self.assertIn("removed schedule " + name, self.cli_ok("rm", name))
        self.assertNotIn(name, self.cli_ok("ls"))
        p = self.cli("rm", name)
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 404 ResourceNotFoundException: Schedule %s does not exist." % name,
                      p.stderr)

    def test_bad_requests_get_lambda_errors_and_change_nothing(self):
        fn, _ = self.recorder()
        keep = "keep-" + fn[-20:]
        self.addCleanup(self.remove_quietly, keep)
        self.cli_ok("add", keep, "--function", fn, "--expression", "rate(5 minutes)")
        before = self.get_json("/lambdad/schedules")[1]

        p = self.cli("add", "x1", "--function", fn, "--expression", "rate(1 minutes)")
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 400 ValidationException: Parameter ScheduleExpression is not valid: "
                      "rate(1 minutes): rate(): use the singular for 1: rate(1 minute)", p.stderr)

        cases = [
            ({"Name": "x2", "FunctionName": fn, "ScheduleExpression": "cron(0 12 * * ?)"},
             400, "ValidationException", "takes 6 fields"),
            ({"Name": "x3", "FunctionName": fn, "ScheduleExpression": "cron(0 12 * * * *)"},
             400, "ValidationException", "must be '?'"),
            ({"Name": "x4", "FunctionName": fn, "ScheduleExpression": "cron(0 0 ? * 3#6 *)"},
             400, "ValidationException", "the n in d#n must be 1 to 5"),
            ({"Name": "bad name", "FunctionName": fn, "ScheduleExpression": "rate(1 hour)"},
             400, "ValidationException", "failed to satisfy constraint"),
            ({"Name": "x5", "FunctionName": "no-such-fn", "ScheduleExpression": "rate(1 hour)"},
             404, "ResourceNotFoundException", "Function not found: " + function_arn("no-such-fn")),
            ({"Name": "x6", "FunctionName": fn + ":nope", "ScheduleExpression": "rate(1 hour)"},
             404, "ResourceNotFoundException", "Function not found"),
            ({"Name": "x7", "ScheduleExpression": "rate(1 hour)"},
             400, "ValidationException", "Value null at 'functionName'"),
            ({"Name": "x8", "FunctionName": fn, "ScheduleExpression": "rate(1 hour)",
              "Input": "{not json"}, 400, "ValidationException", "Parameter Input is not valid"),
            ({"Name": "x9", "FunctionName": fn, "ScheduleExpression": "rate(1 hour)",
              "Enabled": "yes"}, 400, "InvalidParameterValueException", "Enabled"),
            ({"Name": keep, "FunctionName": fn, "ScheduleExpression": "rate(1 hour)"},
             409, "ResourceConflictException", "Schedule already exists: " + keep),
            (b"{not json", 400, "InvalidRequestContentException", "Could not parse"),
        ]
        for body, want_status, want_type, want_text in cases:
            status, headers, reply = self.send_json("POST", "/lambdad/schedules", body)
            self.assertEqual(status, want_status, (body, reply))
            self.assertEqual(headers.get("x-amzn-errortype"), want_type, (body, reply))
            self.assertIn(want_text, reply.get("message", reply.get("Message", "")), body)

        status, _, reply = self.send_json("GET", "/lambdad/schedules/nope", b"")
        self.assertEqual(status, 404)
        status, _, _ = self.send_json("PATCH", "/lambdad/schedules/" + keep, {})
        self.assertEqual(status, 405)
        # Nothing was stored and the server still serves.
        self.assertEqual(self.get_json("/lambdad/schedules")[1], before)
        self.assertEqual(self.lam.get_function(FunctionName=fn)["Configuration"]["FunctionName"],
                         fn)

    def test_rate_schedule_fires_scheduled_events(self):
        fn, path = self.recorder()
        name = "rate-" + fn[-20:]
        self.addCleanup(self.remove_quietly, name)
        self.cli_ok("add", name, "--function", fn, "--expression", "rate(1 minute)")
        events = wait_for(lambda: len(read_events(path)) >= 3 and read_events(path))
        self.assertTrue(events, "fewer than 3 scheduled events arrived")
        self.cli_ok("rm", name)
        for ev in events:
            self.assertEqual(list(ev.keys()), EVENT_KEYS, ev)
            self.assertEqual(ev["version"], "0")
            self.assertRegex(ev["id"], UUID)
            self.assertEqual(ev["detail-type"], "Scheduled Event")
            self.assertEqual(ev["source"], "aws.events")
            self.assertEqual(ev["account"], ACCOUNT)
            self.assertRegex(ev["time"], ISO_Z)
            self.assertEqual(ev["region"], REGION)
            self.assertEqual(ev["resources"],
                             ["arn:aws:events:%s:%s:rule/%s" % (REGION, ACCOUNT, name)])
            self.assertEqual(ev["detail"], {})
        self.assertEqual(len({ev["id"] for ev in events}), len(events))
        # One schedule-clock minute apart.
        times = sorted(ev["time"] for ev in events)
        self.assertEqual(len(set(times)), len(times))
        status, s = self.get_json("/lambdad/schedules/%s" % name)
        self.assertEqual(status, 404)  # removed above

    def test_cron_schedule_with_input_sends_the_input(self):
        fn, path = self.recorder()
        name = "input-" + fn[-20:]
        self.addCleanup(self.remove_quietly, name)
        self.cli_ok("add", name, "--function", fn, "--expression", "cron(* * * * ? *)",
                    "--input", '{"from": "schedule", "n": 1}')
        events = wait_for(lambda: len(read_events(path)) >= 2 and read_events(path))
        self.assertTrue(events, "the cron schedule did not fire twice")
        self.cli_ok("rm", name)
        for ev in events:
            self.assertEqual(ev, {"from": "schedule", "n": 1})

    def test_disabled_schedule_does_not_fire(self):
        fn, path = self.recorder()
        off, on = "off-" + fn[-20:], "on-" + fn[-20:]
        self.addCleanup(self.remove_quietly, off)
        self.addCleanup(self.remove_quietly, on)
        self.cli_ok("add", off, "--function", fn, "--expression", "rate(1 minute)",
                    "--input", '{"who": "off"}', "--disabled")
        self.cli_ok("add", on, "--function", fn, "--expression", "rate(1 minute)",
                    "--input", '{"who": "on"}')
        self.assertTrue(wait_for(lambda: len(read_events(path)) >= 3))
        self.cli_ok("rm", on, off)
        self.assertEqual({ev["who"] for ev in read_events(path)}, {"on"})


class ScheduleDeployTest(ScheduleTestCase):
    TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Ticker:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: {name}
      CodeUri: probe.zip
      Environment:
        Variables:
          PROBE_RECORD: {record}
      Events:
{events}
"""
    TICK = """        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(1 minute)
            Input: '{"sam": true}'
"""
    NIGHTLY = """        Nightly:
          Type: Schedule
          Properties:
            Schedule: cron(0 3 ? * MON-FRI *)
            Enabled: false
"""

    def deploy(self, project, name, record, events):
        with open(os.path.join(project, "template.yaml"), "w") as f:
            f.write(self.TEMPLATE.format(name=name, record=record, events=events))
        p = run_lambdad("deploy", project, "--no-build", "--endpoint-url", self.server.endpoint)
        self.assertEqual(p.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (p.stdout, p.stderr))
        return p.stdout

    def schedules_of(self, fn):
        status, body = self.get_json("/lambdad/schedules?FunctionName=" + fn)
        self.assertEqual(status, 200)
        return {s["Name"]: s for s in body["Schedules"]}

    def test_deploy_creates_updates_and_removes_schedules(self):
        name = self.unique_name("samsched")
        self.addCleanup(self._delete_quietly, name)
        project = tempfile.mkdtemp(prefix="sched-sam-", dir=self.tmpdir)
        with open(os.path.join(project, "probe.zip"), "wb") as f:
            f.write(probe_zip())
        record = os.path.join(project, "events.jsonl")

        out = self.deploy(project, name, record, self.TICK + self.NIGHTLY)
        self.assertIn("schedule %s-Tick: rate(1 minute)" % name, out)
        self.assertIn("schedule %s-Nightly: cron(0 3 ? * MON-FRI *)" % name, out)
        got = self.schedules_of(name)
        self.assertEqual(set(got), {name + "-Tick", name + "-Nightly"})
        tick = got[name + "-Tick"]
        self.assertEqual(tick["ScheduleExpression"], "rate(1 minute)")
        self.assertEqual(tick["Input"], '{"sam": true}')
        self.assertTrue(tick["Enabled"])
        self.assertEqual(tick["ManagedBy"], "sam")
        self.assertFalse(got[name + "-Nightly"]["Enabled"])
        self.assertTrue(wait_for(lambda: len(read_events(record)) >= 2),
                        "the SAM schedule did not fire")
        self.assertEqual(read_events(record)[0], {"sam": True})

        # A schedule added by hand for the same function is not deploy's to remove.
        manual = "manual-" + name[-40:]
        self.addCleanup(self.remove_quietly, manual)
        self.cli_ok("add", manual, "--function", name, "--expression", "rate(1 day)")
        # The template drops Nightly and changes Tick: deploy updates one, removes the other.
        out = self.deploy(project, name, record,
                          self.TICK.replace("rate(1 minute)", "rate(3 hours)"))
        self.assertIn("removed schedule %s-Nightly" % name, out)
        got = self.schedules_of(name)
        self.assertEqual(set(got), {name + "-Tick", manual})
        self.assertEqual(got[name + "-Tick"]["ScheduleExpression"], "rate(3 hours)")
        self.assertIsNotNone(got[name + "-Tick"]["LastFired"])  # kept across the update
        self.remove_quietly(name + "-Tick")

    def test_deploy_rejects_a_bad_expression_clearly(self):
        name = self.unique_name("sambad")
        self.addCleanup(self._delete_quietly, name)
        project = tempfile.mkdtemp(prefix="sched-sam-", dir=self.tmpdir)
        with open(os.path.join(project, "probe.zip"), "wb") as f:
            f.write(probe_zip())
        with open(os.path.join(project, "template.yaml"), "w") as f:
            f.write(self.TEMPLATE.format(name=name, record="/dev/null",
                                         events=self.TICK.replace("rate(1 minute)",
                                                                  "rate(5 minute)")))
        p = run_lambdad("deploy", project, "--no-build", "--endpoint-url", self.server.endpoint)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("ValidationException: Parameter ScheduleExpression is not valid: "
                      "rate(5 minute)", p.stderr)
        self.assertEqual(self.schedules_of(name), {})


class ScheduleRestartTest(ScheduleTestCase):
    """Missed firings while the server is down are not replayed in a burst."""

    DOWN_S = 4  # 8 schedule-clock minutes at 500 ms each

    def test_restart_does_not_replay_missed_firings(self):
        fn, path = self.recorder()
        name = "restart-" + fn[-20:]
        self.cli_ok("add", name, "--function", fn, "--expression", "rate(1 minute)")
        self.assertTrue(wait_for(lambda: len(read_events(path)) >= 2))

        old = self.server
        self.assertEqual(old.stop(), 0)
        time.sleep(self.DOWN_S)  # the schedule misses DOWN_S * 1000 / MINUTE_MS firings
        started = time.monotonic()
        type(self).server = Server(data_dir=old.data_dir, log_path=old.log_path,
                                   extra_args=self.server_args).start()
        old.owns(data_dir=False, log=False)
        self.server.owns(data_dir=True, log=True)
        old.cleanup()

        # Still there, with its last firing, and firing again.
        status, s = self.get_json("/lambdad/schedules/" + name)
        self.assertEqual(status, 200)
        self.assertRegex(s["LastFired"], ISO_Z)
        self.assertRegex(s["NextFire"], ISO_Z)
        before = len(read_events(path))
        self.assertTrue(wait_for(lambda: self.status()["scheduledFirings"] >= 2))
        fired = self.status()["scheduledFirings"]
        elapsed = time.monotonic() - started
        # At most one firing per schedule-clock minute since the restart (plus the grid's
        # alignment); a replay would add every missed one at once.
        bound = int(elapsed * 1000 / MINUTE_MS) + 2
        missed = self.DOWN_S * 1000 // MINUTE_MS
        self.assertLessEqual(fired, bound, "%d firings in %.1f s after restart" % (fired, elapsed))
        print("\nschedule restart: %d firings in the first %.2f s after a %d s stop (%d missed, "
              "not replayed)" % (fired, elapsed, self.DOWN_S, missed))
        self.assertTrue(wait_for(lambda: len(read_events(path)) > before))
        self.cli_ok("rm", name)


class ScheduleAuthTest(ScheduleTestCase):
    """With an access key, the schedule and async APIs want SigV4 like every other call."""

    @classmethod
    def setUpClass(cls):
        data_dir = tempfile.mkdtemp(prefix="lambdad-e2e-sched-auth-")
        p = subprocess.run([lambdad_binary(), "keys", "add", "--name", "sched", "--data-dir",
                            data_dir], capture_output=True, text=True, timeout=20,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr
        fields = dict(line.split(":", 1) for line in p.stdout.strip().splitlines())
        cls.akid = fields["AccessKeyId"].strip()
        cls.secret = fields["SecretAccessKey"].strip()
        cls.server = Server(data_dir=data_dir, extra_args=SERVER_ARGS).start()
        cls.server.owns(data_dir=True)
        cls._failed = False
        cls.tmpdir = tempfile.mkdtemp(prefix="lambdad-e2e-tmp-")
        cls.lam = None

    def signed_env(self, secret=None):
        env = aws_env()
        env["AWS_ACCESS_KEY_ID"] = self.akid
        env["AWS_SECRET_ACCESS_KEY"] = secret or self.secret
        return env

    def test_unsigned_and_badly_signed_requests_are_refused(self):
        for path in ("/lambdad/schedules", "/lambdad/schedules/x", "/lambdad/async",
                     "/2019-09-25/functions/f/event-invoke-config"):
            status, headers, _ = self.raw("GET", path)
            self.assertEqual(status, 403, path)
        status, _, _ = self.raw("POST", "/lambdad/schedules", body=b"{}",
                                headers={"Content-Type": "application/json"})
        self.assertEqual(status, 403)
        p = self.cli("ls", env=self.signed_env(secret="wrong" * 8))
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 403", p.stderr)

    def test_signed_cli_works(self):
        p = self.cli("ls", env=self.signed_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("NAME"))
        p = self.cli("add", "s1", "--function", "missing", "--expression", "rate(1 hour)",
                     env=self.signed_env())
        self.assertEqual(p.returncode, 1)
        self.assertIn("404 ResourceNotFoundException", p.stderr)  # authorized, then checked


if __name__ == "__main__":
    main()
