/*
 * asan_thp.c - linked into every ASan binary (the `entente` of `make test`
 * and the unit tests): before main, asks for transparent huge pages over
 * the binary's .bss.
 *
 * The sanitizer runtime is linked in statically and its .bss holds about
 * 9.5 MB of tables (the stack depot's hash tables and the like), nearly all
 * of it never touched. LeakSanitizer reads the whole of .bss at exit,
 * looking for pointers into the heap: about 1,100 read faults on untouched
 * 4 KiB pages, a fifth of the CPU of a short command, and the e2e scripts
 * start the binary thousands of times. Over a MADV_HUGEPAGE range the
 * kernel maps 2 MiB per fault (the huge zero page on a read), so the scan
 * takes a few faults. Where transparent huge pages are off ("never")
 * madvise fails and nothing changes. What is checked does not change: the
 * same memory is scanned, only mapped in larger pieces.
 */
#include <stdint.h>
#include <sys/mman.h>

extern char __bss_start[], _end[];

static void thp_bss(int argc, char **argv, char **envp) {
    (void)argc;
    (void)argv;
    (void)envp;
    uintptr_t a = ((uintptr_t)__bss_start + 4095) & ~(uintptr_t)4095;
    uintptr_t b = (uintptr_t)_end & ~(uintptr_t)4095;
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
}

/* .preinit_array: before every constructor, hence before most of what the
 * runtime writes into its tables */
__attribute__((section(".preinit_array"), used)) static void (*const thp_at)(
    int, char **, char **) = thp_bss;
