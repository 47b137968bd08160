// libnifti2 (nifti2_io.h) for Swift. Only what macros hide is wrapped here.
#pragma once
#define HAVE_ZLIB 1
#include <zlib.h>
// nifti2_io.h includes <znzlib.h> without the nifti/ prefix, so every target that imports
// this module passes -Xcc -I/usr/include/nifti (VolumeIO, which imports it `internal`ly).
#include <nifti/nifti2_io.h>

/// znzclose is a macro over Xznzclose(&f); this returns the close status (fclose/gzclose).
static inline int cnifti_close(znzFile file) { return Xznzclose(&file); }

/// nifti_read_header returns malloc'd memory.
static inline void cnifti_free(void *p) { free(p); }
