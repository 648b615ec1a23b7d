// Takeuchi's and Ackermann's functions: deep non-tail recursion, many small calls.
// Usage: tak [rounds] (default 4). Round r computes tak(18 + r % 4, 12, 6) (up to about 10 million calls,
// 20 deep) and ackermann(2, 400 + r % 16) eight times (about 2.6 million calls, up to about 830 deep:
// wasmi allows 1,000 nested calls) and folds them into a checksum.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t calls;

static int tak(int x, int y, int z) {
    calls++;
    if (y >= x) return z;
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

// With m = 2 the recursion is about 3n deep: A(2, n) = A(1, A(2, n - 1)) and A(1, k) = A(0, A(1, k - 1)).
static unsigned ack(unsigned m, unsigned n) {
    calls++;
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 4;
    uint64_t checksum = 0;
    for (int r = 0; r < rounds; r++) {
        int t = tak(18 + r % 4, 12, 6);
        unsigned a = 0;
        for (int k = 0; k < 8; k++) a += ack(2, 400 + r % 16);
        checksum = checksum * 31 + (uint64_t)t * 1000003u + a;
    }
    printf("tak/ackermann: %d rounds, %llu calls, checksum %llu\n", rounds, (unsigned long long)calls,
           (unsigned long long)checksum);
    return 0;
}
