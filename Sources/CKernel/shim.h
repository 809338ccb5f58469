#ifndef KCHECK_CKERNEL_SHIM_H
#define KCHECK_CKERNEL_SHIM_H
#include <stddef.h>
/* <sys/timex.h> is not part of Swift's Glibc module map. */
#include <sys/timex.h>

/* STA_UNSYNC is a macro with a cast Swift cannot import. */
static inline int kcheck_sta_unsync(void) { return STA_UNSYNC; }

/* Reads the kernel clock's state without changing it (modes = 0).
   Returns the clock state or -1 with errno set. */
static inline int kcheck_read_timex(long *maxerror_us, long *esterror_us, int *status) {
    struct timex tx = {0};
    int rc = adjtimex(&tx);
    if (rc < 0) return -1;
    *maxerror_us = tx.maxerror;
    *esterror_us = tx.esterror;
    *status = tx.status;
    return rc;
}

/* memmem is a GNU extension that Swift's Glibc module does not declare. */
extern void *memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen);
static inline const void *kcheck_memmem(const void *haystack, size_t haystacklen, const void *needle, size_t needlelen) {
    return memmem(haystack, haystacklen, needle, needlelen);
}
#endif
