/* Runs the suite of one test program and exits non-zero on any failure. */
#include <stdlib.h>
#include "fbt.h"

int main(void)
{
    SRunner *runner = srunner_create(fbt_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
