#!/bin/sh
# Lints the manual pages and checks that the exported C API is documented.
#  1. mandoc -Tlint -Wwarning (or, without mandoc, groff -ww -mdoc -z)
#     must print nothing for any page under $srcdir/man.
#  2. Every FCGX_, FCGI_ and OS_ function in tests/abi/libfcgi.so.0.symbols
#     must be named by an .Nm line of some page.
#  3. Every name a page documents besides its own must be installed as a
#     link (listed in man/local.mk), and every cross-reference (.Xr) to a
#     name of this package must lead to a page or such a link.
# Exits 0 when all checks pass, 1 otherwise, 77 (skip) when neither mandoc
# nor groff is installed.

srcdir=${srcdir:-$(dirname "$0")/..}
mandir=$srcdir/man
symbols=$srcdir/tests/abi/libfcgi.so.0.symbols
status=0

fail()
{
	printf 'man-lint: FAIL: %s\n' "$*" >&2
	status=1
}

pages=$(ls "$mandir"/*.[1-9] 2>/dev/null)
if [ -z "$pages" ]; then
	fail "no manual pages in $mandir"
	exit 1
fi
if [ ! -r "$symbols" ]; then
	fail "cannot read $symbols"
	exit 1
fi

if command -v mandoc >/dev/null 2>&1; then
	linter="mandoc -Tlint -Wwarning"
elif command -v groff >/dev/null 2>&1; then
	linter="groff -ww -mdoc -z"
else
	echo "man-lint: SKIP: neither mandoc nor groff is installed" >&2
	exit 77
fi

# 1. Formatter diagnostics.
for page in $pages; do
	out=$($linter "$page" 2>&1)
	if [ -n "$out" ]; then
		fail "'$linter $page' reported:"
		printf '%s\n' "$out" >&2
	fi
done

# Names each page documents: "page-file name" per line.
nm_names()
{
	for page in $pages; do
		sed -n 's/^\.Nm[[:space:]]\{1,\}\([A-Za-z_][A-Za-z0-9_-]*\).*/\1/p' \
		    "$page" | sort -u | sed "s|^|${page##*/} |"
	done
}
named=$(nm_names)

# 2. Every exported function is named on some page.
functions=$(awk '$1 == "T" && $2 ~ /^(FCGX_|FCGI_|OS_)/ { print $2 }' \
    "$symbols")
if [ -z "$functions" ]; then
	fail "no FCGX_, FCGI_ or OS_ functions listed in $symbols"
fi
for fn in $functions; do
	if ! printf '%s\n' "$named" | grep -q " $fn\$"; then
		fail "$fn is exported, but no page under $mandir names it in .Nm"
	fi
done

# 3. Extra names are installed as links; cross-references resolve.
links=$(sed -n '/^man_links[[:space:]]*=/,/[^\\]$/p' "$mandir/local.mk" 2>/dev/null | tr -d '\\')
problems=$(printf '%s\n' "$named" | while read -r file name; do
	[ "${file%.*}" = "$name" ] && continue
	case " $(echo $links) " in
	*" $file $name.${file##*.} "*) ;;
	*) echo "$name, documented in $file, is not in man_links of man/local.mk" ;;
	esac
done)
xrefs=$(sed -n 's/^\.Xr[[:space:]]\{1,\}\([^[:space:]]\{1,\}\)[[:space:]]\{1,\}\([1-9]\).*/\1.\2/p' \
    $pages | sort -u)
problems="$problems
$(for ref in $xrefs; do
	case $ref in
	FCGX_*|FCGI_*|OS_*|fcgi*|libfcgi*)
		[ -f "$mandir/$ref" ] && continue
		printf '%s\n' "$named" | grep -q "\.${ref##*.} ${ref%.*}\$" &&
		    continue
		echo "a page refers to $ref, which is neither a page nor a link"
		;;
	esac
done)"
nl='
'
oldifs=$IFS
IFS=$nl
for msg in $problems; do
	fail "$msg"
done
IFS=$oldifs

if [ "$status" -eq 0 ]; then
	echo "man-lint: $(echo $pages | wc -w) pages lint-clean;" \
	    "$(echo $functions | wc -w) exported functions documented"
fi
exit $status
