/* The baseline of bench/dist.js: a plain MPI_Allreduce (sum, in place) of N float32, timed as
   bench/dist.js times kvstore pushpull: barrier, then the call; prints the median seconds on rank 0.
   With <piece> (floats), the sum goes in MPI_Allreduce calls of at most that many, as ndgrad's does,
   to show what the pieces alone are worth.
   Usage: mpirun -np 2 ./allreduce <floats> <iterations> [<piece>] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  long n = argc > 1 ? atol(argv[1]) : 16L << 20;
  int iters = argc > 2 ? atoi(argv[2]) : 20, rank;
  long piece = argc > 3 ? atol(argv[3]) : n;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  float* buf = malloc(n * sizeof(float));
  double* t = malloc(iters * sizeof(double));
  for (long i = 0; i < n; i++) buf[i] = (float)(i % 7);
  for (int k = -3; k < iters; k++) {  /* 3 rounds of warm-up */
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (long o = 0; o < n; o += piece)
      MPI_Allreduce(MPI_IN_PLACE, buf + o, (int)(n - o < piece ? n - o : piece), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    if (k >= 0) t[k] = MPI_Wtime() - t0;
  }
  qsort(t, iters, sizeof(double), cmp);
  if (rank == 0) printf("{\"median\": %.6f, \"min\": %.6f}\n", t[iters / 2], t[0]);
  free(buf);
  free(t);
  MPI_Finalize();
  return 0;
}
