// See cmpi.h: Open MPI through dlopen and dlsym, no link-time dependency on libmpi.
#include "cmpi.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef int (*init_thread_f)(int *, char ***, int, int *);
typedef int (*comm_set_errhandler_f)(void *, void *);
typedef int (*comm_int_f)(void *, int *);
typedef int (*iallreduce_f)(const void *, void *, int, void *, void *, void *, void **);
typedef int (*allreduce_f)(const void *, void *, int, void *, void *, void *);
typedef int (*test_f)(void **, int *, void *);
typedef int (*wait_f)(void **, void *);
typedef int (*bcast_f)(void *, int, void *, int, void *);
typedef int (*comm_f)(void *);
typedef int (*abort_f)(void *, int);
typedef int (*void_f)(void);
typedef int (*error_string_f)(int, char *, int *);
typedef int (*library_version_f)(char *, int *);

static struct {
    int state;  // 0 not tried, 1 loaded, -1 failed
    char message[512];
    void *comm_world, *float_type, *double_type, *op_sum, *request_null, *errors_return;
    init_thread_f init_thread;
    comm_set_errhandler_f comm_set_errhandler;
    comm_int_f comm_rank, comm_size;
    iallreduce_f iallreduce;
    allreduce_f allreduce;
    test_f test;
    wait_f wait;
    bcast_f bcast;
    comm_f barrier;
    abort_f abort_;
    void_f finalize;
    error_string_f error_string;
    library_version_f library_version;
} mpi;

static void copy_message(char *out, int capacity) {
    if (out == NULL || capacity <= 0) return;
    snprintf(out, (size_t)capacity, "%s", mpi.message);
}

int cmpi_load(const char *library, char *message, int capacity) {
    if (mpi.state != 0) {
        copy_message(message, capacity);
        return mpi.state == 1 ? 0 : -1;
    }
    const char *name = (library != NULL && library[0] != 0) ? library : CMPI_LIBRARY;
    // RTLD_GLOBAL: Open MPI's own plugins, loaded later, take their symbols from libmpi.
    void *h = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
    if (h == NULL) {
        const char *e = dlerror();
        snprintf(mpi.message, sizeof mpi.message, "%s", e ? e : "dlopen failed");
        mpi.state = -1;
        copy_message(message, capacity);
        return -1;
    }
    struct { const char *symbol; void **slot; } table[] = {
        {"ompi_mpi_comm_world", &mpi.comm_world},
        {"ompi_mpi_float", &mpi.float_type},
        {"ompi_mpi_double", &mpi.double_type},
        {"ompi_mpi_op_sum", &mpi.op_sum},
        {"ompi_request_null", &mpi.request_null},
        {"ompi_mpi_errors_return", &mpi.errors_return},
        {"MPI_Init_thread", (void **)&mpi.init_thread},
        {"MPI_Comm_set_errhandler", (void **)&mpi.comm_set_errhandler},
        {"MPI_Comm_rank", (void **)&mpi.comm_rank},
        {"MPI_Comm_size", (void **)&mpi.comm_size},
        {"MPI_Iallreduce", (void **)&mpi.iallreduce},
        {"MPI_Allreduce", (void **)&mpi.allreduce},
        {"MPI_Test", (void **)&mpi.test},
        {"MPI_Wait", (void **)&mpi.wait},
        {"MPI_Bcast", (void **)&mpi.bcast},
        {"MPI_Barrier", (void **)&mpi.barrier},
        {"MPI_Abort", (void **)&mpi.abort_},
        {"MPI_Finalize", (void **)&mpi.finalize},
        {"MPI_Error_string", (void **)&mpi.error_string},
        {"MPI_Get_library_version", (void **)&mpi.library_version},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        void *p = dlsym(h, table[i].symbol);
        if (p == NULL) {
            snprintf(mpi.message, sizeof mpi.message, "%s has no symbol %s (it is not Open MPI 3, 4 or 5)", name, table[i].symbol);
            mpi.state = -1;
            copy_message(message, capacity);
            return -1;
        }
        *table[i].slot = p;
    }
    snprintf(mpi.message, sizeof mpi.message, "%s", name);
    mpi.state = 1;
    copy_message(message, capacity);
    return 0;
}

int cmpi_loaded(void) { return mpi.state == 1; }

void *cmpi_comm_world(void) { return mpi.comm_world; }
void *cmpi_request_null(void) { return mpi.request_null; }

int cmpi_init_thread(int required, int *provided) {
    int argc = 0;
    return mpi.init_thread(&argc, NULL, required, provided);
}
int cmpi_comm_set_errors_return(void *comm) { return mpi.comm_set_errhandler(comm, mpi.errors_return); }
int cmpi_comm_rank(void *comm, int *rank) { return mpi.comm_rank(comm, rank); }
int cmpi_comm_size(void *comm, int *size) { return mpi.comm_size(comm, size); }
int cmpi_iallreduce_sum_float(float *buffer, int count, void *comm, void **request) {
    return mpi.iallreduce(CMPI_IN_PLACE, buffer, count, mpi.float_type, mpi.op_sum, comm, request);
}
int cmpi_test(void **request, int *done) { return mpi.test(request, done, NULL); }
int cmpi_wait(void **request) { return mpi.wait(request, NULL); }
int cmpi_allreduce_sum_double(double *values, int count, void *comm) {
    return mpi.allreduce(CMPI_IN_PLACE, values, count, mpi.double_type, mpi.op_sum, comm);
}
int cmpi_bcast_float(float *values, int count, int root, void *comm) { return mpi.bcast(values, count, mpi.float_type, root, comm); }
int cmpi_bcast_double(double *values, int count, int root, void *comm) { return mpi.bcast(values, count, mpi.double_type, root, comm); }
int cmpi_barrier(void *comm) { return mpi.barrier(comm); }
int cmpi_abort(void *comm, int code) { return mpi.abort_(comm, code); }
int cmpi_finalize(void) { return mpi.finalize(); }

void cmpi_error_string(int code, char *buffer, int capacity) {
    if (capacity <= 0) return;
    buffer[0] = 0;
    if (mpi.state != 1) return;
    char text[CMPI_MAX_ERROR_STRING + 1];
    int length = 0;
    if (mpi.error_string(code, text, &length) != CMPI_SUCCESS) length = 0;
    if (length < 0) length = 0;
    if (length > CMPI_MAX_ERROR_STRING) length = CMPI_MAX_ERROR_STRING;
    text[length] = 0;
    snprintf(buffer, (size_t)capacity, "%s", text);
}

void cmpi_library_version(char *buffer, int capacity) {
    if (capacity <= 0) return;
    buffer[0] = 0;
    if (mpi.state != 1) return;
    // MPI_MAX_LIBRARY_VERSION_STRING is 256 in Open MPI.
    char text[257];
    int length = 0;
    if (mpi.library_version(text, &length) != CMPI_SUCCESS) length = 0;
    if (length < 0) length = 0;
    if (length > 256) length = 256;
    text[length] = 0;
    char *newline = strchr(text, '\n');
    if (newline) *newline = 0;
    snprintf(buffer, (size_t)capacity, "%s", text);
}
