// Included first by every file that defines exported functions: while the
// library is built, the public headers' DLLAPI marks declarations visible
// (everything else is hidden by -fvisibility=hidden).
#ifndef FCGI_CAPI_EXPORT_HPP
#define FCGI_CAPI_EXPORT_HPP
#define DLLAPI __attribute__((visibility("default")))
#endif
