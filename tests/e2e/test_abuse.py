"""The front server under abuse (loopback, bounded): many idle connections, a huge header and a
slowloris-style partial header must not stop other clients from being answered."""

import socket

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


if __name__ == "__main__":
    import unittest

    unittest.main()
