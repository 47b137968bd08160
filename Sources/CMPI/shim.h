// Open MPI's C interface, plus functions for the handles and constants that are macros
// (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...: casts of global addresses Swift cannot import).
#pragma once
#include <mpi.h>

static inline MPI_Comm shim_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype shim_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype shim_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op shim_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Request shim_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *shim_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *shim_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline int shim_mpi_success(void) { return MPI_SUCCESS; }
static inline int shim_mpi_thread_multiple(void) { return MPI_THREAD_MULTIPLE; }
static inline MPI_Errhandler shim_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }

/// The text of an MPI error code (writes at most MPI_MAX_ERROR_STRING bytes into `buffer`).
static inline void shim_mpi_error_string(int code, char *buffer, int capacity) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
    int n = length < capacity - 1 ? length : capacity - 1;
    for (int i = 0; i < n; i++) buffer[i] = text[i];
    if (capacity > 0) buffer[n] = 0;
}

static inline void *shim_mpi_in_place(void) { return MPI_IN_PLACE; }
