/*
 * fcgi_config.h: the configuration facts that the public headers test.
 * A fixed file: it deliberately defines no PACKAGE_* or other
 * autoconf macros, so including it never clashes with a program's own
 * config.h.
 */
#ifndef FCGI_CONFIG_H
#define FCGI_CONFIG_H

/* <sys/time.h> and <sys/types.h> exist (fcgios.h includes them). */
#define HAVE_SYS_TIME_H 1
#define HAVE_SYS_TYPES_H 1

/* stdio.h declares fpos_t, so fcgi_stdio.h declares FCGI_fgetpos/fsetpos. */
#define HAVE_FPOS 1

/* std::streambuf has a char_type member (fcgio.h uses it). */
#define HAVE_STREAMBUF_CHAR_TYPE 1

#endif /* FCGI_CONFIG_H */
