/* SHA-256 (FIPS 180-4) of memory and of files, for provenance: the export records the SHA-256
 * of every input file so that a result can be matched to the exact data it came from.
 *
 * A small self-contained implementation (no new dependency); tests compare it with the FIPS
 * 180-4 examples and with coreutils' sha256sum.
 */
#ifndef TSFLOW_SHA256_H
#define TSFLOW_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "tsflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Streaming state: tsf_sha256_init, any number of tsf_sha256_update, then tsf_sha256_final. */
typedef struct tsf_sha256 {
    uint32_t h[8];         /* chaining value */
    uint64_t n_bytes;      /* message length so far */
    unsigned char buf[64]; /* pending partial block */
    size_t n_buf;          /* bytes in buf */
} tsf_sha256;

void tsf_sha256_init(tsf_sha256 *c);
void tsf_sha256_update(tsf_sha256 *c, const void *data, size_t n);
/* Finish: digest (32 bytes). c must be re-initialised before reuse. */
void tsf_sha256_final(tsf_sha256 *c, unsigned char digest[32]);

/* One call over memory: hex receives 64 lowercase hex digits and a NUL. Returns hex. */
char *tsf_sha256_hex(const void *data, size_t n, char hex[65]);

/* The SHA-256 of a file's bytes as 64 lowercase hex digits (as sha256sum prints it).
 * TSF_EIO names the file when it cannot be opened or read. */
int tsf_sha256_file(const char *path, char hex[65], tsf_err *err) TSF_WUR;

#ifdef __cplusplus
}
#endif

#endif
