/* prctl(2) is variadic, which Swift cannot call: the process settings batch-runner makes at start, in C. */
#include <sys/prctl.h>
#include <sys/resource.h>

/* No core dump, ever: one would hold the client secret, tokens and customers' numbers. The core size limit goes
 * to zero (soft and hard) and the process is marked not dumpable, which also keeps other processes of the same
 * user from attaching to it or reading its memory through /proc. Answers 0, or -1 when a setting was refused. */
static inline int batch_runner_disable_core_dumps(void) {
    struct rlimit none = { 0, 0 };
    int status = setrlimit(RLIMIT_CORE, &none);
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) status = -1;
    return status;
}

/* Whether the process may dump core (prctl's view): 1 or 0. */
static inline int batch_runner_is_dumpable(void) {
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}
