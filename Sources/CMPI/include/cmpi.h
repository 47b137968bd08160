// Open MPI, loaded at run time. `genesis` links no MPI library: the data-parallel commands load
// Open MPI's libmpi.so.40 (Open MPI 3.0 to 5.x) with dlopen when a launcher started them, so the
// tool runs on machines without MPI and the release ships none. The handles Open MPI's mpi.h
// makes from global objects (MPI_COMM_WORLD is &ompi_mpi_comm_world, ...) are looked up by name;
// the constants are Open MPI's ABI (DistributedTests compare them with mpi.h through mpicc).
#pragma once

#define CMPI_SUCCESS 0
#define CMPI_THREAD_MULTIPLE 3
#define CMPI_MAX_ERROR_STRING 256
/// MPI_IN_PLACE in Open MPI's ABI.
#define CMPI_IN_PLACE ((void *)1)

/// The library name dlopen is given unless GENESIS_LIBMPI names a path.
#define CMPI_LIBRARY "libmpi.so.40"

/// Loads the library (once; later calls return the first result). 0 when every function and
/// handle was found; else -1 and one line in `message` saying what is missing.
int cmpi_load(const char *library, char *message, int capacity);
/// Whether cmpi_load succeeded.
int cmpi_loaded(void);

/// The handles (valid after cmpi_load).
void *cmpi_comm_world(void);
void *cmpi_request_null(void);

int cmpi_init_thread(int required, int *provided);
int cmpi_comm_set_errors_return(void *comm);
int cmpi_comm_rank(void *comm, int *rank);
int cmpi_comm_size(void *comm, int *size);
/// MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, comm, request).
int cmpi_iallreduce_sum_float(float *buffer, int count, void *comm, void **request);
/// MPI_Test(request, done, MPI_STATUS_IGNORE).
int cmpi_test(void **request, int *done);
/// MPI_Wait(request, MPI_STATUS_IGNORE).
int cmpi_wait(void **request);
/// MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, comm).
int cmpi_allreduce_sum_double(double *values, int count, void *comm);
int cmpi_bcast_float(float *values, int count, int root, void *comm);
int cmpi_bcast_double(double *values, int count, int root, void *comm);
int cmpi_barrier(void *comm);
int cmpi_abort(void *comm, int code);
int cmpi_finalize(void);
/// The text of an MPI error code (at most capacity - 1 bytes and a NUL).
void cmpi_error_string(int code, char *buffer, int capacity);
/// MPI_Get_library_version's text (first line), or "" before cmpi_load.
void cmpi_library_version(char *buffer, int capacity);
