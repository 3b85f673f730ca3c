// main() for a fuzz target built without libFuzzer: runs every file named
// on the command line, and every file of every directory named, through
// LLVMFuzzerTestOneInput once.  A failed check aborts; running no input at
// all is a failure too, so a missing corpus cannot pass unnoticed.
#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <algorithm>

#include "fuzz.hpp"

namespace {

bool run_file(const std::string &path)
{
    FILE *f = fopen(path.c_str(), "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path.c_str(), strerror(errno));
        return false;
    }
    std::vector<uint8_t> bytes;
    uint8_t buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        bytes.insert(bytes.end(), buf, buf + n);
    bool ok = !ferror(f);
    fclose(f);
    if (!ok) {
        fprintf(stderr, "%s: read error\n", path.c_str());
        return false;
    }
    // A private copy of exactly the input's size, as libFuzzer gives, so
    // AddressSanitizer or valgrind catch reads past the end.
    uint8_t *copy = static_cast<uint8_t *>(malloc(bytes.size() ? bytes.size() : 1));
    if (!copy)
        return false;
    if (!bytes.empty())
        memcpy(copy, bytes.data(), bytes.size());
    LLVMFuzzerTestOneInput(copy, bytes.size());
    free(copy);
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    size_t runs = 0;
    for (int i = 1; i < argc; ++i) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        std::vector<std::string> files;
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            if (!d) {
                fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                return 1;
            }
            while (struct dirent *e = readdir(d)) {
                if (e->d_name[0] == '.')
                    continue;
                files.push_back(std::string(argv[i]) + "/" + e->d_name);
            }
            closedir(d);
            std::sort(files.begin(), files.end());
        } else {
            files.push_back(argv[i]);
        }
        for (const std::string &f : files) {
            if (!run_file(f))
                return 1;
            ++runs;
        }
    }
    if (runs == 0) {
        fprintf(stderr, "%s: no inputs\n", argc > 0 ? argv[0] : "replay");
        return 1;
    }
    printf("%s: %zu inputs ran clean\n", argv[0], runs);
    return 0;
}
