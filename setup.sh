#!/usr/bin/env bash
# setup.sh: install what lambdad needs to build and run its tests on Debian 12, then the
# Node function used by the e2e tests (tests/e2e/node_fn), the ETL test's servers
# (tests/e2e/etl_servers) and the web console's packages (console/: uPlot, playwright-core). Idempotent: installs only what is
# missing and skips the ~9 minute native build of aws-lambda-ric when nothing changed.
#
# Runs as root without prompts (CI does). Uses apt-get and npm only; never pip.
# Environment:
#   LAMBDAD_SKIP_NODE=1        skip the Node function (tests that need it then fail loudly)
#   LAMBDAD_CACHE_DIR=DIR      where a built node_modules is kept between clones
#                              (default: $XDG_CACHE_HOME or ~/.cache, then /lambdad)
set -euo pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)
export DEBIAN_FRONTEND=noninteractive
# Invoked from make: do not hand make's jobserver flags to the builds npm runs.
unset MAKEFLAGS MFLAGS MAKELEVEL || true

say() { printf '[setup] %s\n' "$*"; }
die() {
  printf '[setup] ERROR: %s\n' "$*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
  else
    die "need root to run: $*"
  fi
}

# Runs "$@" up to 3 times, 5 s apart.
retry3() {
  local attempt
  for attempt in 1 2 3; do
    if "$@"; then
      return 0
    fi
    say "attempt $attempt of 3 failed: $*"
    [ "$attempt" -lt 3 ] && sleep 5
  done
  return 1
}

# --- 1. Debian packages -------------------------------------------------------------------
# Build and test tools, libraries, the AWS CLI and boto3 for the e2e tests, and what
# aws-lambda-ric's preinstall (curl's autoreconf + configure, aws-lambda-cpp's cmake) and
# node-gyp need: autoconf automake libtool m4 make cmake g++ python3.
PACKAGES=(
  g++ cmake ninja-build make pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libarchive-dev libssl-dev libgtest-dev libgmock-dev libseccomp-dev
  awscli python3 python3-boto3 zip unzip curl
  autoconf automake libtool m4 ccache
  chromium
)
# Keep a working Node.js and npm (the machine's Node 20 with its npm); install Debian's
# only when missing.
if ! node --version >/dev/null 2>&1; then
  PACKAGES+=(nodejs libnode-dev)
fi
if ! npm --version >/dev/null 2>&1; then
  PACKAGES+=(npm)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  say "Debian packages: all ${#PACKAGES[@]} present"
else
  say "Debian packages missing: ${missing[*]}"
  say "running apt-get update"
  retry3 as_root apt-get update -q || die "apt-get update failed 3 times"
  say "installing: ${missing[*]}"
  retry3 as_root apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed 3 times: ${missing[*]}"
fi

/usr/bin/python3 -c 'import boto3' 2>/dev/null || die "/usr/bin/python3 cannot import boto3"
[ -x /usr/bin/aws ] || die "/usr/bin/aws missing (package awscli)"
node_version=$(node --version) || die "node does not run"
npm_version=$(npm --version) || die "npm does not run"
say "node $node_version, npm $npm_version, $(/usr/bin/aws --version 2>&1 | cut -d' ' -f1)"

# --- 1b. The web console's npm packages (console/) ------------------------------------------
# uPlot, which the build embeds into lambdad (src/api/CMakeLists.txt; without it the console
# has no charts), and playwright-core, which drives Debian's chromium in
# tests/e2e/test_console.py. Both pure JavaScript (playwright-core downloads no browser);
# seconds. Cached in ~/.cache/lambdad by lock hash like the packages below.
CONSOLE_DIR="$ROOT/console"
console_stamp="$CONSOLE_DIR/node_modules/.lambdad-stamp"
console_key="$(sha256sum "$CONSOLE_DIR/package-lock.json" | cut -d' ' -f1) node=$node_version"
console_cache="${LAMBDAD_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/lambdad}/console-$(
  printf '%s' "$console_key" | sha256sum | cut -c1-16)"
console_ok() {
  [ -f "$console_stamp" ] && [ "$(cat "$console_stamp")" = "$console_key" ] \
    && [ -f "$CONSOLE_DIR/node_modules/uplot/dist/uPlot.iife.min.js" ] \
    && (cd "$CONSOLE_DIR" && node -e "require('playwright-core')") >/dev/null 2>&1
}
if console_ok; then
  say "console: uplot and playwright-core present (stamp matches)"
else
  if [ -f "$console_cache/node_modules/.lambdad-stamp" ]; then
    rm -rf "$CONSOLE_DIR/node_modules"
    cp -a "$console_cache/node_modules" "$CONSOLE_DIR/node_modules"
  fi
  if console_ok; then
    say "console: restored from cache $console_cache"
  else
    say "console: npm ci (uplot, playwright-core)"
    console_log=$(mktemp "${TMPDIR:-/tmp}/lambdad-console-npm-ci.XXXXXX.log")
    retry3 sh -c "cd '$CONSOLE_DIR' && npm ci --no-audit --no-fund >'$console_log' 2>&1" \
      || die "npm ci failed 3 times in $CONSOLE_DIR (see $console_log)"
    printf '%s' "$console_key" >"$console_stamp"
    console_ok || die "uplot/playwright-core missing after npm ci (see $console_log)"
    rm -f "$console_log"
    if mkdir -p "$(dirname "$console_cache")" 2>/dev/null; then
      rm -rf "$console_cache.tmp.$$"
      if mkdir -p "$console_cache.tmp.$$" \
        && cp -a "$CONSOLE_DIR/node_modules" "$console_cache.tmp.$$/node_modules"; then
        rm -rf "$console_cache" && mv "$console_cache.tmp.$$" "$console_cache"
      else
        rm -rf "$console_cache.tmp.$$"
      fi
    fi
    say "console: installed"
  fi
fi

# --- 2. The Node function for the e2e tests ----------------------------------------------
if [ "${LAMBDAD_SKIP_NODE:-0}" = 1 ]; then
  say "LAMBDAD_SKIP_NODE=1: not installing tests/e2e/node_fn"
  exit 0
fi

# --- 2a. S3/DynamoDB-compatible servers for the ETL test (s3rver, dynalite) ---------------
# Pure JavaScript apart from dynalite's classic-level, whose npm tarball ships the linux-x64
# prebuilt addon (no download at install time). About 30 s; cached like node_fn below.
ETL_SERVERS="$ROOT/tests/e2e/etl_servers"
etl_stamp="$ETL_SERVERS/node_modules/.lambdad-stamp"
etl_key="$(sha256sum "$ETL_SERVERS/package-lock.json" | cut -d' ' -f1) node=$node_version $(uname -m)"
etl_cache="${LAMBDAD_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/lambdad}/etl_servers-$(
  printf '%s' "$etl_key" | sha256sum | cut -c1-16)"
etl_ok() {
  [ -f "$etl_stamp" ] && [ "$(cat "$etl_stamp")" = "$etl_key" ] \
    && (cd "$ETL_SERVERS" && node -e "require('dynalite'); require('s3rver')") >/dev/null 2>&1
}
if etl_ok; then
  say "etl_servers: s3rver and dynalite present (stamp matches)"
else
  if [ -f "$etl_cache/node_modules/.lambdad-stamp" ]; then
    rm -rf "$ETL_SERVERS/node_modules"
    cp -a "$etl_cache/node_modules" "$ETL_SERVERS/node_modules"
  fi
  if etl_ok; then
    say "etl_servers: restored from cache $etl_cache"
  else
    say "etl_servers: npm ci (s3rver, dynalite)"
    etl_log=$(mktemp "${TMPDIR:-/tmp}/lambdad-etl-npm-ci.XXXXXX.log")
    if [ -f /usr/include/node/common.gypi ]; then export npm_config_nodedir=/usr; fi
    retry3 sh -c "cd '$ETL_SERVERS' && npm ci --no-audit --no-fund >'$etl_log' 2>&1" \
      || die "npm ci failed 3 times in $ETL_SERVERS (see $etl_log)"
    printf '%s' "$etl_key" >"$etl_stamp"
    etl_ok || die "s3rver/dynalite do not load after npm ci (see $etl_log)"
    rm -f "$etl_log"
    if mkdir -p "$(dirname "$etl_cache")" 2>/dev/null; then
      rm -rf "$etl_cache.tmp.$$"
      if mkdir -p "$etl_cache.tmp.$$" \
        && cp -a "$ETL_SERVERS/node_modules" "$etl_cache.tmp.$$/node_modules"; then
        rm -rf "$etl_cache" && mv "$etl_cache.tmp.$$" "$etl_cache"
      else
        rm -rf "$etl_cache.tmp.$$"
      fi
    fi
    say "etl_servers: installed"
  fi
fi

NODE_FN="$ROOT/tests/e2e/node_fn"
RIC_ADDON="$NODE_FN/node_modules/aws-lambda-ric/dist/rapid-client.node"
STAMP="$NODE_FN/node_modules/.lambdad-stamp"
# The build depends on the lock, the Node ABI and the machine.
key="$(sha256sum "$NODE_FN/package-lock.json" | cut -d' ' -f1) node=$node_version $(uname -m)"
cache_root="${LAMBDAD_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/lambdad}"
cache_dir="$cache_root/node_fn-$(printf '%s' "$key" | sha256sum | cut -c1-16)"

# The addon reads AWS_LAMBDA_RUNTIME_API when it loads (and aborts without it); loading it
# proves it was built for this Node.
ric_ok() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$key" ] && [ -f "$RIC_ADDON" ] \
    && (cd "$NODE_FN" && AWS_LAMBDA_RUNTIME_API=127.0.0.1:9 node -e "require('$RIC_ADDON')") \
      >/dev/null 2>&1
}

if ric_ok; then
  say "node_fn: aws-lambda-ric already built for this package-lock (stamp matches), skipping npm ci"
  exit 0
fi

if [ -f "$cache_dir/node_modules/.lambdad-stamp" ]; then
  say "node_fn: restoring node_modules from cache $cache_dir"
  rm -rf "$NODE_FN/node_modules"
  cp -a "$cache_dir/node_modules" "$NODE_FN/node_modules"
  if ric_ok; then
    say "node_fn: restored from cache"
    exit 0
  fi
  say "node_fn: cached copy unusable, rebuilding"
  rm -rf "$cache_dir"
fi

# The native addon's headers come from the installed Node, not from a download.
if [ -f /usr/include/node/common.gypi ]; then
  export npm_config_nodedir=/usr
fi
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# aws-lambda-ric builds curl and aws-lambda-cpp with plain make; use both cores.
export MAKEFLAGS=-j2 JOBS=2

say "node_fn: npm ci (aws-lambda-ric compiles curl and aws-lambda-cpp: about 5-10 minutes)"
npm_log=$(mktemp "${TMPDIR:-/tmp}/lambdad-npm-ci.XXXXXX.log")
attempt=1
while :; do
  say "node_fn: npm ci attempt $attempt of 3 (log: $npm_log)"
  if (cd "$NODE_FN" && npm ci --no-audit --no-fund --foreground-scripts) >"$npm_log" 2>&1; then
    break
  fi
  say "node_fn: npm ci failed; last lines of its log:"
  tail -n 30 "$npm_log" | sed 's/^/[setup]   /' >&2
  attempt=$((attempt + 1))
  [ "$attempt" -le 3 ] || die "npm ci failed 3 times in $NODE_FN (see $npm_log)"
  sleep 5
done

[ -f "$RIC_ADDON" ] || die "npm ci succeeded but $RIC_ADDON is missing (see $npm_log)"
printf '%s' "$key" >"$STAMP"
ric_ok || die "aws-lambda-ric's native addon does not load (see $npm_log)"
rm -f "$npm_log"
say "node_fn: aws-lambda-ric built"

# Keep a copy for the next clean clone on this machine (CI clones afresh every run).
if mkdir -p "$cache_root" 2>/dev/null; then
  tmp="$cache_dir.tmp.$$"
  rm -rf "$tmp"
  if mkdir -p "$tmp" && cp -a "$NODE_FN/node_modules" "$tmp/node_modules"; then
    rm -rf "$cache_dir"
    mv "$tmp" "$cache_dir" && say "node_fn: cached in $cache_dir"
  else
    rm -rf "$tmp"
    say "node_fn: could not write cache $cache_dir (continuing)"
  fi
fi
