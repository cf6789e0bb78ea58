/* Fuzz the document reader: untrusted bytes from any issuer.
 *
 * Beyond "does not crash", each parsed document must keep the reader's
 * promises: its byte ranges (which signatures are checked over) lie inside
 * the input and start and end where the header says, and its canonical form
 * is a fixed point of parse + write. */
#include <stdint.h>
#include <string.h>
#include <fiscalbill/fiscalbill.h>

/* A broken promise is a finding: trap so libFuzzer saves the input. */
#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* libFuzzer's entry points; declared here as the library's warnings ask. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* [off, off+len) inside [0, total), written so it cannot overflow. */
static int range_inside(size_t off, size_t len, size_t total)
{
    return off <= total && len <= total - off;
}

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* [off, off+len) opens with the start tag of name: "<name" and then what
 * may follow a name in a tag ("<Header >" is as good as "<Header>"). */
static int opens_with(const uint8_t *d, size_t off, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (len < n + 2 || d[off] != '<' || memcmp(d + off + 1, name, n) != 0)
        return 0;
    uint8_t next = d[off + 1 + n];
    return next == '>' || next == '/' || is_space(next);
}

/* [off, off+len) closes with the end tag of name, "</name" and '>' with
 * optional whitespace between. */
static int closes_with(const uint8_t *d, size_t off, size_t len, const char *name)
{
    size_t n = strlen(name), end = off + len;
    if (len == 0 || d[end - 1] != '>')
        return 0;
    end--;
    while (end > off && is_space(d[end - 1]))
        end--;
    return end - off >= n + 2 && memcmp(d + end - n - 2, "</", 2) == 0 &&
           memcmp(d + end - n, name, n) == 0;
}

static void check_fragment(const fb_document *doc, const uint8_t *d, size_t n)
{
    size_t off, len;
    fb_document_fragment(doc, &off, &len);
    REQUIRE(range_inside(off, len, n));
    /* "<Header> up to and including </EInvoiceData>" (document.h). */
    REQUIRE(opens_with(d, off, len, "Header"));
    REQUIRE(closes_with(d, off, len, "EInvoiceData"));
}

static void check_signatures(const fb_document *doc, const uint8_t *d, size_t n)
{
    size_t count = fb_document_signature_count(doc);
    REQUIRE(count <= 2);
    for (size_t i = 0; i < count; i++) {
        const char *name = NULL;
        size_t off, len;
        REQUIRE(fb_document_signature(doc, i, &name, &off, &len) == FB_OK && name);
        REQUIRE(range_inside(off, len, n));
        /* From '<' of the start tag to '>' of the end tag (or of the empty
         * element's tag), named as said. */
        REQUIRE(opens_with(d, off, len, name));
        REQUIRE(d[off + len - 1] == '>');
    }
    REQUIRE(fb_document_signature(doc, count, NULL, NULL, NULL) == FB_ENOTFOUND);
}

/* The canonical bytes must read back, and write back identically. */
static void check_idempotent(const fb_buf *canon)
{
    fb_document *again = NULL;
    REQUIRE(fb_document_parse(&again, canon->ptr, canon->size, NULL) == FB_OK);
    REQUIRE(fb_document_is_canonical(again) == 1);
    fb_buf twice = FB_BUF_INIT;
    REQUIRE(fb_document_write(again, &twice) == FB_OK);
    REQUIRE(twice.size == canon->size && memcmp(twice.ptr, canon->ptr, canon->size) == 0);
    fb_buf_dispose(&twice);
    fb_document_free(again);
}

static void check_validate(const fb_document *doc)
{
    fb_problems *problems = NULL;
    int rc = fb_bill_validate(fb_document_bill(doc), &problems);
    REQUIRE(rc == FB_OK || rc == FB_EINVALID);
    size_t count = fb_problems_count(problems);
    REQUIRE((rc == FB_OK) == (count == 0));
    for (size_t i = 0; i < count; i++)
        REQUIRE(fb_problems_path(problems, i) && fb_problems_message(problems, i));
    fb_problems_free(problems);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fb_document *doc = NULL;
    if (fb_document_parse(&doc, data, size, NULL) != FB_OK) {
        REQUIRE(doc == NULL);
        return 0;
    }
    size_t len = 0;
    const uint8_t *kept = fb_document_data(doc, &len);
    REQUIRE(len == size && memcmp(kept, data, size) == 0);
    check_validate(doc);
    check_fragment(doc, data, size);
    check_signatures(doc, data, size);

    fb_buf canon = FB_BUF_INIT;
    REQUIRE(fb_document_write(doc, &canon) == FB_OK);
    int canonical = fb_document_is_canonical(doc);
    REQUIRE(canonical == 0 || canonical == 1);
    /* Canonical means byte-identical to what the writer produces. */
    REQUIRE(canonical == (canon.size == size && memcmp(canon.ptr, data, size) == 0));
    check_idempotent(&canon);
    fb_buf_dispose(&canon);
    fb_document_free(doc);
    return 0;
}
