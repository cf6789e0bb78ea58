/* fbill: shared pieces of the command-line program. */
#ifndef FBILL_CLI_H
#define FBILL_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <fiscalbill/fiscalbill.h>

/* Exit codes shared by every command. */
enum {
    EXIT_OK = 0,
    EXIT_BAD_BILL = 1, /* a bill is invalid, or is not a bill document */
    EXIT_USAGE = 2     /* wrong arguments, or input that could not be read */
};

typedef int (*command_fn)(int argc, char **argv);

int cmd_check(int argc, char **argv);
int cmd_format(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_issue(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Append text to a buffer (the public API fills buffers; fbill writes
 * reports into its own). */
void cli_buf_puts(fb_buf *buf, const char *s);

/* Read a whole file of at most max bytes; -1 with the reason in why. */
int cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len, char *why,
                  size_t why_size);

/* Print "fbill: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write data to path atomically: a temporary file in the same directory,
 * flushed, then renamed over path. On failure nothing is left behind. */
int cli_write_atomic(const char *path, const void *data, size_t len);

/* Exit code for a failed fb_document_load: unreadable files are usage
 * errors, bad documents are bad bills. */
int cli_load_exit(int status);

/* Sample bills. The kinds table supplies kind codes; a kind whose code is
 * not configured gets an empty EInvoiceCode and *code_missing is set. */
int sample_bill(const fb_kinds *kinds, const char *slug, fb_bill **out, bool *code_missing);

/* The kinds the demo and the golden examples use, with the example local
 * codes of specs/examples/kinds.conf for the kinds whose codes are not public. */
extern const char *const sample_slugs[];
extern const size_t sample_slug_count;
extern const char sample_kinds_conf[];

/* Render a bill for a person (fbill show). sig_count is the number of
 * signature nodes the document holds; state, when not NULL, is the
 * verification state line. */
void show_bill(FILE *out, const fb_bill *bill, size_t sig_count, const char *state);

#endif
