/* vi_cpu.c - the CPUID + XGETBV probe (see vi_cpu.h). */
/* vi_sync.h sleeps with nanosleep, a POSIX name hidden by strict -std=c99.
 * Not on Apple: there _POSIX_C_SOURCE hides the BSD types <sys/sysctl.h>
 * needs, and <time.h> declares nanosleep anyway. */
#if !defined(_WIN32) && !defined(__APPLE__) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 199309L
#endif
#include "vi_cpu.h"
#include "vi_sync.h"

#if defined(__x86_64__) || defined(_M_X64)
#  define VI_X86_64 1
#  if defined(_MSC_VER) && !defined(__clang__)
#    include <intrin.h>
#  elif defined(__GNUC__) || defined(__clang__)
#    include <cpuid.h>
#  else
#    undef VI_X86_64          /* unknown compiler: no probe, scalar only */
#  endif
#  if defined(__APPLE__)
#    include <sys/sysctl.h>
#  endif
#endif

static const char *const feature_names[VI_CPU_NFEATURES] = {
    "popcnt", "avx", "f16c", "fma", "avx2",
    "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512bf16",
};

const char *vi_cpu_feature_name(int i)
{
    return i >= 0 && i < VI_CPU_NFEATURES ? feature_names[i] : "";
}

#if defined(VI_X86_64)
static void cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
#  if defined(_MSC_VER) && !defined(__clang__)
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    r[0] = (unsigned)v[0]; r[1] = (unsigned)v[1]; r[2] = (unsigned)v[2]; r[3] = (unsigned)v[3];
#  else
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#  endif
}

/* XCR0: which register files the OS saves.  Only called when CPUID says
 * OSXSAVE is set, otherwise XGETBV faults.  Inline asm on gcc/clang so the
 * file needs no -mxsave flag. */
static uint64_t xgetbv0(void)
{
#  if defined(_MSC_VER) && !defined(__clang__)
    return (uint64_t)_xgetbv(0);
#  else
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#  endif
}

#  if defined(__APPLE__)
/* macOS enables AVX-512 state lazily, on the first AVX-512 instruction, so
 * XCR0 may not show it yet; the kernel publishes the capability instead. */
static int darwin_has(const char *name)
{
    int value = 0;
    size_t len = sizeof value;
    return sysctlbyname(name, &value, &len, NULL, 0) == 0 && value != 0;
}
#  endif

static unsigned probe(void)
{
    unsigned r[4], f = 0, max_leaf;
    cpuid(0, 0, r);
    max_leaf = r[0];
    if (max_leaf < 1) return 0;
    cpuid(1, 0, r);
    const unsigned ecx1 = r[2];
    if (ecx1 & (1u << 23)) f |= VI_CPU_POPCNT;
    /* AVX family: CPU support plus OSXSAVE plus XCR0 bits 1 (SSE) and 2 (YMM). */
    int os_ymm = 0, os_zmm = 0;
    if ((ecx1 & (1u << 27)) && (ecx1 & (1u << 28))) {
        uint64_t xcr0 = xgetbv0();
        os_ymm = (xcr0 & 0x6u) == 0x6u;
        /* bits 5-7: opmask, upper halves of ZMM0-15, ZMM16-31 */
        os_zmm = os_ymm && (xcr0 & 0xE0u) == 0xE0u;
#  if defined(__APPLE__)
        if (os_ymm && !os_zmm) os_zmm = darwin_has("hw.optional.avx512f");
#  endif
    }
    if (!os_ymm) return f;
    f |= VI_CPU_AVX;
    if (ecx1 & (1u << 29)) f |= VI_CPU_F16C;
    if (ecx1 & (1u << 12)) f |= VI_CPU_FMA;
    if (max_leaf < 7) return f;
    cpuid(7, 0, r);
    const unsigned ebx7 = r[1], max_sub7 = r[0];
    if (ebx7 & (1u << 5)) f |= VI_CPU_AVX2;
    if (!os_zmm || !(ebx7 & (1u << 16))) return f;
    f |= VI_CPU_AVX512F;
    if (ebx7 & (1u << 17)) f |= VI_CPU_AVX512DQ;
    if (ebx7 & (1u << 30)) f |= VI_CPU_AVX512BW;
    if (ebx7 & (1u << 31)) f |= VI_CPU_AVX512VL;
    if (max_sub7 >= 1) {
        cpuid(7, 1, r);
        if (r[0] & (1u << 5)) f |= VI_CPU_AVX512BF16;
    }
    return f;
}
#else
static unsigned probe(void) { return 0; }
#endif

/* Probed once; a racing second caller computes the same value, and the
 * atomics make the hand-over well defined without a lock. */
static volatile int64_t cached = -1;

unsigned vi_cpu_features(void)
{
    int64_t v = vi_atomic_load(&cached);
    if (v < 0) {
        v = (int64_t)probe();
        vi_atomic_store(&cached, v);
    }
    return (unsigned)v;
}
