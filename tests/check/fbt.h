/* Shared pieces of the Check suites: every suite file defines fbt_suite(),
 * and fbt_main.c runs it. */
#ifndef FBT_H
#define FBT_H

#include <check.h>
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include "fiscalbill/fiscalbill.h"

Suite *fbt_suite(void);

/* A valid medical outpatient bill with two items, built through the API. */
fb_bill *fbt_sample_bill(void);

/* Read a whole file; the caller frees *data. Fails the test on error. */
void fbt_read_file(const char *path, uint8_t **data, size_t *len);

/* Path of a file in the source tree: FBT_SOURCE_DIR "/" rel. */
const char *fbt_source_path(const char *rel);

/* Validate a document against specs/bill.xsd; returns 0 when valid and
 * otherwise fills why. */
int fbt_xsd_validate(const uint8_t *doc, size_t len, char *why, size_t why_size);

/* Bytes of a test input, NUL-terminated past n. */
typedef struct fbt_bytes {
    uint8_t *p;
    size_t n;
} fbt_bytes;

/* specs/examples/NAME.xml */
fbt_bytes fbt_golden(const char *name);
fbt_bytes fbt_bytes_of(const void *p, size_t n);
/* Offset of the first needle in b; fails the test when there is none. */
size_t fbt_find(const fbt_bytes *b, const char *needle);

/* Run a shell command with its output (stdout and stderr) captured in out,
 * through a file in dir. Returns its exit status, 128+signal when killed,
 * -1 when it could not run. */
int fbt_run_command(const char *dir, const char *cmd, char *out, size_t out_size);

#endif
