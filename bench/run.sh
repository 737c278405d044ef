#!/bin/sh
# bench/run.sh [BUILD_DIR]: starts lambdad on a free port with a temporary data dir, deploys the
# C++ echo example, and runs bench/invoke_load against it with its same-run floors (loopback HTTP
# round trip, fork+exec+wait of a static binary). Prints a table; figures go to docs/BENCHMARKS.md.
set -eu
BUILD=${1:-build}
SECONDS_PER=${BENCH_SECONDS:-3}
# 1,769 MB = one full vCPU under isolation (CPU quota follows memory, as on Lambda).
MEMORY=${BENCH_MEMORY:-1769}
SERVE_ARGS=${BENCH_SERVE_ARGS:-}
DATA=$(mktemp -d)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086
"$BUILD/lambdad" serve --listen 127.0.0.1:$PORT --data-dir "$DATA" $SERVE_ARGS 2>"$DATA/server.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/2015-03-31/functions" && break; sleep 0.1; done
sleep 0.5
echo "idle server RSS: $(grep VmRSS /proc/$PID/status | awk '{print $2}') kB"
ZIP64=$(base64 -w0 "$BUILD/examples/echo/echo.zip")
echo "$(head -c 300 "$DATA/server.log" | grep -i isolation || true)"
printf '{"FunctionName":"echo","Runtime":"provided.al2023","Handler":"bootstrap","MemorySize":%s,"Role":"arn:aws:iam::000000000000:role/b","Code":{"ZipFile":"%s"}}' "$MEMORY" "$ZIP64" |
  curl -s -o /dev/null -w 'create echo: %{http_code}\n' -X POST -H 'Content-Type: application/json' --data-binary @- "http://127.0.0.1:$PORT/2015-03-31/functions"
"$BUILD/bench/invoke_load" --port "$PORT" --function echo --seconds "$SECONDS_PER" \
  --concurrency 1,4,16 --server-pid "$PID" --memory "$MEMORY" \
  --spawn-binary "$BUILD/bench/bench_noop" --cold 30 --cold-zip "$BUILD/examples/echo/echo.zip"
echo "server RSS after load: $(grep VmRSS /proc/$PID/status | awk '{print $2}') kB"
