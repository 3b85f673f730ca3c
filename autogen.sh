#!/bin/sh
# Regenerate configure and Makefile.in (needs autoconf, automake, libtool,
# autoconf-archive and pkg-config).
exec autoreconf -fi "$(dirname "$0")"
