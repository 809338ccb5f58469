#ifndef KCHECK_CPCRE2_SHIM_H
#define KCHECK_CPCRE2_SHIM_H
/* PCRE2 selects its code-unit width with a macro that must precede the header;
   Swift cannot set it, so it is set here: kcheck matches UTF-8 bytes only. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* PCRE2_ZERO_TERMINATED is ~(PCRE2_SIZE)0, a macro Swift does not import. */
static inline PCRE2_SIZE kcheck_pcre2_zero_terminated(void) { return PCRE2_ZERO_TERMINATED; }
/* PCRE2_UNSET marks an unset capture in the ovector. */
static inline PCRE2_SIZE kcheck_pcre2_unset(void) { return PCRE2_UNSET; }
#endif
