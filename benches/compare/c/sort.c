// Sorting pseudo-random integers with the C library's qsort and with a hand-written merge sort.
// Usage: sort [count].
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void merge_sort(uint32_t *v, uint32_t *tmp, size_t n) {
    if (n < 2) return;
    size_t h = n / 2;
    merge_sort(v, tmp, h);
    merge_sort(v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = v[i] <= v[j] ? v[i++] : v[j++];
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 3000000;
    uint32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *tmp = malloc(n * sizeof *tmp);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        a[i] = b[i] = x;
    }
    qsort(a, n, sizeof *a, cmp);
    merge_sort(b, tmp, n);
    uint64_t check = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) { printf("mismatch at %zu\n", i); return 1; }
        check = check * 31 + a[i];
    }
    printf("sorted %zu, check %llu\n", n, (unsigned long long)check);
    return 0;
}
