// fcgio.h: C++ iostreams over FastCGI streams (libfcgi++).
//
// fcgi_streambuf adapts an FCGX_Stream to std::streambuf, so a request's
// streams can stand behind std::cin, std::cout and std::cerr:
//
//     fcgi_streambuf out(request.out);
//     std::cout.rdbuf(&out);
//
// Unbuffered by default (the FCGX_Stream already buffers); give it a buffer
// to make putback()/unget() work on input.  fcgi_istream and fcgi_ostream
// are kept for old programs.
#ifndef FCGIO_H
#define FCGIO_H

#include <iostream>

#include "fcgiapp.h"

#ifndef DLLAPI
#define DLLAPI
#endif

class DLLAPI fcgi_streambuf : public std::streambuf
{
public:
    // Buffered stream over fcgx using buf[0..len).
    fcgi_streambuf(FCGX_Stream * fcgx, char * buf, int len);
    // Buffered stream with no FCGX_Stream yet; attach() one later.
    fcgi_streambuf(char_type * buf, std::streamsize len);
    // Unbuffered stream over fcgx (or none yet).
    fcgi_streambuf(FCGX_Stream * fcgx = 0);

    ~fcgi_streambuf(void);

    // Use fcgx from now on; flushes pending output first.  Returns 0.
    int attach(FCGX_Stream * fcgx);

protected:
    virtual int overflow(int);
    virtual int sync();
    virtual int uflow();
    virtual int underflow();
    virtual std::streambuf * setbuf(char_type * buf, std::streamsize len);
    virtual std::streamsize xsgetn(char_type * s, std::streamsize n);
    virtual std::streamsize xsputn(const char_type * s, std::streamsize n);

private:
    FCGX_Stream * fcgx;
    char_type * buf;
    std::streamsize bufsize;

    void init(FCGX_Stream * fcgx, char_type * buf, std::streamsize bufsize);
    void reset(void);
};

class DLLAPI fcgi_istream : public std::istream
{
public:
    fcgi_istream(FCGX_Stream * fcgx = 0);
    ~fcgi_istream(void) {}
    virtual void attach(FCGX_Stream * fcgx);

private:
    fcgi_streambuf fcgi_strmbuf;
};

class DLLAPI fcgi_ostream : public std::ostream
{
public:
    fcgi_ostream(FCGX_Stream * fcgx = 0);
    ~fcgi_ostream(void) {}
    virtual void attach(FCGX_Stream * fcgx);

private:
    fcgi_streambuf fcgi_strmbuf;
};

#endif /* FCGIO_H */
