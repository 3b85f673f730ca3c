#!/bin/sh
# Runs each fuzz target, built as a plain program, over its seed corpus:
# every seed must pass the target's checks.  A missing or empty corpus
# fails too.
: "${top_builddir:?run from make check}" "${top_srcdir:?run from make check}"
status=0
for t in record nvpair server_conn printf; do
    if ! timeout 300 "$top_builddir/fuzz/replay_$t" "$top_srcdir/fuzz/corpus/$t"; then
        echo "FAIL: fuzz/replay_$t over fuzz/corpus/$t" >&2
        status=1
    fi
done
exit $status
