#!/bin/sh
# Installs lambdad into a temporary prefix and builds a project that uses find_package(lambdad)
# and lambdad_add_function(): the zip it makes must hold an executable `bootstrap`.
set -eu
BUILD=$1
SRC=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cmake --install "$BUILD" --prefix "$TMP/prefix" >/dev/null
test -x "$TMP/prefix/bin/lambdad"
test -f "$TMP/prefix/include/lambdad/runtime.h"
cmake -S "$SRC/project" -B "$TMP/build" -G Ninja -DCMAKE_PREFIX_PATH="$TMP/prefix" >/dev/null
cmake --build "$TMP/build" >/dev/null
unzip -Z "$TMP/build/hello.zip" | grep -E '^-rwx.* bootstrap$'
echo "find_package(lambdad) project built: $(stat -c %s "$TMP/build/hello.zip") byte zip"
