// The few CBLAS / LAPACK / OpenBLAS entry points the core uses, declared here so that the build needs
// only the OpenBLAS library (libopenblas exports cblas_*, the Fortran LAPACK symbols and openblas_*),
// not a particular cblas.h (Debian's lives in /usr/include/x86_64-linux-gnu, others elsewhere).
// The CBLAS enums are passed as ints with their standard values.
#pragma once

extern "C" {

enum { CP_CblasRowMajor = 101, CP_CblasColMajor = 102 };
enum { CP_CblasNoTrans = 111, CP_CblasTrans = 112 };
enum { CP_CblasUpper = 121, CP_CblasLower = 122 };

// C := alpha * A^T A + beta * C (trans = Trans, A is n x k row-major ... see CBLAS).
void cblas_dsyrk(int order, int uplo, int trans, int n, int k, double alpha, const double* a, int lda,
                 double beta, double* c, int ldc);
void cblas_dgemm(int order, int transA, int transB, int m, int n, int k, double alpha, const double* a,
                 int lda, const double* b, int ldb, double beta, double* c, int ldc);
void cblas_dgemv(int order, int trans, int m, int n, double alpha, const double* a, int lda,
                 const double* x, int incx, double beta, double* y, int incy);

// LAPACK (Fortran calling convention; libopenblas includes LAPACK).
void dposv_(const char* uplo, const int* n, const int* nrhs, double* a, const int* lda, double* b,
            const int* ldb, int* info);

// OpenBLAS extensions.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}
