// echo-cpp.cpp: the echo responder with C++ iostreams.  For each request,
// std::cin, std::cout and std::cerr are pointed at fcgi_streambufs over the
// request's streams, so ordinary iostream code reads the body and writes
// the response.
//
// Each response is plain text: a request counter, the request's
// parameters, then the request body, byte for byte (read to its end).  The
// program serves on the listening socket on fd 0, or on the socket named by
// FCGI_LISTEN_ADDR when that is set.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

#include "fcgio.h"

int main()
{
    const char *addr = std::getenv("FCGI_LISTEN_ADDR");
    int sock = 0;

    if (FCGX_Init() != 0) {
        std::cerr << "echo-cpp: FCGX_Init failed\n";
        return 1;
    }
    if (addr && *addr) {
        sock = FCGX_OpenSocket(addr, 16);
        if (sock < 0) {
            std::perror(addr);
            return 1;
        }
    }

    FCGX_Request request;
    FCGX_InitRequest(&request, sock, 0);

    // The original buffers, put back before the process exits.
    std::streambuf *cin_orig = std::cin.rdbuf();
    std::streambuf *cout_orig = std::cout.rdbuf();
    std::streambuf *cerr_orig = std::cerr.rdbuf();

    long count = 0;
    while (FCGX_Accept_r(&request) >= 0) {
        // Input through a buffer (bulk reads), output unbuffered: the
        // FCGX_Stream buffers it already.
        char in_buffer[8192];
        fcgi_streambuf cin_fcgi(request.in, in_buffer, sizeof in_buffer);
        fcgi_streambuf cout_fcgi(request.out);
        fcgi_streambuf cerr_fcgi(request.err);
        std::cin.rdbuf(&cin_fcgi);
        std::cout.rdbuf(&cout_fcgi);
        std::cerr.rdbuf(&cerr_fcgi);
        std::cin.clear();
        std::cout.clear();

        std::cout << "Content-type: text/plain\r\n\r\n"
                  << "echo-cpp: request number " << ++count
                  << ", process " << static_cast<long>(getpid()) << "\n"
                  << "Parameters:\n";
        for (char **p = request.envp; *p; ++p)
            std::cout << *p << "\n";

        std::cout << "Body:\n";
        char chunk[4096];
        long body = 0;
        do {
            std::cin.read(chunk, sizeof chunk);
            std::cout.write(chunk, std::cin.gcount());
            body += static_cast<long>(std::cin.gcount());
        } while (std::cin);
        std::cout << "\n(" << body << " bytes)\n" << std::flush;

        // The streambufs die with this iteration; the standard streams
        // must not keep pointing at them.
        std::cin.rdbuf(cin_orig);
        std::cout.rdbuf(cout_orig);
        std::cerr.rdbuf(cerr_orig);
        FCGX_Finish_r(&request);
    }
    FCGX_Free(&request, 1);
    return 0;
}
