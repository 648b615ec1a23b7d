// zlib on WASI: compresses /data/input.bin to /data/input.bin.gz with gzip streams, decompresses it
// to /data/output.bin, and prints sizes and CRC-32 of both.
#include <stdio.h>
#include <stdlib.h>
#include "zlib.h"

// The directory of the data files (the preopened /data under WASI; any directory natively).
#ifndef DATA_DIR
#define DATA_DIR "/data"
#endif

static unsigned long crc_of(const char *path, long *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { printf("FAIL open %s\n", path); exit(1); }
    static unsigned char buf[65536];
    unsigned long crc = crc32(0L, Z_NULL, 0);
    size_t n;
    *size = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) { crc = crc32(crc, buf, (uInt)n); *size += (long)n; }
    fclose(f);
    return crc;
}

int main(void) {
    static unsigned char buf[65536];
    FILE *in = fopen(DATA_DIR "/input.bin", "rb");
    gzFile gz = gzopen(DATA_DIR "/input.bin.gz", "wb9");
    if (!in || !gz) { printf("FAIL open for compression\n"); return 1; }
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (gzwrite(gz, buf, (unsigned)n) != (int)n) { printf("FAIL gzwrite\n"); return 1; }
    fclose(in);
    if (gzclose(gz) != Z_OK) { printf("FAIL gzclose\n"); return 1; }

    gz = gzopen(DATA_DIR "/input.bin.gz", "rb");
    FILE *out = fopen(DATA_DIR "/output.bin", "wb");
    if (!gz || !out) { printf("FAIL open for decompression\n"); return 1; }
    int r;
    while ((r = gzread(gz, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)r, out);
    if (r < 0) { printf("FAIL gzread\n"); return 1; }
    gzclose(gz);
    fclose(out);

    long in_size, out_size, gz_size;
    unsigned long in_crc = crc_of(DATA_DIR "/input.bin", &in_size);
    unsigned long out_crc = crc_of(DATA_DIR "/output.bin", &out_size);
    crc_of(DATA_DIR "/input.bin.gz", &gz_size);
    printf("input=%ld crc=%08lx\n", in_size, in_crc);
    printf("output=%ld crc=%08lx\n", out_size, out_crc);
    printf("compressed_smaller=%d\n", gz_size < in_size);
    printf("zlib=%s\n", zlibVersion());
    return 0;
}
