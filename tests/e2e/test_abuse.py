"""The front server under abuse (loopback, bounded): many idle connections, a huge header and a
slowloris-style partial header must not stop other clients from being answered; a client that
trickles its header is cut off after --header-timeout."""

import select
import socket
import time

from harness import ServerTestCase, probe_zip

IDLE_CONNECTIONS = 500


class AbuseTest(ServerTestCase):
    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        self.addCleanup(s.close)
        return s

    def assert_serving(self):
        """A normal control request and a normal invoke still get answered."""
        self.assertIn("Functions", self.lam.list_functions())
        status, _, _ = self.raw("GET", "/2015-03-31/functions/")
        self.assertEqual(status, 200)

    def test_idle_connections_do_not_starve_clients(self):
        name = self.unique_name("abuse")
        self.create_function(name, probe_zip())
        idle = [self.connect() for _ in range(IDLE_CONNECTIONS)]
        self.assert_serving()
        resp, body = self.invoke(name, {"action": "echo"})
        self.assertEqual(resp["StatusCode"], 200)
        # The idle ones are still open (the server did not drop them to cope).
        idle[0].sendall(b"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(idle[0].recv(12).startswith(b"HTTP/1.1 200"))

    def test_huge_header_is_refused_and_server_lives(self):
        s = self.connect()
        big = b"x" * (100 * 1024)
        request = b"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\nX-Big: " + big + b"\r\n\r\n"
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        status_line = reply.split(b"\r\n", 1)[0]
        self.assertIn(status_line[:12], (b"HTTP/1.1 431", b"HTTP/1.1 400"), reply[:200])
        self.assert_serving()

    def test_partial_headers_do_not_block_others(self):
        slow = [self.connect() for _ in range(20)]
        for s in slow:
            s.sendall(b"POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: x\r\nX-A: ")
        self.assert_serving()
        # Finishing one slow request late still works.
        slow[0].sendall(b"b\r\nContent-Length: 0\r\n\r\n")
        self.assertTrue(slow[0].recv(12).startswith(b"HTTP/1.1 404"))


class SlowHeaderTest(ServerTestCase):
    """--header-timeout: a header must be complete that long after its first byte."""

    HEADER_TIMEOUT_S = 2
    server_args = ["--header-timeout", str(HEADER_TIMEOUT_S)]

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        self.addCleanup(s.close)
        return s

    def test_slowloris_is_cut_off_and_others_are_served(self):
        idle = self.connect()  # opened before, sends nothing: not a slow header
        slow = self.connect()
        slow.sendall(b"GET /2015-03-31/functions/ HTTP/1.1\r\n")
        # One more header byte every half second, for at most 60 rounds (30 s): the server
        # must hang up long before (it allows HEADER_TIMEOUT_S from the first byte).
        rounds = 0
        closed = False
        while rounds < 60 and not closed:
            readable, _, _ = select.select([slow], [], [], 0.5)
            if readable:
                try:
                    closed = slow.recv(4096) == b""
                except ConnectionResetError:
                    closed = True
                if closed:
                    break
            try:
                slow.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            rounds += 1
        self.assertTrue(closed, "a header trickled for %d rounds was never cut off" % rounds)
        # Every other client is answered, including the idle connection opened first.
        self.assertIn("Functions", self.lam.list_functions())
        idle.sendall(b"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(idle.recv(12).startswith(b"HTTP/1.1 200"))

    def test_keep_alive_connection_idle_past_the_header_timeout_still_works(self):
        s = self.connect()
        req = b"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: x\r\n\r\n"
        s.sendall(req)
        self.assertTrue(s.recv(12).startswith(b"HTTP/1.1 200"))
        s.settimeout(0.2)
        try:  # drain the rest of the first reply
            while s.recv(65536):
                pass
        except socket.timeout:
            pass
        s.settimeout(10)
        time.sleep(self.HEADER_TIMEOUT_S + 1)  # idle between requests: no header in flight
        s.sendall(req)
        self.assertTrue(s.recv(12).startswith(b"HTTP/1.1 200"))


if __name__ == "__main__":
    import unittest

    unittest.main()
