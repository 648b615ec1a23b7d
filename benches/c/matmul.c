// Float matrix multiply for the SIMD bench, built as a bare wasm module twice: scalar
// (-fno-vectorize -fno-slp-vectorize) and with -msimd128 (clang's auto-vectorizer emits v128 code).
#define N 64

static float a[N * N], b[N * N], c[N * N];

__attribute__((export_name("matmul"))) float matmul(int rounds) {
    for (int i = 0; i < N * N; i++) {
        a[i] = (float)(i % 7) * 0.5f;
        b[i] = (float)(i % 5) - 1.0f;
    }
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < N; i++) {
            // The first row of products initializes c's row (a zeroing loop would become a call to
            // memset, which a bare module does not have).
            for (int j = 0; j < N; j++) {
                c[i * N + j] = a[i * N] * b[j];
            }
            for (int k = 1; k < N; k++) {
                float aik = a[i * N + k];
                for (int j = 0; j < N; j++) {
                    c[i * N + j] += aik * b[k * N + j];
                }
            }
        }
    }
    float trace = 0.0f;
    for (int i = 0; i < N; i++) {
        trace += c[i * N + i];
    }
    return trace;
}
