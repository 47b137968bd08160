// zlib, for .npz and .nii.gz volumes and CRC-32.
#pragma once
#include <zlib.h>
