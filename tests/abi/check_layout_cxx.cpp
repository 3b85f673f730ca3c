// check_layout_cxx.cpp: sizes of the libfcgi++ classes (g++ / libstdc++ on
// x86-64, from shared/reference/abi.md).  Programs embed these objects, so
// their size is ABI.  Checked at compile time.
#include <cstdio>

#include "fcgio.h"

#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(fcgi_streambuf) == 88, "sizeof(fcgi_streambuf)");
static_assert(sizeof(fcgi_istream) == 368, "sizeof(fcgi_istream)");
static_assert(sizeof(fcgi_ostream) == 360, "sizeof(fcgi_ostream)");
#define CHECKED 1
#endif

int
main()
{
#ifdef CHECKED
    std::puts("layout: fcgio class sizes match");
#else
    std::puts("layout: not x86-64 with libstdc++, sizes not checked");
#endif
    return 0;
}
