/* malloc_counter.c -- LD_PRELOAD shim for test_no_alloc.py: counts malloc/calloc/realloc calls
 * in the whole process and writes the count to stderr on SIGUSR2 ("mallocs=N"), so a test can
 * check that answering queries allocates nothing.
 * In a sanitizer build the sanitizer's allocator comes first (it is preloaded ahead of this
 * shim), so the malloc below is never reached; the shim then counts through the allocator's own
 * hooks (__sanitizer_install_malloc_and_free_hooks), which see every malloc, calloc, realloc and
 * operator new of the process. */
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

static void count_sanitizer_malloc(const volatile void* p, size_t n) {
  (void)p;
  (void)n;
  atomic_fetch_add(&calls, 1);
}

static void ignore_free(const volatile void* p) { (void)p; }

__attribute__((constructor)) static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = report;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR2, &sa, NULL);
  typedef int (*install_hooks_fn)(void (*)(const volatile void*, size_t),
                                  void (*)(const volatile void*));
  install_hooks_fn install_hooks =
      (install_hooks_fn)dlsym(RTLD_DEFAULT, "__sanitizer_install_malloc_and_free_hooks");
  if (install_hooks && !install_hooks(count_sanitizer_malloc, ignore_free)) {
    static const char message[] = "malloc_counter: cannot install the sanitizer malloc hook\n";
    (void)!write(2, message, sizeof message - 1);
  }
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
