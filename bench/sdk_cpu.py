#!/usr/bin/python3
"""bench/sdk_cpu.py BOOTSTRAP [N]: the C++ SDK's own CPU per invoke.

Runs BOOTSTRAP (e.g. build/examples/echo/bootstrap) against a minimal keep-alive fake Runtime
API in this process for N invocations (default 20,000), then prints the bootstrap's CPU time
(rusage user + system, so its half of the loopback TCP work included) divided by N. The fake
answers requests in order, so a runtime that pipelines POST /response and GET /next works too.
"""
import os
import socket
import subprocess
import sys
import time

EVENT = b'{"hello":"world"}'
ACCEPTED = (b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
            b"Content-Length: 15\r\n\r\n{\"status\":\"OK\"}")


def main():
    bootstrap = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    port = lsock.getsockname()[1]
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % port)
    t0 = time.monotonic()
    proc = subprocess.Popen([bootstrap], env=env)
    conn, _ = lsock.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    served = posts = 0
    while True:
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                raise SystemExit("bootstrap closed the connection")
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(buf) < length:
            buf += conn.recv(65536)
        buf = buf[length:]
        if head.startswith(b"GET"):
            if served == n:
                break
            served += 1
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Lambda-Runtime-Aws-Request-Id: req-%d\r\n"
                b"Lambda-Runtime-Deadline-Ms: 9999999999999\r\n"
                b"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:echo\r\n"
                b"Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (served, len(EVENT), EVENT)
            )
        else:
            posts += 1
            conn.sendall(ACCEPTED)
    conn.close()
    lsock.close()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    print("invocations %d (posts %d), wall %.2f s, bootstrap user %.1f us + sys %.1f us = %.1f us "
          "per invoke"
          % (served, posts, wall, ru.ru_utime * 1e6 / n, ru.ru_stime * 1e6 / n,
             (ru.ru_utime + ru.ru_stime) * 1e6 / n))


if __name__ == "__main__":
    main()
