// libpng 1.6, for PNG pictures (previews, loss curves). Swift uses the simplified API
// (png_image_*): it reports errors in the png_image struct instead of longjmp, which Swift
// cannot cross. The format constants are macros built from other macros: named here.
#pragma once
#include <png.h>

static const png_uint_32 cpng_image_version = PNG_IMAGE_VERSION;
static const png_uint_32 cpng_format_gray = PNG_FORMAT_GRAY;
static const png_uint_32 cpng_format_rgb = PNG_FORMAT_RGB;
static const png_uint_32 cpng_format_flag_color = PNG_FORMAT_FLAG_COLOR;
static const png_uint_32 cpng_format_flag_alpha = PNG_FORMAT_FLAG_ALPHA;
