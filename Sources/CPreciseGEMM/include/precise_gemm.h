#pragma once
#include <stddef.h>

/// C (m x n, leading dimension ldc) = beta C + A B, each element accumulated in double in
/// ascending k and rounded once to float. A is m x k and B is k x n, dense row-major doubles
/// (the caller widens and transposes). The order is fixed and nothing is contracted into fused
/// multiply-adds, so the bits are the same on every x86-64 CPU; in C so that debug builds of the
/// package (which compile Swift without optimisation) still run it at a usable speed.
void genesis_precise_gemm(size_t m, size_t n, size_t k, const double *a, const double *b, float beta, float *c, size_t ldc,
                          double *row);

/// out (rows x columns, dense row-major) = the float matrix at p with leading dimension
/// `leading` (transposed: p holds the columns x rows matrix), times `scale`, in double.
void genesis_widen(const float *p, size_t rows, size_t columns, size_t leading, int transposed, double scale, double *out);
