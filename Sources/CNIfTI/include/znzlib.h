// Forwarder. libnifti2-dev installs its headers under /usr/include/nifti/, and nifti1_io.h and
// nifti2_io.h include <znzlib.h> with angle brackets and no prefix. This target's include
// directory is on the header search path of every target that depends on it (directly or not,
// in every configuration), so this file answers that include with the real header, and no
// `-I/usr/include/nifti` is needed anywhere.
#pragma once
#include <nifti/znzlib.h>
