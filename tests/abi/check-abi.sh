#!/bin/sh
# check-abi.sh: libfcgi.so.0 and libfcgi++.so.0 present the reference's
# binary interface.
#
#  - the dynamic symbols they define are exactly those of the reference
#    (tests/abi/*.symbols, from `nm -D --defined-only` of Debian's 2.4.2),
#    with the same nm types (B and D count as the same: zeroed or not);
#  - _fcgi_sF is 48 bytes, three FCGI_FILEs;
#  - SONAMEs are libfcgi.so.0 and libfcgi++.so.0;
#  - libfcgi.so.0 needs libc.so.6 and nothing else, and every symbol it
#    imports is a versioned glibc one (no libstdc++, libgcc_s or C++ ABI);
#  - a C program links statically against libfcgi.a (when it was built).
#
# Run by `make check` from the top build directory.  ABI_LIBFCGI and
# ABI_LIBFCGIXX name other libraries to examine (e.g. the reference's, to
# check this script itself).

set -u

if [ -f ./tests/support/env.sh ]; then
    . ./tests/support/env.sh
fi
: "${top_srcdir:=${srcdir:-.}}"
: "${top_builddir:=.}"
: "${CC:=cc}"

lib=${ABI_LIBFCGI:-$top_builddir/libfcgi/.libs/libfcgi.so.0}
libxx=${ABI_LIBFCGIXX:-$top_builddir/libfcgi/.libs/libfcgi++.so.0}
symdir=$top_srcdir/tests/abi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fcgi-abi.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

for tool in nm readelf; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "check-abi.sh: $tool not found (binutils)" >&2
        exit 99
    fi
done

# "TYPE NAME" per line, sorted; version suffixes dropped, B folded into D.
defined_symbols() {
    nm -D --defined-only "$1" |
        awk 'NF >= 3 && $2 != "A" {
                 name = $3; sub(/@.*/, "", name)
                 type = $2; if (type == "B") type = "D"
                 print type, name
             }' |
        LC_ALL=C sort -u
}

expected_symbols() {
    awk '{ type = $1; if (type == "B") type = "D"; print type, $2 }' "$1" |
        LC_ALL=C sort -u
}

check_exports() {
    so=$1
    list=$2
    base=$(basename "$list" .symbols)

    if [ ! -e "$so" ]; then
        fail "$so is missing (not built?)"
        return
    fi
    defined_symbols "$so" >"$tmp/$base.actual"
    expected_symbols "$list" >"$tmp/$base.expected"

    # Names first, so a missing symbol is not reported as a type change.
    cut -d' ' -f2 "$tmp/$base.actual" | LC_ALL=C sort -u >"$tmp/$base.an"
    cut -d' ' -f2 "$tmp/$base.expected" | LC_ALL=C sort -u >"$tmp/$base.en"
    missing=$(LC_ALL=C comm -13 "$tmp/$base.an" "$tmp/$base.en")
    extra=$(LC_ALL=C comm -23 "$tmp/$base.an" "$tmp/$base.en")
    if [ -n "$missing" ]; then
        fail "$base: symbols the reference exports and we do not:"
        echo "$missing" | sed 's/^/    /' >&2
    fi
    if [ -n "$extra" ]; then
        fail "$base: symbols we export and the reference does not:"
        echo "$extra" | sed 's/^/    /' >&2
    fi
    if [ -z "$missing" ] && [ -z "$extra" ]; then
        types=$(LC_ALL=C comm -3 "$tmp/$base.actual" "$tmp/$base.expected")
        if [ -n "$types" ]; then
            fail "$base: symbol types differ (left: ours, right: reference):"
            echo "$types" | sed 's/^/    /' >&2
        fi
    fi
}

check_exports "$lib" "$symdir/libfcgi.so.0.symbols"
check_exports "$libxx" "$symdir/libfcgi++.so.0.symbols"

if [ -e "$lib" ]; then
    size=$(nm -D -S --defined-only "$lib" | awk '$4 == "_fcgi_sF" { print $2 }')
    if [ -z "$size" ] || [ $((0x$size)) -ne 48 ]; then
        fail "_fcgi_sF is ${size:-absent} (hex) bytes, the reference's is 48"
    fi

    soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    [ "$soname" = libfcgi.so.0 ] || fail "libfcgi SONAME is '$soname'"

    needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p' | tr '\n' ' ')
    [ "$needed" = "libc.so.6 " ] ||
        fail "libfcgi.so.0 NEEDED is '$needed', must be exactly libc.so.6"

    # Imports: versioned glibc symbols only; the usual weak, unversioned
    # hooks of crt files are allowed.
    nm -D --undefined-only "$lib" >"$tmp/undefined"
    bad=$(awk '{
              name = $NF
              if (name ~ /@GLIBC_[0-9.]+$/) next
              if ($1 == "w" && name ~ /^(__gmon_start__|_ITM_(de)?registerTMCloneTable)$/) next
              print "    " $0
          }' "$tmp/undefined")
    if [ -n "$bad" ]; then
        fail "libfcgi.so.0 imports symbols that are not versioned GLIBC_*:"
        echo "$bad" >&2
    fi
fi

if [ -e "$libxx" ]; then
    soname=$(readelf -d "$libxx" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    [ "$soname" = "libfcgi++.so.0" ] || fail "libfcgi++ SONAME is '$soname'"
    readelf -d "$libxx" | grep -q '(NEEDED).*\[libfcgi\.so\.0\]' ||
        fail "libfcgi++.so.0 does not record NEEDED libfcgi.so.0"
fi

# A static program: the core must not drag in the C++ runtime.
archive=${ABI_LIBFCGI_A:-$top_builddir/libfcgi/.libs/libfcgi.a}
if [ -f "$archive" ]; then
    cat >"$tmp/static.c" <<'EOF'
#include <stdio.h>
#include "fcgiapp.h"

int
main(int argc, char **argv)
{
    FCGX_Request req;

    if (argc > 1) {
        int fd = FCGX_OpenSocket(argv[1], 5);

        if (FCGX_Init() != 0 || FCGX_InitRequest(&req, fd, 0) != 0)
            return 2;
        while (FCGX_Accept_r(&req) >= 0) {
            FCGX_FPrintF(req.out, "%s\n", FCGX_GetParam("QUERY_STRING", req.envp));
            FCGX_Finish_r(&req);
        }
        return 0;
    }
    printf("cgi=%d\n", FCGX_IsCGI());
    return 0;
}
EOF
    if ! $CC -static -I"$top_srcdir/include" -o "$tmp/static" "$tmp/static.c" \
            "$archive" -lpthread >"$tmp/static.log" 2>&1; then
        fail "cc -static with libfcgi.a does not link:"
        sed 's/^/    /' "$tmp/static.log" >&2
    elif [ "$("$tmp/static" </dev/null)" != "cgi=1" ]; then
        fail "the static program does not run as expected"
    fi
else
    echo "check-abi.sh: $archive not built (configure --enable-static), static link not checked"
fi

if [ "$failures" -ne 0 ]; then
    echo "check-abi.sh: $failures failure(s)" >&2
    exit 1
fi
echo "check-abi.sh: ok"
exit 0
