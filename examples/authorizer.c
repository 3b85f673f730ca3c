/*
 * authorizer.c: a FastCGI authorizer (FCGI_ROLE=AUTHORIZER), written with
 * fcgi_stdio.h.
 *
 * The web server asks before serving a request.  This program grants it,
 * with "Status: 200" and a Variable-AUTH_USER header the server passes on
 * to the responder, when
 *   - HTTP_AUTHORIZATION carries Basic credentials whose password is the
 *     one in AUTHORIZER_PASSWORD (read at start-up, default "secret"); the
 *     user is the one named there, or
 *   - the query string contains "auth=ok" (user "guest").
 * Anything else is refused with "Status: 403".  Run in another role it
 * answers 500.  The program serves on the listening socket on fd 0, or on
 * the socket named by FCGI_LISTEN_ADDR when that is set.
 */
#include "fcgi_stdio.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Value of a base64 digit, -1 for anything else. */
static int b64_digit(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes base64 text into out (NUL-terminated); -1 if it does not fit or is not base64. */
static int b64_decode(const char *text, char *out, size_t size)
{
    size_t n = 0;
    unsigned long bits = 0;
    int nbits = 0;

    for (; *text && *text != '='; ++text) {
        int d = b64_digit((unsigned char)*text);
        if (d < 0)
            return -1;
        bits = (bits << 6) | (unsigned long)d;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            if (n + 1 >= size)
                return -1;
            out[n++] = (char)((bits >> nbits) & 0xff);
        }
    }
    out[n] = '\0';
    return 0;
}

/* The user HTTP_AUTHORIZATION authenticates, copied into user; 0 if none. */
static int basic_user(const char *header, const char *password, char *user, size_t size)
{
    char decoded[256];
    char *colon;

    if (!header || strncmp(header, "Basic ", 6) != 0)
        return 0;
    if (b64_decode(header + 6, decoded, sizeof decoded) != 0)
        return 0;
    colon = strchr(decoded, ':');
    if (!colon || colon == decoded || strcmp(colon + 1, password) != 0)
        return 0;
    *colon = '\0';
    if (strlen(decoded) >= size)
        return 0;
    strcpy(user, decoded);
    return 1;
}

static int query_says_ok(const char *query)
{
    const char *p = query;

    while (p && *p) {
        size_t len = strcspn(p, "&");
        if (len == 7 && strncmp(p, "auth=ok", 7) == 0)
            return 1;
        p += len;
        if (*p == '&')
            ++p;
    }
    return 0;
}

int main(void)
{
    const char *addr = getenv("FCGI_LISTEN_ADDR");
    const char *configured = getenv("AUTHORIZER_PASSWORD");
    char password[128];

    /* getenv reads the request's parameters once FCGI_Accept has run. */
    strncpy(password, configured ? configured : "secret", sizeof password - 1);
    password[sizeof password - 1] = '\0';

    if (addr && *addr) {
        int fd = FCGX_OpenSocket(addr, 16);
        if (fd < 0 || dup2(fd, 0) < 0) {
            perror(addr);
            return 1;
        }
        if (fd != 0)
            close(fd);
    }

    while (FCGI_Accept() >= 0) {
        const char *role = getenv("FCGI_ROLE");
        char user[128];

        if (role && strcmp(role, "AUTHORIZER") != 0) {
            printf("Status: 500 Internal Server Error\r\n"
                   "Content-type: text/plain\r\n\r\n"
                   "authorizer: run in the %s role, not AUTHORIZER\n", role);
            continue;
        }
        if (basic_user(getenv("HTTP_AUTHORIZATION"), password, user, sizeof user)
            || (query_says_ok(getenv("QUERY_STRING")) && strcpy(user, "guest"))) {
            printf("Status: 200 OK\r\n"
                   "Variable-AUTH_USER: %s\r\n\r\n", user);
        } else {
            printf("Status: 403 Forbidden\r\n"
                   "Content-type: text/plain\r\n\r\n"
                   "authorizer: access denied\n");
        }
    }
    return 0;
}
