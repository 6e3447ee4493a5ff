/* vi_dispatch.c - kernel tables by name, and what the CPU lacks for each. */
/* vi_sync.h sleeps with nanosleep, a POSIX name hidden by strict -std=c99. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 199309L
#endif
#include <string.h>
#include "vi_cpu.h"
#include "vi_dispatch.h"
#include "vi_sync.h"

/* The x86 tables exist only when setup.py compiled the ISA files
 * (VI_X86_KERNELS) and this translation unit targets x86-64; a universal
 * macOS build compiles the ISA files empty for its arm64 slice. */
#if defined(VI_X86_KERNELS) && (defined(__x86_64__) || defined(_M_X64))
#  define VI_HAVE_X86_TABLES 1
#endif

typedef struct {
    const char *name;
    const vi_kernel_table *table;
    unsigned needs;                    /* vi_cpu.h feature bits */
} vi_path;

/* Slowest first; the best path is the last one the machine runs.  The
 * AVX2 path is x86-64-v3's vector subset; the AVX-512 path adds
 * x86-64-v4's F/DQ/BW/VL, and its file is also built with the AVX2 flags,
 * so the compiler may use those instructions there too. */
static const vi_path paths[] = {
    { "scalar", &vi_kernels_scalar, 0u },
#if defined(VI_HAVE_X86_TABLES)
    { "avx2", &vi_kernels_avx2,
      VI_CPU_POPCNT | VI_CPU_AVX | VI_CPU_F16C | VI_CPU_FMA | VI_CPU_AVX2 },
    { "avx512", &vi_kernels_avx512,
      VI_CPU_POPCNT | VI_CPU_AVX | VI_CPU_F16C | VI_CPU_FMA | VI_CPU_AVX2 |
      VI_CPU_AVX512F | VI_CPU_AVX512DQ | VI_CPU_AVX512BW | VI_CPU_AVX512VL },
#endif
};
#define NPATHS ((int)(sizeof paths / sizeof paths[0]))

/* Text built once from the probe: the feature list and, per path, what is
 * missing.  Built before `ready` is published, read-only afterwards. */
static char features_text[160];
static char missing_text[sizeof paths / sizeof paths[0]][160];
static volatile int64_t claimed = 0, ready = 0;

static void append(char *buf, size_t cap, const char *word)
{
    size_t len = strlen(buf), w = strlen(word);
    if (len + w + 2 > cap) return;     /* cannot happen with these sizes */
    if (len) buf[len++] = ' ';
    memcpy(buf + len, word, w + 1);
}

static void init_text(void)
{
    if (vi_atomic_load(&ready)) return;
    if (vi_atomic_add(&claimed, 1) != 0) {   /* another thread builds it */
        while (!vi_atomic_load(&ready)) vi_wait_briefly();
        return;
    }
    unsigned have = vi_cpu_features();
    for (int i = 0; i < VI_CPU_NFEATURES; i++)
        if (have & (1u << i)) append(features_text, sizeof features_text, vi_cpu_feature_name(i));
    for (int p = 0; p < NPATHS; p++)
        for (int i = 0; i < VI_CPU_NFEATURES; i++)
            if ((paths[p].needs & ~have) & (1u << i))
                append(missing_text[p], sizeof missing_text[p], vi_cpu_feature_name(i));
    vi_atomic_store(&ready, 1);
}

static int find(const char *name)
{
    for (int p = 0; p < NPATHS; p++)
        if (strcmp(paths[p].name, name) == 0) return p;
    return -1;
}

const vi_kernel_table *vi_kernel_table_named(const char *name)
{
    int p = find(name);
    if (p < 0) return NULL;
    return (paths[p].needs & ~vi_cpu_features()) == 0 ? paths[p].table : NULL;
}

const char *vi_best_kernel_name(void)
{
    unsigned have = vi_cpu_features();
    for (int p = NPATHS - 1; p > 0; p--)
        if ((paths[p].needs & ~have) == 0) return paths[p].name;
    return paths[0].name;
}

const char *vi_missing_features(const char *name)
{
    int p = find(name);
    if (p < 0) return NULL;
    init_text();
    return missing_text[p];
}

const char *vi_cpu_features_string(void)
{
    init_text();
    return features_text;
}
