#include "precise_gemm.h"

#pragma STDC FP_CONTRACT OFF

void genesis_precise_gemm(size_t m, size_t n, size_t k, const double *a, const double *b, float beta, float *c, size_t ldc,
                          double *row) {
    for (size_t i = 0; i < m; i++) {
        float *out = c + i * ldc;
        const double *ai = a + i * k;
        if (beta == 0) {
            for (size_t j = 0; j < n; j++) row[j] = 0;
        } else {
            for (size_t j = 0; j < n; j++) row[j] = (double)beta * (double)out[j];
        }
        for (size_t p = 0; p < k; p++) {
            const double x = ai[p];
            const double *bp = b + p * n;
            size_t j = 0;
            for (; j + 4 <= n; j += 4) {
                row[j] += x * bp[j];
                row[j + 1] += x * bp[j + 1];
                row[j + 2] += x * bp[j + 2];
                row[j + 3] += x * bp[j + 3];
            }
            for (; j < n; j++) row[j] += x * bp[j];
        }
        for (size_t j = 0; j < n; j++) out[j] = (float)row[j];
    }
}

void genesis_widen(const float *p, size_t rows, size_t columns, size_t leading, int transposed, double scale, double *out) {
    for (size_t i = 0; i < rows; i++) {
        double *o = out + i * columns;
        if (transposed) {
            for (size_t j = 0; j < columns; j++) o[j] = scale * (double)p[j * leading + i];
        } else {
            const float *r = p + i * leading;
            for (size_t j = 0; j < columns; j++) o[j] = scale * (double)r[j];
        }
    }
}
