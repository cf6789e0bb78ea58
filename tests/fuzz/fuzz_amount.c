/* Fuzz amount parsing: the decimal(15,2) text of every amount in a bill.
 * What parses must format back to exactly the same bytes (the format has
 * one spelling per value) and must render in Chinese capitals. */
#include <stdint.h>
#include <string.h>
#include <fiscalbill/amount.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* libFuzzer's entry points; declared here as the library's warnings ask. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t fen = 0;
    if (fb_amount_parse_n((const char *)data, size, &fen) != FB_OK)
        return 0;
    REQUIRE(fen >= FB_AMOUNT_MIN && fen <= FB_AMOUNT_MAX);

    char text[FB_AMOUNT_BUFSIZE];
    REQUIRE(fb_amount_format(fen, text) == FB_OK);
    REQUIRE(strlen(text) == size && memcmp(text, data, size) == 0);

    char capitals[FB_CAPITALS_BUFSIZE];
    REQUIRE(fb_amount_capitals(fen, capitals, sizeof capitals) == FB_OK);
    size_t n = strnlen(capitals, sizeof capitals);
    REQUIRE(n > 0 && n < sizeof capitals);
    return 0;
}
