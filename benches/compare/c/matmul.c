// Dense double-precision matrix multiply (i-k-j order). Usage: matmul [n] [rounds].
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 300;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n);
    double *c = malloc(sizeof(double) * n * n);
    for (int i = 0; i < n * n; i++) {
        a[i] = (double)(i % 7) * 0.5;
        b[i] = (double)(i % 5) - 1.0;
    }
    double trace = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < n * n; i++) c[i] = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) {
                double aik = a[i * n + k] + r;
                for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
            }
        for (int i = 0; i < n; i++) trace += c[i * n + i];
    }
    printf("trace = %.3f\n", trace);
    return 0;
}
