/* vi_normal.h - the normal family's candidates and retries (docs/stream.md 5),
 * shared by every kernel file.
 *
 * Every block position gets exactly one value.  Its main candidate comes
 * from its lane's draws of its row; a position whose main candidate is not
 * accepted at once is finished by a fixup: its own retry generator supplies
 * the draws of the candidate's slow steps and of further candidates until
 * one is accepted.  Fixups are rare and independent of each other, so
 * vector paths may run them in any order; the scalar definitions here are
 * what they must reproduce. */
#ifndef VARINIT_VI_NORMAL_H
#define VARINIT_VI_NORMAL_H

#include "vi_stream.h"
#include "vi_ziggurat.h"
#include "vi_kernels.h"

/* The retry generator of block position p: srandom(sm(K_b, 2p + 33),
 * sm(K_b, 2p + 34)), past the lanes' sm(K_b, 1..32). */
#define VI_RETRY_FIRST 33u
VI_INLINE void vi_retry_generator(uint64_t key, uint64_t p, vi_pcg32 *g)
{
    vi_pcg32_seed(g, vi_splitmix64_at(key, 2u * p + VI_RETRY_FIRST),
                  vi_splitmix64_at(key, 2u * p + VI_RETRY_FIRST + 1u));
}

/* w = first << 32 | second of two draws: a float64 candidate's word. */
VI_INLINE uint64_t vi_next_word64(vi_pcg32 *g)
{
    uint64_t first = vi_pcg32_next(g);
    return (first << 32) | vi_pcg32_next(g);
}

VI_INLINE double vi_word_unit_f64(uint64_t w) { return (double)(w >> 11) * 0x1p-53; }
VI_INLINE double vi_word_open_f64(uint64_t w) { return (double)((w >> 10) | 1u) * 0x1p-54; }

/* ---- the ziggurat (5.2) ---------------------------------------------------- */

/* A ziggurat's tables: layer k's width X[k] and bottom height F[k] (X[128]
 * = 0, F[128] = 1).  Two exist: N(0, 1) with its tail beyond r, and N(0, 1)
 * on [-2, 2], whose lowest layers are rectangles and whose layer 0 always
 * passes the fast test (so its candidates never reach the tail step). */
typedef struct { const float *x, *f; } vi_zig_f32;
typedef struct { const double *x, *f; } vi_zig_f64;
static const vi_zig_f32 VI_ZIG_NORMAL_F32 = { vi_zig_x_f32, vi_zig_f_f32 };
static const vi_zig_f64 VI_ZIG_NORMAL_F64 = { vi_zig_x_f64, vi_zig_f_f64 };
static const vi_zig_f32 VI_ZIG_TRUNC_F32 = { vi_zigt_x_f32, vi_zigt_f_f32 };
static const vi_zig_f64 VI_ZIG_TRUNC_F64 = { vi_zigt_x_f64, vi_zigt_f_f64 };

/* The magnitude of word g and whether it passes the fast test. */
VI_INLINE int vi_zig_fast_f32(const vi_zig_f32 *Z, uint32_t g, float *x)
{
    unsigned k = g & 127u;
    *x = vi_unit_f32(g) * Z->x[k];
    return *x < Z->x[k + 1];
}

VI_INLINE int vi_zig_fast_f64(const vi_zig_f64 *Z, uint64_t g, double *x)
{
    unsigned k = (unsigned)(g & 127u);
    *x = vi_word_unit_f64(g) * Z->x[k];
    return *x < Z->x[k + 1];
}

/* The slow steps of a candidate of layer k with magnitude *x that failed
 * the fast test, drawing from g: the tail beyond r (k = 0, replaces *x,
 * never rejects) or the wedge test (1 if accepted). */
VI_INLINE int vi_zig_slow_f32(const vi_zig_f32 *Z, vi_pcg32 *g, unsigned k, float *x)
{
    if (k == 0) {
        for (;;) {
            float t = -vi_log_f32(vi_open_f32(vi_pcg32_next(g))) * VI_ZIG_R_INV_F32;
            float e = -vi_log_f32(vi_open_f32(vi_pcg32_next(g)));
            if (t * t < e + e) { *x = vi_zig_x_f32[1] + t; return 1; }
        }
    }
    float y = Z->f[k] + vi_unit_f32(vi_pcg32_next(g)) * (Z->f[k + 1] - Z->f[k]);
    return vi_log_f32(y) < (*x * *x) * -0.5f;
}

VI_INLINE int vi_zig_slow_f64(const vi_zig_f64 *Z, vi_pcg32 *g, unsigned k, double *x)
{
    if (k == 0) {
        for (;;) {
            double t = -vi_log_f64(vi_word_open_f64(vi_next_word64(g))) * VI_ZIG_R_INV_F64;
            double e = -vi_log_f64(vi_word_open_f64(vi_next_word64(g)));
            if (t * t < e + e) { *x = vi_zig_x_f64[1] + t; return 1; }
        }
    }
    double y = Z->f[k] + vi_word_unit_f64(vi_next_word64(g)) * (Z->f[k + 1] - Z->f[k]);
    return vi_log_f64(y) < (*x * *x) * -0.5;
}

/* The value of block position p whose main candidate (word w) was not
 * accepted at once: candidates from w, then from the retry generator,
 * until one passes the ziggurat and lies in [lo, hi]. */
VI_INLINE float vi_zig_fixup_f32(const vi_zig_f32 *Z, uint64_t key, uint64_t p, uint32_t w,
                                 const vi_params *P)
{
    vi_pcg32 g;
    vi_retry_generator(key, p, &g);
    for (;;) {
        float x;
        if (vi_zig_fast_f32(Z, w, &x) || vi_zig_slow_f32(Z, &g, w & 127u, &x)) {
            float v = P->mean_f + P->stddev_f * ((w >> 7) & 1u ? -x : x);
            if (P->lo_f <= v && v <= P->hi_f) return v;
        }
        w = vi_pcg32_next(&g);
    }
}

VI_INLINE double vi_zig_fixup_f64(const vi_zig_f64 *Z, uint64_t key, uint64_t p, uint64_t w,
                                  const vi_params *P)
{
    vi_pcg32 g;
    vi_retry_generator(key, p, &g);
    for (;;) {
        double x;
        if (vi_zig_fast_f64(Z, w, &x) || vi_zig_slow_f64(Z, &g, (unsigned)(w & 127u), &x)) {
            double v = P->mean + P->stddev * ((w >> 7) & 1u ? -x : x);
            if (P->lo <= v && v <= P->hi) return v;
        }
        w = vi_next_word64(&g);
    }
}

/* The kernels normal_f32 ... normal_trunc_f64 of a vector file from its
 * ziggurat kernels F32(L, skip, n, out, p, tables) and F64(...). */
#define VI_ZIGGURAT_SLOTS_FROM(F32, F64)                                     \
static void normal_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p) \
{ F32(L, skip, n, out, p, &VI_ZIG_NORMAL_F32); }                             \
static void normal_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p) \
{ F64(L, skip, n, out, p, &VI_ZIG_NORMAL_F64); }                             \
static void normal_trunc_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p) \
{ F32(L, skip, n, out, p, &VI_ZIG_TRUNC_F32); }                              \
static void normal_trunc_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p) \
{ F64(L, skip, n, out, p, &VI_ZIG_TRUNC_F64); }

/* ---- uniform rejection (5.3) and exponential rejection (5.4) ----------------- */

/* A candidate from draws (d1, d2) (float64: words w1, w2): 1 and *x if
 * accepted. */
VI_INLINE int vi_flat_f32(uint32_t d1, uint32_t d2, const vi_params *P, float *x)
{
    float v = P->lo_f + vi_unit_f32(d1) * P->width_f;
    v = v > P->hi_f ? P->hi_f : v;
    float z = (v - P->mean_f) * P->scale_f;
    float q = (z * z - P->shift_f) * 0.5f;
    *x = v;
    return q < -vi_log_f32(vi_open_f32(d2));
}

VI_INLINE int vi_flat_f64(uint64_t w1, uint64_t w2, const vi_params *P, double *x)
{
    double v = P->lo + vi_word_unit_f64(w1) * P->width;
    v = v > P->hi ? P->hi : v;
    double z = (v - P->mean) * P->scale;
    double q = (z * z - P->shift) * 0.5;
    *x = v;
    return q < -vi_log_f64(vi_word_open_f64(w2));
}

VI_INLINE int vi_tail_f32(uint32_t d1, uint32_t d2, const vi_params *P, float *x)
{
    float t = -vi_log_f32(1.0f - vi_unit_f32(d1) * P->cut_f) * P->scale_f;
    float v = P->base_f + P->step_f * t;
    float d = t + P->shift_f;
    *x = v;
    return ((d * d) * 0.5f < -vi_log_f32(vi_open_f32(d2))) & (P->lo_f <= v) & (v <= P->hi_f);
}

VI_INLINE int vi_tail_f64(uint64_t w1, uint64_t w2, const vi_params *P, double *x)
{
    double t = -vi_log_f64(1.0 - vi_word_unit_f64(w1) * P->cut) * P->scale;
    double v = P->base + P->step * t;
    double d = t + P->shift;
    *x = v;
    return ((d * d) * 0.5 < -vi_log_f64(vi_word_open_f64(w2))) & (P->lo <= v) & (v <= P->hi);
}

/* The value of block position p whose main candidate was rejected: new
 * candidates from its retry generator until one is accepted. */
#define VI_REJECTION_FIXUP(NAME, T, WORD, CANDIDATE, NEXT)                   \
VI_INLINE T NAME(uint64_t key, uint64_t p, const vi_params *P)               \
{                                                                            \
    vi_pcg32 g;                                                              \
    vi_retry_generator(key, p, &g);                                          \
    for (;;) {                                                               \
        T x;                                                                 \
        WORD first = NEXT(&g);                                               \
        if (CANDIDATE(first, NEXT(&g), P, &x)) return x;                     \
    }                                                                        \
}
VI_REJECTION_FIXUP(vi_flat_fixup_f32, float, uint32_t, vi_flat_f32, vi_pcg32_next)
VI_REJECTION_FIXUP(vi_tail_fixup_f32, float, uint32_t, vi_tail_f32, vi_pcg32_next)
VI_REJECTION_FIXUP(vi_flat_fixup_f64, double, uint64_t, vi_flat_f64, vi_next_word64)
VI_REJECTION_FIXUP(vi_tail_fixup_f64, double, uint64_t, vi_tail_f64, vi_next_word64)

/* ---- the fixup list of a vector kernel -------------------------------------- */

/* The positions of row `row` inside [skip, end), without branches. */
VI_INLINE unsigned row_range(size_t row, size_t skip, size_t end)
{
    size_t r0 = row * VI_LANES;
    size_t below = skip > r0 ? skip - r0 : 0, upto = end > r0 ? end - r0 : 0;
    below = below < VI_LANES ? below : VI_LANES;
    upto = upto < VI_LANES ? upto : VI_LANES;
    return ((1u << upto) - 1u) & ~((1u << below) - 1u);
}

/* Per row of a call (from row `first`), the positions needing a fixup; the
 * main path writes one mask per row at a fixed place (no data-dependent
 * store addresses in the hot loop), the fixup pass lists them. */
typedef struct {
    size_t first;
    uint16_t need[VI_BLOCK / VI_LANES];
} fix_rows;

/* The block positions needing a fixup, in row-major order. */
VI_INLINE size_t fix_list(const fix_rows *F, size_t rows, uint32_t *pos)
{
    size_t k = 0;
    for (size_t r = 0; r < rows; r++)
        for (unsigned m = F->need[r]; m; m &= m - 1)
            pos[k++] = (uint32_t)((F->first + r) * VI_LANES + (size_t)vi_ctz32(m));
    return k;
}

#endif
