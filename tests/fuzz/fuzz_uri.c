/* Fuzz the PKCS#11 URI parser (lib/ports/p11uri.c), which reads port URIs
 * from configuration files and command lines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ports/p11uri.h"

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* libFuzzer's entry points; declared here as the library's warnings ask. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The description goes into messages: terminated whatever the URI held,
 * even when cut short. */
static void check_describe(const fb_p11uri *uri)
{
    char small[16], large[1024];
    fb_p11uri_describe(uri, small, sizeof small);
    REQUIRE(memchr(small, '\0', sizeof small));
    fb_p11uri_describe(uri, large, sizeof large);
    REQUIRE(memchr(large, '\0', sizeof large));
    REQUIRE(strncmp(large, "pkcs11:", 7) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The parser takes a C string: cut at the first NUL, as a caller would. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    fb_p11uri uri;
    if (fb_p11uri_parse(text, &uri) == 0) {
        REQUIRE(!(uri.pin_source && uri.pin_value));
        REQUIRE(uri.id || uri.id_len == 0);
        check_describe(&uri);
        fb_p11uri_free(&uri);
    } else {
        /* A failed parse leaves nothing behind (and freeing again is safe). */
        REQUIRE(!uri.token && !uri.pin_value && !uri.id && !uri.module_path);
        fb_p11uri_free(&uri);
    }
    free(text);
    return 0;
}
