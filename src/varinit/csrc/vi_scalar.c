/* vi_scalar.c - the scalar reference kernels: they DEFINE the stream's bits.
 *
 * Portable C99, compiled without ISA flags and with -ffp-contract=off (MSVC
 * /fp:precise) so no multiply-add is fused, plus -fno-trapping-math
 * -fno-math-errno (below).  Vector paths must match these bit for bit
 * (tests/test_isa.py). */
#include "vi_kernels.h"
#include "vi_normal.h"

/* Two phases per chunk of rows.  Phase 1 runs the 16 PCG32 lanes (integer
 * code, each lane an independent dependency chain).  Phase 2 maps the
 * draws to floats in a loop without control flow across elements, so the
 * compiler can vectorize it at the baseline ISA; this file is built with
 * -fno-trapping-math (the selects may then become vector blends) and
 * -fno-math-errno, neither of which changes a value.  The per-element
 * arithmetic is exactly the stream's definition. */
#define VI_CHUNK_ROWS 16                 /* 256 values: phase buffers stay in L1 */

/* Phase 1: `rows` rows of `draws` draws per lane.  Draw j of row t of lane
 * l lands at r[j][t * 16 + l]: each lane's draws in its own order. */
static void draw_rows(vi_lanes *L, size_t rows, int draws, uint32_t r[][VI_CHUNK_ROWS * VI_LANES])
{
    for (size_t t = 0; t < rows; t++)
        for (int l = 0; l < VI_LANES; l++)
            for (int j = 0; j < draws; j++) r[j][t * VI_LANES + l] = vi_lane_next(L, l);
}

/* The rows [t, t + rows) of a fill of block elements [skip, end): values
 * vals[0 ..) start at element 16t; copy what falls in the range. */
#define VI_EMIT_ROWS(vals, t, rows, skip, end, out)                          \
    do {                                                                     \
        size_t r0_ = (t) * VI_LANES, r1_ = r0_ + (rows) * VI_LANES;          \
        size_t lo_ = r0_ < (skip) ? (skip) : r0_, hi_ = r1_ > (end) ? (end) : r1_; \
        for (size_t i_ = lo_; i_ < hi_; i_++) (out)[i_ - (skip)] = (vals)[i_ - r0_]; \
    } while (0)

/* The row loop of the kernels with one value per lane and row: rows [t, t_end),
 * DRAWS draws per lane and row, TRANSFORM(dst, count) writes the values of
 * the chunk's r[][] to dst.  Chunks wholly inside [skip, end) are written
 * in place, the partial first and last through a buffer. */
#define VI_ROW_KERNEL(T, DRAWS, TRANSFORM)                                   \
    do {                                                                     \
        size_t end = skip + n, t = skip / VI_LANES;                          \
        size_t t_end = (end + VI_LANES - 1) / VI_LANES;                      \
        uint32_t r[DRAWS][VI_CHUNK_ROWS * VI_LANES];                         \
        vi_lanes_advance(L, (uint64_t)t * (DRAWS));                          \
        while (t < t_end) {                                                  \
            size_t rows = t_end - t < VI_CHUNK_ROWS ? t_end - t : VI_CHUNK_ROWS; \
            draw_rows(L, rows, (DRAWS), r);                                  \
            if (t * VI_LANES >= skip && (t + rows) * VI_LANES <= end) {      \
                TRANSFORM(out + (t * VI_LANES - skip), rows * VI_LANES);     \
            } else {                                                         \
                T vals_[VI_CHUNK_ROWS * VI_LANES];                           \
                TRANSFORM(vals_, rows * VI_LANES);                           \
                VI_EMIT_ROWS(vals_, t, rows, skip, end, out);                \
            }                                                                \
            t += rows;                                                       \
        }                                                                    \
    } while (0)

static void raw_u32(vi_lanes *L, size_t skip, size_t n, uint32_t *out)
{
    size_t end = skip + n, t = skip / VI_LANES, t_end = (end + VI_LANES - 1) / VI_LANES;
    vi_lanes_advance(L, t);
    for (; t < t_end; t++) {
        uint32_t row[VI_LANES];
        int whole = t * VI_LANES >= skip && (t + 1) * VI_LANES <= end;
        uint32_t *dst = whole ? out + (t * VI_LANES - skip) : row;
        for (int l = 0; l < VI_LANES; l++) dst[l] = vi_lane_next(L, l);
        if (!whole) VI_EMIT_ROWS(row, t, 1, skip, end, out);
    }
}

/* x = base + u * width, then min(x, top): values in [base, top]. */
static void uniform_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p)
{
    const float base = p->base_f, width = p->width_f, top = p->top_f;
#define UNIFORM_F32(dst, count)                                              \
    for (size_t i = 0; i < (count); i++) {                                   \
        float v = base + vi_unit_f32(r[0][i]) * width;                       \
        (dst)[i] = v > top ? top : v;                                        \
    }
    VI_ROW_KERNEL(float, 1, UNIFORM_F32);
}

static void uniform_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p)
{
    const double base = p->base, width = p->width, top = p->top;
#define UNIFORM_F64(dst, count)                                              \
    for (size_t i = 0; i < (count); i++) {                                   \
        double v = base + vi_unit_f64(r[0][i], r[1][i]) * width;             \
        (dst)[i] = v > top ? top : v;                                        \
    }
    VI_ROW_KERNEL(double, 2, UNIFORM_F64);
}

/* ---- the normal family: one value per position ---------------------------- */

/* Each position's main candidate from its lane's draws of its row; one not
 * accepted at once goes to its fixup (vi_normal.h).  Position of value i of
 * a chunk: 16t + i, t the chunk's first row (VI_ROW_KERNEL). */
#define BITS_F64(r, i) (((uint64_t)(r)[0][i] << 32) | (r)[1][i])
#define BITS2_F64(r, i) (((uint64_t)(r)[2][i] << 32) | (r)[3][i])

/* The ziggurat kernels of both tables (vi_normal.h). */
#define ZIG_F32(dst, count)                                                  \
    for (size_t i = 0; i < (count); i++) {                                   \
        uint32_t w = r[0][i];                                                \
        float x;                                                             \
        int fast = vi_zig_fast_f32(Z, w, &x);                                \
        float v = mean + stddev * (x * sign_of[(w >> 7) & 1u]);  /* exact sign, no branch */ \
        (dst)[i] = fast & (lo <= v) & (v <= hi) ? v                          \
                 : vi_zig_fixup_f32(Z, L->key, t * VI_LANES + i, w, p);       \
    }
#define ZIG_F64(dst, count)                                                  \
    for (size_t i = 0; i < (count); i++) {                                   \
        uint64_t w = BITS_F64(r, i);                                         \
        double x;                                                            \
        int fast = vi_zig_fast_f64(Z, w, &x);                                \
        double v = mean + stddev * (x * sign_of[(w >> 7) & 1u]);             \
        (dst)[i] = fast & (lo <= v) & (v <= hi) ? v                          \
                 : vi_zig_fixup_f64(Z, L->key, t * VI_LANES + i, w, p);       \
    }
#define ZIGGURAT_KERNELS(NAME, TABLES_F32, TABLES_F64)                       \
static void NAME##_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p) \
{                                                                            \
    const vi_zig_f32 *Z = &TABLES_F32;                                       \
    const float mean = p->mean_f, stddev = p->stddev_f, lo = p->lo_f, hi = p->hi_f; \
    const float sign_of[2] = { 1.0f, -1.0f };                                \
    VI_ROW_KERNEL(float, 1, ZIG_F32);                                        \
}                                                                            \
static void NAME##_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p) \
{                                                                            \
    const vi_zig_f64 *Z = &TABLES_F64;                                       \
    const double mean = p->mean, stddev = p->stddev, lo = p->lo, hi = p->hi; \
    const double sign_of[2] = { 1.0, -1.0 };                                 \
    VI_ROW_KERNEL(double, 2, ZIG_F64);                                       \
}
ZIGGURAT_KERNELS(normal, VI_ZIG_NORMAL_F32, VI_ZIG_NORMAL_F64)
ZIGGURAT_KERNELS(normal_trunc, VI_ZIG_TRUNC_F32, VI_ZIG_TRUNC_F64)

/* Uniform rejection and exponential rejection: the main candidate from
 * two draws (float64: four) of its lane, its fixup if rejected. */
#define CANDIDATES(dst, count, T, W1, W2, CANDIDATE, FIXUP)                  \
    for (size_t i = 0; i < (count); i++) {                                   \
        T x;                                                                 \
        (dst)[i] = CANDIDATE(W1(r, i), W2(r, i), p, &x) ? x                  \
                 : FIXUP(L->key, t * VI_LANES + i, p);                        \
    }
#define W1_F32(r, i) (r)[0][i]
#define W2_F32(r, i) (r)[1][i]
#define FLAT_F32(dst, count) CANDIDATES(dst, count, float, W1_F32, W2_F32, vi_flat_f32, vi_flat_fixup_f32)
#define TAIL_F32(dst, count) CANDIDATES(dst, count, float, W1_F32, W2_F32, vi_tail_f32, vi_tail_fixup_f32)
#define FLAT_F64(dst, count) CANDIDATES(dst, count, double, BITS_F64, BITS2_F64, vi_flat_f64, vi_flat_fixup_f64)
#define TAIL_F64(dst, count) CANDIDATES(dst, count, double, BITS_F64, BITS2_F64, vi_tail_f64, vi_tail_fixup_f64)

static void normal_flat_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p)
{ VI_ROW_KERNEL(float, 2, FLAT_F32); }
static void normal_tail_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p)
{ VI_ROW_KERNEL(float, 2, TAIL_F32); }
static void normal_flat_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p)
{ VI_ROW_KERNEL(double, 4, FLAT_F64); }
static void normal_tail_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p)
{ VI_ROW_KERNEL(double, 4, TAIL_F64); }

#define VI_NARROW_KERNEL(NAME, CONVERT)                                      \
void NAME(const float *in, size_t n, uint16_t *out, const vi_params *p)     \
{                                                                            \
    const int32_t klo = vi_half_key(p->clamp_lo), khi = vi_half_key(p->clamp_hi); \
    for (size_t i = 0; i < n; i++) {                                         \
        uint16_t h = CONVERT(in[i]);                                         \
        int32_t k = vi_half_key(h);                                          \
        out[i] = k < klo ? p->clamp_lo : (k > khi ? p->clamp_hi : h);        \
    }                                                                        \
}

VI_NARROW_KERNEL(vi_scalar_narrow_f16, vi_f32_to_f16)
VI_NARROW_KERNEL(vi_scalar_narrow_bf16, vi_f32_to_bf16)

/* float8: the sign-magnitude key of an 8-bit pattern orders its values. */
VI_INLINE int32_t key8(uint32_t b) { return (b & 0x80u) ? -(int32_t)(b & 0x7Fu) : (int32_t)b; }
#define VI_NARROW8_KERNEL(NAME, E, M, MAX)                                   \
void NAME(const float *in, size_t n, uint8_t *out, const vi_params *p)      \
{                                                                            \
    const int32_t klo = key8(p->clamp_lo), khi = key8(p->clamp_hi);          \
    for (size_t i = 0; i < n; i++) {                                         \
        uint8_t b = vi_f32_to_f8(in[i], E, M, MAX);                          \
        int32_t k = key8(b);                                                 \
        out[i] = k < klo ? (uint8_t)p->clamp_lo : (k > khi ? (uint8_t)p->clamp_hi : b); \
    }                                                                        \
}
VI_NARROW8_KERNEL(vi_scalar_narrow_f8e4m3, 4, 3, 0x7Eu)
VI_NARROW8_KERNEL(vi_scalar_narrow_f8e5m2, 5, 2, 0x7Bu)
VI_STANDARD_SLOTS(vi_scalar_narrow_f16, vi_scalar_narrow_bf16)

/* The kernels vector files forward to (VI_SCALAR_KERNEL_DECLARE). */
#define EXPORT_KERNELS(DIST)                                                 \
    void vi_scalar_##DIST##_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p) \
    { DIST##_f32(L, skip, n, out, p); }                                      \
    void vi_scalar_##DIST##_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p) \
    { DIST##_f64(L, skip, n, out, p); }
EXPORT_KERNELS(normal)
EXPORT_KERNELS(normal_flat)
EXPORT_KERNELS(normal_tail)
EXPORT_KERNELS(normal_trunc)

const vi_kernel_table vi_kernels_scalar = VI_STANDARD_TABLE("scalar", vi_block_lanes);
