/* mpi.c - softent across processes (see mpi.h); without SOFTENT_MPI, one rank. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "mpi.h"

#ifdef SOFTENT_MPI
#include <mpi.h>

static int rank, size = 1, started;

/* Whether a launcher (mpirun, srun) started this process: otherwise
 * MPI_Init would start a singleton's daemon, which costs time and needs
 * what a plain run's environment may lack. */
static int launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

void cli_mpi_init(int *argc, char ***argv)
{
    if (!launched()) return;
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return;
    started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
}

void cli_mpi_finalize(void)
{
    if (started) MPI_Finalize();
}

int cli_mpi_rank(void) { return rank; }
int cli_mpi_built(void) { return 1; }
int cli_mpi_size(void) { return size; }

int cli_mpi_count(int flag)
{
    if (size == 1) return flag != 0;
    int mine = flag != 0, total = 0;
    MPI_Allreduce(&mine, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    return total;
}

int cli_mpi_agree(int rc)
{
    if (size == 1) return rc;
    /* the lowest rank that failed, and its status */
    int mine[2] = {rc ? rank : size, rc}, first[2];
    MPI_Allreduce(mine, first, 1, MPI_2INT, MPI_MINLOC, MPI_COMM_WORLD);
    return first[0] < size ? (rc ? rc : 1) : 0;
}

/* Messages in pieces below INT_MAX bytes. */
#define PIECE ((size_t)1 << 30)

static int send_bytes(const void *data, uint64_t n)
{
    MPI_Send(&n, 1, MPI_UINT64_T, 0, 0, MPI_COMM_WORLD);
    for (uint64_t at = 0; at < n; at += PIECE) {
        const int len = (int)(n - at < PIECE ? n - at : PIECE);
        MPI_Send((const char *)data + at, len, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
    }
    return 0;
}

static int recv_bytes(int from, void **data, uint64_t *n)
{
    MPI_Recv(n, 1, MPI_UINT64_T, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    *data = *n ? malloc(*n) : NULL;
    if (*n && !*data) {
        /* the sender is mid-message: nothing sensible is left but to stop them all */
        fprintf(stderr, "softent: out of memory receiving rank %d's shard (%llu bytes)\n", from, (unsigned long long)*n);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (uint64_t at = 0; at < *n; at += PIECE) {
        const int len = (int)(*n - at < PIECE ? *n - at : PIECE);
        MPI_Recv((char *)*data + at, len, MPI_BYTE, from, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    return 0;
}

int cli_mpi_gather(softent_acc *const *acc, int n)
{
    if (size == 1) return 0;
    int rc = 0;
    if (rank > 0) {
        /* an empty message stands for a shard that could not be serialised */
        for (int k = 0; k < n; k++) {
            void *data = NULL;
            size_t len = 0;
            int status = rc ? 0 : softent_acc_serialize(acc[k], &data, &len);
            if (status) rc = cli_lib_error(status);
            send_bytes(data, rc ? 0 : len);
            free(data);
        }
        return cli_mpi_agree(rc);
    }
    for (int from = 1; from < size; from++)
        for (int k = 0; k < n; k++) {
            void *data;
            uint64_t len;
            if (recv_bytes(from, &data, &len)) rc = rc ? rc : cli_error("out of memory receiving rank %d's shard", from);
            else if (!len) rc = rc ? rc : cli_error("rank %d could not send its shard", from);
            int status = rc ? 0 : softent_acc_absorb(acc[k], data, len);
            if (status) rc = cli_error("rank %d's shard: %s", from, softent_last_error());
            free(data);
        }
    return cli_mpi_agree(rc);
}

int cli_mpi_gather_failed(int n, int rc)
{
    if (size == 1) return rc;
    if (rank > 0)
        for (int k = 0; k < n; k++) send_bytes(NULL, 0);
    else
        for (int from = 1; from < size; from++)
            for (int k = 0; k < n; k++) {
                void *data;
                uint64_t len;
                recv_bytes(from, &data, &len);
                free(data);
            }
    return cli_mpi_agree(rc);
}

#else

void cli_mpi_init(int *argc, char ***argv) { (void)argc, (void)argv; }
void cli_mpi_finalize(void) {}
int cli_mpi_rank(void) { return 0; }
int cli_mpi_built(void) { return 0; }
int cli_mpi_size(void) { return 1; }
int cli_mpi_agree(int rc) { return rc; }
int cli_mpi_count(int flag) { return flag != 0; }
int cli_mpi_gather(softent_acc *const *acc, int n) { (void)acc, (void)n; return 0; }
int cli_mpi_gather_failed(int n, int rc) { (void)n; return rc; }

#endif
