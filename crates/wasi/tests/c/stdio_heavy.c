// Writes 100 MB to stdout in 4 KiB fwrite calls ("write"), or produces the same bytes without writing
// them ("fill"), so a benchmark can tell host-call overhead from the program's own work.
#include <stdio.h>
#include <string.h>

static char chunk[4096];

int main(int argc, char **argv) {
    int write_out = argc > 1 && strcmp(argv[1], "write") == 0;
    unsigned checksum = 0;
    setvbuf(stdout, NULL, _IOFBF, 65536);
    for (int i = 0; i < 100 * 256; i++) {
        memset(chunk, 'a' + i % 26, sizeof chunk);
        checksum += (unsigned char)chunk[i % sizeof chunk];
        if (write_out) {
            fwrite(chunk, 1, sizeof chunk, stdout);
        }
    }
    fflush(stdout);
    return checksum == 0;
}
