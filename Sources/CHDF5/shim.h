// libhdf5 (Debian's serial build) for Swift. HDF5's predefined type and property ids are
// macros that call H5open(); Swift cannot import them, so each is wrapped here.
#pragma once
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

static inline hid_t shim_T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t shim_T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t shim_T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t shim_T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t shim_T_IEEE_F16LE(void) {
    // HDF5 1.10 has no predefined half type: derive one from IEEE f32 (as h5py does).
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 ||
        H5Tset_ebias(t, 15) < 0) { H5Tclose(t); return -1; }
    return t;
}
static inline hid_t shim_T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t shim_T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t shim_T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t shim_T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t shim_T_C_S1(void) { return H5T_C_S1; }
static inline size_t shim_T_VARIABLE(void) { return H5T_VARIABLE; }

static inline hid_t shim_P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t shim_P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t shim_P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline hid_t shim_P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t shim_S_ALL(void) { return H5S_ALL; }

static inline unsigned shim_F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned shim_F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned shim_F_ACC_EXCL(void) { return H5F_ACC_EXCL; }

/// Turns HDF5's automatic error printing off for the calling thread.
static inline void shim_errors_silence(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/// Appends each message of the current thread's error stack to `buf` (NUL-terminated,
/// at most `cap` bytes), innermost first, separated by "; ".
typedef struct { char *buf; size_t cap; size_t len; int count; } shim_err_ctx;
static inline herr_t shim_err_walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
    shim_err_ctx *c = (shim_err_ctx *)data;
    if (c->count >= 4 || e->desc == NULL) return 0;
    size_t need = strlen(e->desc) + (c->count ? 2 : 0);
    if (c->len + need + 1 > c->cap) return 0;
    if (c->count) { memcpy(c->buf + c->len, "; ", 2); c->len += 2; }
    memcpy(c->buf + c->len, e->desc, strlen(e->desc));
    c->len += strlen(e->desc);
    c->buf[c->len] = 0;
    c->count++;
    (void)n;
    return 0;
}
static inline void shim_errors_describe(char *buf, size_t cap) {
    shim_err_ctx c = { buf, cap, 0, 0 };
    if (cap) buf[0] = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, shim_err_walk_cb, &c);
    H5Eclear2(H5E_DEFAULT);
}

/// Lists a group's member names in name order (HDF5 1.10's H5Literate, API v18 or v110).
/// Calls `cb(name, ctx)` per member; a nonzero return stops the walk.
typedef int (*shim_name_cb)(const char *name, void *ctx);
typedef struct { shim_name_cb cb; void *ctx; } shim_iter_ctx;
static inline herr_t shim_iter_cb(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    shim_iter_ctx *c = (shim_iter_ctx *)data;
    (void)g; (void)info;
    return c->cb(name, c->ctx);
}
static inline herr_t shim_list_members(hid_t group, shim_name_cb cb, void *ctx) {
    shim_iter_ctx c = { cb, ctx };
    hsize_t idx = 0;
    return H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, shim_iter_cb, &c);
}

/// 0 = group, 1 = dataset, 2 = other, -1 = error.
static inline int shim_object_kind(hid_t loc, const char *name) {
    hid_t o = H5Oopen(loc, name, H5P_DEFAULT);
    if (o < 0) return -1;
    H5I_type_t t = H5Iget_type(o);
    H5Oclose(o);
    return t == H5I_GROUP ? 0 : (t == H5I_DATASET ? 1 : 2);
}

/// Link type of `name` in `loc`: 0 hard, 1 soft, 2 external/other, -1 error.
static inline int shim_link_kind(hid_t loc, const char *name) {
    H5L_info_t info;
    if (H5Lget_info(loc, name, &info, H5P_DEFAULT) < 0) return -1;
    return info.type == H5L_TYPE_HARD ? 0 : (info.type == H5L_TYPE_SOFT ? 1 : 2);
}

/// Lists an object's attribute names in name order. Calls `cb(name, ctx)` per attribute.
typedef struct { shim_name_cb cb; void *ctx; } shim_attr_ctx;
static inline herr_t shim_attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    shim_attr_ctx *c = (shim_attr_ctx *)data;
    (void)loc; (void)info;
    return c->cb(name, c->ctx);
}
static inline herr_t shim_list_attributes(hid_t obj, shim_name_cb cb, void *ctx) {
    shim_attr_ctx c = { cb, ctx };
    hsize_t idx = 0;
    return H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, shim_attr_cb, &c);
}

/// Creation property lists that leave modification times out of object headers, so that the
/// same content gives the same file bytes (HDF5 records times by default).
static inline hid_t shim_dcpl_untimed(void) {
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    if (p >= 0) H5Pset_obj_track_times(p, 0);
    return p;
}
static inline hid_t shim_gcpl_untimed(void) {
    hid_t p = H5Pcreate(H5P_GROUP_CREATE);
    if (p >= 0) H5Pset_obj_track_times(p, 0);
    return p;
}

/// Opens an in-memory HDF5 file image read-only through the core driver (no backing store).
/// libhdf5 copies the image (the caller may free its buffer); `name` stands for the file.
static inline hid_t shim_open_image(const void *buf, size_t len, const char *name) {
    if (buf == NULL || len == 0) return -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return -1;
    if (H5Pset_fapl_core(fapl, 1 << 20, 0) < 0 || H5Pset_file_image(fapl, (void *)buf, len) < 0) { H5Pclose(fapl); return -1; }
    hid_t f = H5Fopen(name, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    return f;
}
