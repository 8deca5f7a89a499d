/* Internals of the HDF5 readers (tsf__ prefix): the read deadline of tsflow/io.h's
 * tsf_hdf5_deadline. Not part of the public API. */
#ifndef TSFLOW_IO_HDF5_GUARD_H
#define TSFLOW_IO_HDF5_GUARD_H

/* Set tsf_hdf5_deadline() to seconds from now; returns the deadline it replaces, which
 * tsf__hdf5_deadline_restore puts back after the read. */
double tsf__hdf5_deadline_set(double seconds);
void tsf__hdf5_deadline_restore(double previous);

#endif
