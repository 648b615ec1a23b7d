// Host calls in hot loops: under WASI each iteration calls an imported function (clock_time_get,
// random_get, fd_write). Usage: hostcalls [n] (default 2000000): n monotonic-clock reads, n / 8
// getentropy calls on a 16-byte buffer and n / 8 one-byte writes to /dev/null. The output depends on
// none of the values the host returns: it counts calls and checks that the clock never goes back.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000000;

    long clock_calls = 0, backwards = 0, clock_errors = 0;
    struct timespec prev = {0, 0}, now;
    for (long i = 0; i < n; i++) {
        if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) clock_errors++;
        if (now.tv_sec < prev.tv_sec || (now.tv_sec == prev.tv_sec && now.tv_nsec < prev.tv_nsec))
            backwards++;
        prev = now;
        clock_calls++;
    }

    long random_calls = 0, random_errors = 0;
    unsigned char buf[16];
    for (long i = 0; i < n / 8; i++) {
        if (getentropy(buf, sizeof buf) != 0) random_errors++;
        random_calls++;
    }

    long write_calls = 0, written = 0;
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) {
        printf("cannot open /dev/null\n");
        return 1;
    }
    for (long i = 0; i < n / 8; i++) {
        char c = (char)('a' + i % 26);
        written += write(fd, &c, 1);
        write_calls++;
    }
    close(fd);

    printf("clock: %ld calls, %ld errors, %ld backwards\n", clock_calls, clock_errors, backwards);
    printf("random: %ld calls, %ld errors\n", random_calls, random_errors);
    printf("write: %ld calls, %ld bytes\n", write_calls, written);
    return 0;
}
