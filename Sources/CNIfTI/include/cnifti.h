// libnifti2 (Debian libnifti2-dev, no pkg-config file) for Swift: NIfTI-1 and NIfTI-2 through
// one `nifti_image` (its functions keep the nifti_ names). libniftiio is the older NIfTI-1-only
// build of the same names with a different struct, so it is deliberately not linked. libznz is
// its gzip/plain file layer. Only what macros hide is wrapped here (cnifti.c).
#pragma once
#define HAVE_ZLIB 1
#include <zlib.h>
#include <nifti/nifti2_io.h>

/// znzclose is a macro over Xznzclose(&f); this returns the close status (fclose/gzclose).
int cnifti_close(znzFile file);

/// nifti_read_header returns malloc'd memory.
void cnifti_free(void *p);

/// The line nifti_disp_lib_version prints ("NIFTI2_IO version 2.1.0 (18 Jun, 2020), ..."),
/// caught from stdout into `buffer`; 0 on success.
int cnifti_lib_version(char *buffer, int capacity);
