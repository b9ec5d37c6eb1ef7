/* malloc_counter.c -- LD_PRELOAD shim for test_no_alloc.py: counts malloc/calloc/realloc calls
 * in the whole process and writes the count to stderr on SIGUSR2 ("mallocs=N"), so a test can
 * check that answering queries allocates nothing. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong calls;

static void report(int sig) {
  (void)sig;
  char line[64];
  int n = snprintf(line, sizeof line, "mallocs=%lu\n", (unsigned long)atomic_load(&calls));
  if (n > 0) (void)!write(2, line, (size_t)n);
}

__attribute__((constructor)) static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = report;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR2, &sa, NULL);
}

void* malloc(size_t n) {
  static void* (*real)(size_t);
  if (!real) real = (void* (*)(size_t))dlsym(RTLD_NEXT, "malloc");
  atomic_fetch_add(&calls, 1);
  return real(n);
}

void* realloc(void* p, size_t n) {
  static void* (*real)(void*, size_t);
  if (!real) real = (void* (*)(void*, size_t))dlsym(RTLD_NEXT, "realloc");
  atomic_fetch_add(&calls, 1);
  return real(p, n);
}
