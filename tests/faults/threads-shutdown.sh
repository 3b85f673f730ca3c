#!/bin/sh
# See tests/faults/local.mk and threads.c.
exec /bin/sh "${top_srcdir:?run from make check}/tests/faults/run.sh" threads --shutdown-race
