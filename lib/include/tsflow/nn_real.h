/* The network's real type: float in libtsflow, double in the test-only library that the
 * central-difference gradient checks link (tests/lib/nn/meson.build builds every nn source a
 * second time with -DTSF_NN_DOUBLE).
 *
 * Everything the nn code needs from GSL goes through these names, so one source compiles both
 * ways: tsf_matrix (gsl_matrix_float or gsl_matrix), its views, and tsf_blas_gemm
 * (gsl_blas_sgemm or gsl_blas_dgemm, backed by OpenBLAS).
 *
 * So that both builds can be linked into one test executable, an nn header that declares
 * exported functions renames them in the double build with TSF_NN_SYM, e.g. in rnn.h:
 *     #define tsf_rnn_forward TSF_NN_SYM(tsf_rnn_forward)
 * (inside #ifdef TSF_NN_DOUBLE). Callers keep writing tsf_rnn_forward in both builds.
 */
#ifndef TSFLOW_NN_REAL_H
#define TSFLOW_NN_REAL_H

#include <gsl/gsl_blas.h>
#include <gsl/gsl_matrix.h>

#ifdef TSF_NN_DOUBLE

typedef double tsf_real;
#define TSF_REAL_NAME "double"
#define TSF_NN_SYM(name) name##__double

typedef gsl_matrix tsf_matrix;
typedef gsl_matrix_view tsf_matrix_view;
typedef gsl_matrix_const_view tsf_matrix_const_view;
typedef gsl_vector tsf_vector;
typedef gsl_vector_view tsf_vector_view;
typedef gsl_vector_const_view tsf_vector_const_view;
#define tsf_matrix_view_array gsl_matrix_view_array
#define tsf_matrix_view_array_with_tda gsl_matrix_view_array_with_tda
#define tsf_matrix_const_view_array gsl_matrix_const_view_array
#define tsf_matrix_const_view_array_with_tda gsl_matrix_const_view_array_with_tda
#define tsf_vector_view_array gsl_vector_view_array
#define tsf_vector_const_view_array gsl_vector_const_view_array
#define tsf_blas_gemm gsl_blas_dgemm
#define tsf_blas_gemv gsl_blas_dgemv

#else

typedef float tsf_real;
#define TSF_REAL_NAME "float"
#define TSF_NN_SYM(name) name

typedef gsl_matrix_float tsf_matrix;
typedef gsl_matrix_float_view tsf_matrix_view;
typedef gsl_matrix_float_const_view tsf_matrix_const_view;
typedef gsl_vector_float tsf_vector;
typedef gsl_vector_float_view tsf_vector_view;
typedef gsl_vector_float_const_view tsf_vector_const_view;
#define tsf_matrix_view_array gsl_matrix_float_view_array
#define tsf_matrix_view_array_with_tda gsl_matrix_float_view_array_with_tda
#define tsf_matrix_const_view_array gsl_matrix_float_const_view_array
#define tsf_matrix_const_view_array_with_tda gsl_matrix_float_const_view_array_with_tda
#define tsf_vector_view_array gsl_vector_float_view_array
#define tsf_vector_const_view_array gsl_vector_float_const_view_array
#define tsf_blas_gemm gsl_blas_sgemm
#define tsf_blas_gemv gsl_blas_sgemv

#endif

#endif
