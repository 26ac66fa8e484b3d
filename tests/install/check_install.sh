#!/usr/bin/env bash
# check_install.sh BUILD_DIR SOURCE_DIR: installs the build into a scratch
# prefix, then builds a consumer with find_package(iovakit), one with
# pkg-config, and the C example (examples/c-allocator) with its Makefile and
# pkg-config, and runs all three.
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/iovakit/iova/range_set.h"

cmake -S "$src/tests/install/consumer" -B "$work/cmake-consumer" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_FLAGS="${CONSUMER_CXXFLAGS:-}" >/dev/null
cmake --build "$work/cmake-consumer" >/dev/null
"$work/cmake-consumer/consumer"

pc_dir=$(dirname "$(find "$work/prefix" -name iovakit.pc)")
flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs --static iovakit)
# shellcheck disable=SC2086
c++ -std=c++20 ${CONSUMER_CXXFLAGS:-} "$src/tests/install/consumer/main.cpp" $flags -o "$work/pc-consumer"
"$work/pc-consumer"

# The C example (examples/c-allocator): a C11 program built with its own
# Makefile against the installed library through pkg-config --static.
test -f "$work/prefix/include/iovakit/c/allocator.h"
mkdir -p "$work/c-example"
make -s -C "$work/c-example" -f "$src/examples/c-allocator/Makefile" PKG_CONFIG_PATH="$pc_dir" \
  CFLAGS="-O1 ${CONSUMER_CXXFLAGS:-}" LDFLAGS="${CONSUMER_CXXFLAGS:-}" >/dev/null
"$work/c-example/c-allocator" | grep -q "reused"
