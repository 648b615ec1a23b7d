// Clocks (realtime, monotonic, a 20 ms sleep through poll_oneoff) and random bytes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    struct timespec real, m0, m1, res;
    if (clock_gettime(CLOCK_REALTIME, &real) != 0) return 10;
    printf("realtime_s=%lld\n", (long long)real.tv_sec);
    if (clock_getres(CLOCK_MONOTONIC, &res) != 0) return 11;
    printf("res_ok=%d\n", ns(res) > 0 && ns(res) <= 1000000);
    clock_gettime(CLOCK_MONOTONIC, &m0);
    struct timespec d = {0, 20 * 1000 * 1000};
    if (nanosleep(&d, NULL) != 0) return 12;
    clock_gettime(CLOCK_MONOTONIC, &m1);
    long long slept = ns(m1) - ns(m0);
    printf("slept_ok=%d\n", slept >= 20000000LL && slept < 2000000000LL);
    unsigned char a[32], b[32];
    if (getentropy(a, sizeof a) != 0 || getentropy(b, sizeof b) != 0) return 13;
    int nonzero = 0;
    for (int i = 0; i < 32; i++) nonzero |= a[i];
    printf("random_ok=%d\n", nonzero != 0 && memcmp(a, b, sizeof a) != 0);
    printf("arc4random_differs=%d\n", arc4random() != arc4random() || arc4random() != arc4random());
    return 0;
}
