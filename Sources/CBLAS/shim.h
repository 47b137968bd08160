// OpenBLAS's CBLAS interface, plus its thread-count controls.
#pragma once
#include <cblas.h>

static inline void shim_openblas_set_threads(int n) { openblas_set_num_threads(n); }
static inline int shim_openblas_get_threads(void) { return openblas_get_num_threads(); }
