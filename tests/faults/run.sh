#!/bin/sh
# Runs one fault-test program, bounded in time: run.sh PROGRAM [ARGS...]
# (PROGRAM relative to the build's tests/faults/).  The .sh tests call it.
: "${top_builddir:?run from make check}"
prog=$1
shift
exec timeout 280 "$top_builddir/tests/faults/$prog" "$@"
