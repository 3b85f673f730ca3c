#!/bin/sh
# See tests/faults/local.mk.
exec /bin/sh "${top_srcdir:?run from make check}/tests/faults/run.sh" threads
