/* check.h — the tiny test harness every C test uses. CHECK counts a pass or prints the failing
 * expression with its location; CHECK_EQ_* print both sides; check_done() prints the summary line
 * "<suite>: N passed, N failed" and returns the process exit code. Tests run from the repo root. */
#ifndef BUD_CHECK_H
#define BUD_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_npass, check_nfail;

#define CHECK(cond)                                                                     \
  do {                                                                                  \
    if (cond) check_npass++;                                                            \
    else {                                                                              \
      check_nfail++;                                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
    }                                                                                   \
  } while (0)

#define CHECK_MSG(cond, ...)                                                            \
  do {                                                                                  \
    if (cond) check_npass++;                                                            \
    else {                                                                              \
      check_nfail++;                                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);          \
      fprintf(stderr, __VA_ARGS__);                                                     \
      fputc('\n', stderr);                                                              \
    }                                                                                   \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                              \
  do {                                                                                  \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);                     \
    CHECK_MSG(check_a_ == check_b_, "%lld != %lld", check_a_, check_b_);                \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                              \
  do {                                                                                  \
    const char *check_a_ = (a), *check_b_ = (b);                                        \
    CHECK_MSG(check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0,                  \
              "\n  got:      \"%s\"\n  expected: \"%s\"", check_a_ ? check_a_ : "(null)",  \
              check_b_ ? check_b_ : "(null)");                                          \
  } while (0)

static inline int check_done(const char *suite) {
  printf("%s: %d passed, %d failed\n", suite, check_npass, check_nfail);
  return check_nfail != 0;
}

#endif
