/*
 * mpi.h - softent across processes and nodes.  Under mpirun (Open MPI)
 * every rank runs the same command on its share of the work (rows, or
 * documents balanced by tokens) and rank 0 gathers the shards, in rank
 * order, and writes the outputs as one process would.  Built without MPI,
 * or run without mpirun, there is one rank and these are no-ops.
 */
#ifndef SOFTENT_PROGRAMS_MPI_H
#define SOFTENT_PROGRAMS_MPI_H

#include "softent.h"

/* MPI_Init (funnelled threads: only the main thread calls MPI) when built
 * with it and started by mpirun or srun; rank 0 of 1 otherwise. */
void cli_mpi_init(int *argc, char ***argv);
void cli_mpi_finalize(void);
int cli_mpi_rank(void);
/* Whether this build has MPI. */
int cli_mpi_built(void);
int cli_mpi_size(void);

/* How many ranks pass a nonzero flag (every rank calls it). */
int cli_mpi_count(int flag);

/* Every rank's status, agreed: the first nonzero one by rank, so that no
 * rank waits on one that has failed. */
int cli_mpi_agree(int rc);

/* Ranks > 0 send acc [n] (shards still taking rows, serialised); rank 0
 * absorbs rank 1's, then rank 2's, ... into its own, in order.  Every rank
 * calls it; 0 or an exit status (agreed). */
int cli_mpi_gather(softent_acc *const *acc, int n);
/* The same for a rank that failed (rc) before it had shards to send: it
 * sends or drains empty ones, so that no rank waits on it; the agreed
 * status. */
int cli_mpi_gather_failed(int n, int rc);

#endif
