// Open MPI from Debian (libopenmpi-dev; pkg-config `ompi-c` adds its include folder).
// MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, ...) are macros over global objects that Swift
// cannot import, so the few calls speechlab makes are wrapped here, all on MPI_COMM_WORLD.
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline int speechlab_mpi_init(void) {
    int provided = 0;
    // Only the main thread calls MPI; the workers inside a rank never do.
    int status = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (status == MPI_SUCCESS) MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    return status;
}
static inline int speechlab_mpi_finalize(void) { return MPI_Finalize(); }
static inline int speechlab_mpi_initialized(void) { int flag = 0; MPI_Initialized(&flag); return flag; }
static inline int speechlab_mpi_rank(void) { int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }
static inline int speechlab_mpi_size(void) { int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }
static inline int speechlab_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static inline void speechlab_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

static inline int speechlab_mpi_sum_float(float *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static inline int speechlab_mpi_sum_double(double *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static inline int speechlab_mpi_sum_int64(int64_t *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
}
static inline int speechlab_mpi_max_int64(int64_t *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
}

// 128-bit two's-complement sums (fixed-point totals that add exactly, in any order). MPI has
// no such type: 16 bytes with a user operation, added as two 64-bit halves with the carry
// (MPI's buffers need not be 16-byte aligned, hence the copies).
static void speechlab_mpi_add_int128(void *in, void *inout, int *count, MPI_Datatype *type) {
    (void)type;
    const unsigned char *a = (const unsigned char *)in;
    unsigned char *b = (unsigned char *)inout;
    for (int i = 0; i < *count; i++) {
        uint64_t x[2], y[2];
        memcpy(x, a + 16 * i, 16);
        memcpy(y, b + 16 * i, 16);
        uint64_t low = x[0] + y[0];
        uint64_t high = x[1] + y[1] + (low < x[0] ? 1 : 0);
        y[0] = low;
        y[1] = high;
        memcpy(b + 16 * i, y, 16);
    }
}
static inline int speechlab_mpi_sum_int128(void *buffer, int count) {
    static MPI_Datatype type = MPI_DATATYPE_NULL;
    static MPI_Op operation = MPI_OP_NULL;
    if (type == MPI_DATATYPE_NULL) {
        MPI_Type_contiguous(16, MPI_BYTE, &type);
        MPI_Type_commit(&type);
        MPI_Op_create(speechlab_mpi_add_int128, 1, &operation);
    }
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, type, operation, MPI_COMM_WORLD);
}

static inline int speechlab_mpi_broadcast(void *buffer, int count, int root) {
    return MPI_Bcast(buffer, count, MPI_BYTE, root, MPI_COMM_WORLD);
}
static inline int speechlab_mpi_allgather_int64(int64_t value, int64_t *all) {
    return MPI_Allgather(&value, 1, MPI_INT64_T, all, 1, MPI_INT64_T, MPI_COMM_WORLD);
}
static inline int speechlab_mpi_allgatherv(const void *send, int count, void *receive, const int *counts, const int *displacements) {
    return MPI_Allgatherv(send, count, MPI_BYTE, receive, counts, displacements, MPI_BYTE, MPI_COMM_WORLD);
}
static inline void speechlab_mpi_error_string(int code, char *text, int capacity) {
    int length = 0;
    char buffer[MPI_MAX_ERROR_STRING];
    MPI_Error_string(code, buffer, &length);
    snprintf(text, (size_t)capacity, "%.*s", length, buffer);
}
