// Sieve of Eratosthenes over a byte array, repeated. Usage: sieve [limit] [rounds].
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    int limit = argc > 1 ? atoi(argv[1]) : 10000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 8;
    unsigned char *composite = malloc((size_t)limit + 1);
    int count = 0;
    for (int r = 0; r < rounds; r++) {
        memset(composite, 0, (size_t)limit + 1);
        count = 0;
        for (long long i = 2; i <= limit; i++) {
            if (composite[i]) continue;
            count++;
            for (long long j = i * i; j <= limit; j += i) composite[j] = 1;
        }
    }
    printf("primes up to %d: %d\n", limit, count);
    free(composite);
    return 0;
}
