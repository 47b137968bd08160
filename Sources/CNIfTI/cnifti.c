#include "cnifti.h"

int cnifti_close(znzFile file) { return Xznzclose(&file); }

void cnifti_free(void *p) { free(p); }
