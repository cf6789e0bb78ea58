/* remote_loop: a small signing loop for tests/cli/p11kit_remote.sh.
 *
 *   remote_loop URI COUNT [hold]
 *
 * Opens the port URI names and signs a test message until COUNT signatures
 * have succeeded, printing one line per attempt:
 *   sign N: ok (LEN bytes)
 *   sign N: error STATUS: MESSAGE
 * After a failure it waits 200 ms and tries again; after every third
 * failure in a row it closes the port and opens it again, printing
 *   reopen: ok        or   reopen: error STATUS: MESSAGE
 * It gives up after 40 failures in a row (exit 1). Between good signatures
 * it sleeps 20 ms, so that a test can act in the middle of the loop.
 *
 * With "hold", a second port on the same URI stays open the whole time, so
 * the module is never finalised: reopening the signing port then does not
 * call C_Finalize/C_Initialize. That tells apart recovery that needs a new
 * initialisation of the module from recovery within one.
 *
 * Exit status: 0 when COUNT signatures succeeded, 1 when it gave up, 2 on
 * usage errors or when the first open fails. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fiscalbill/port.h"

#define MAX_FAILURES 40

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || atoi(argv[2]) <= 0 || (argc == 4 && strcmp(argv[3], "hold"))) {
        fprintf(stderr, "usage: remote_loop URI COUNT [hold]\n");
        return 2;
    }
    /* p11-kit-client writes to its socket: once the server side is gone,
     * that raises SIGPIPE, which kills a process that does not ignore it
     * (as a signing daemon should). FBT_DEFAULT_SIGPIPE=1 keeps the default
     * to show that. */
    const char *keep = getenv("FBT_DEFAULT_SIGPIPE");
    if (!keep || strcmp(keep, "1"))
        signal(SIGPIPE, SIG_IGN);
    const char *uri = argv[1];
    int count = atoi(argv[2]);
    setvbuf(stdout, NULL, _IOLBF, 0);

    fb_port *holder = NULL, *port = NULL;
    int rc = argc == 4 ? fb_port_open(&holder, uri, NULL) : FB_OK;
    if (rc) {
        printf("open holder: error %s: %s\n", fb_status_str(rc), fb_last_error());
        return 2;
    }
    rc = fb_port_open(&port, uri, NULL);
    if (rc) {
        printf("open: error %s: %s\n", fb_status_str(rc), fb_last_error());
        fb_port_close(holder);
        return 2;
    }
    printf("open: ok: %s\n", fb_port_describe(port));

    static const char msg[] = "fiscalbill remote signing loop";
    int good = 0, failed_in_row = 0, attempt = 0;
    while (good < count) {
        if (!port) {
            rc = fb_port_open(&port, uri, NULL);
            if (rc)
                printf("reopen: error %s: %s\n", fb_status_str(rc), fb_last_error());
            else
                printf("reopen: ok\n");
        }
        if (port) {
            uint8_t sig[1024];
            size_t len = sizeof sig;
            rc = fb_port_sign(port, msg, sizeof msg - 1, sig, &len);
            attempt++;
            if (rc == FB_OK) {
                printf("sign %d: ok (%zu bytes)\n", attempt, len);
                good++;
                failed_in_row = 0;
                sleep_ms(20);
                continue;
            }
            printf("sign %d: error %s: %s\n", attempt, fb_status_str(rc), fb_last_error());
        }
        if (++failed_in_row >= MAX_FAILURES) {
            printf("giving up after %d failures in a row\n", failed_in_row);
            fb_port_close(port);
            fb_port_close(holder);
            return 1;
        }
        sleep_ms(200);
        if (port && failed_in_row % 3 == 0) {
            fb_port_close(port);
            port = NULL;
        }
    }
    printf("done: %d signatures\n", good);
    fb_port_close(port);
    fb_port_close(holder);
    return 0;
}
