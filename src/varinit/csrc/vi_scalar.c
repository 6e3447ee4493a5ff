/* vi_scalar.c - the scalar reference kernels: they DEFINE the stream's bits.
 *
 * Portable C99, compiled without ISA flags and with -ffp-contract=off (MSVC
 * /fp:precise) so no multiply-add is fused, plus -fno-trapping-math
 * -fno-math-errno (below).  Vector paths must match these bit for bit
 * (tests/test_isa.py). */
#include <math.h>   /* sqrt/sqrtf only: IEEE correctly rounded, not transcendental */
#include <string.h>
#include "vi_kernels.h"
#include "vi_normal.h"

/* Two phases per chunk of rows.  Phase 1 runs the 16 PCG32 lanes (integer
 * code, each lane an independent dependency chain).  Phase 2 maps the
 * draws to floats in a loop without control flow across elements, so the
 * compiler can vectorize it at the baseline ISA; this file is built with
 * -fno-trapping-math (the selects may then become vector blends) and
 * -fno-math-errno (sqrt needs no libm call), neither of which changes a
 * value.  The per-element arithmetic is exactly the stream's definition. */
#define VI_CHUNK_ROWS 16                 /* 256 values: phase buffers stay in L1 */

#define lane_next vi_lane_next

/* Phase 1: `rows` rows of `draws` draws per lane.  Draw j of row t of lane
 * l lands at r[j][t * 16 + l]: each lane's draws in its own order. */
static void draw_rows(vi_lanes *L, size_t rows, int draws, uint32_t r[][VI_CHUNK_ROWS * VI_LANES])
{
    for (size_t t = 0; t < rows; t++)
        for (int l = 0; l < VI_LANES; l++)
            for (int j = 0; j < draws; j++) r[j][t * VI_LANES + l] = lane_next(L, l);
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
        for (int l = 0; l < VI_LANES; l++) dst[l] = lane_next(L, l);
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

/* ---- the normal family: one candidate per lane and row ------------------ */

/* The row loop of the rejection kernels.  CANDIDATES(count) sets vals[i]
 * and keep[i] for the chunk's candidates, i = 16 * row + lane (row-major,
 * the order the stream consumes them in); the block's outputs are the kept
 * values in that order.  A row yields at most 16 outputs, so a chunk of
 * ceil(missing / 16) rows never runs past the rows the definition needs. */
#define VI_REJECTION_KERNEL(T, DRAWS, CANDIDATES)                            \
    do {                                                                     \
        uint32_t r[DRAWS][VI_CHUNK_ROWS * VI_LANES];                         \
        T vals[VI_CHUNK_ROWS * VI_LANES];                                    \
        unsigned char keep[VI_CHUNK_ROWS * VI_LANES];                        \
        size_t pos = 0, end = skip + n;                                      \
        while (pos < end) {                                                  \
            size_t rows = (end - pos + VI_LANES - 1) / VI_LANES;             \
            if (rows > VI_CHUNK_ROWS) rows = VI_CHUNK_ROWS;                  \
            size_t count = rows * VI_LANES;                                  \
            draw_rows(L, rows, (DRAWS), r);                                  \
            CANDIDATES(count);                                               \
            if (pos >= skip && pos + count <= end) {                         \
                /* branch-free compaction: acceptance is random, branches   \
                 * on it would mispredict */                                 \
                T *dst = out + (pos - skip);                                 \
                size_t k = 0;                                                \
                for (size_t i = 0; i < count; i++) { dst[k] = vals[i]; k += keep[i]; } \
                pos += k;                                                    \
            } else {                                                         \
                for (size_t i = 0; i < count && pos < end; i++) {            \
                    if (!keep[i]) continue;                                  \
                    if (pos >= skip) out[pos - skip] = vals[i];              \
                    pos++;                                                   \
                }                                                            \
            }                                                                \
        }                                                                    \
    } while (0)

/* Ziggurat candidates: layer k = g & 127, sign bit 7, magnitude
 * unit * X[k]; the fast test x < X[k+1] decides almost every candidate in
 * a loop without control flow, the rare rest go through the slow path in
 * row-major order (each lane's wedge draws in its candidates' order). */
#define VI_ZIGGURAT_KERNEL(NAME, T, DRAWS, CANDIDATES, MEAN, STD, LO, HI) \
static void NAME(vi_lanes *L, size_t skip, size_t n, T *out, const vi_params *p) \
{                                                                            \
    const T mean = p->MEAN, stddev = p->STD, lo = p->LO, hi = p->HI;         \
    const T sign_of[2] = { (T)1, (T)-1 };                                    \
    T mag[VI_CHUNK_ROWS * VI_LANES];                                         \
    unsigned char fast[VI_CHUNK_ROWS * VI_LANES];                            \
    vi_lanes W;                                                              \
    vi_wedge_lanes(L, &W);                                                   \
    VI_REJECTION_KERNEL(T, DRAWS, CANDIDATES);                               \
}
#define ZIG_CANDIDATES(count, T, BITS, UNIT, XTAB, SLOW)                     \
    for (size_t i = 0; i < (count); i++) {                                   \
        uint64_t g = BITS(r, i);                                             \
        unsigned k = (unsigned)(g & 127u);                                   \
        T x = UNIT(r, i) * XTAB[k];                                          \
        fast[i] = (unsigned char)(x < XTAB[k + 1]);                          \
        mag[i] = x;                                                          \
    }                                                                        \
    for (size_t i = 0; i < (count); i++) {                                   \
        int ok = fast[i] || SLOW(&W, (int)(i % VI_LANES), (unsigned)(BITS(r, i) & 127u), &mag[i]); \
        T z = mag[i] * sign_of[(BITS(r, i) >> 7) & 1u];   /* exact; no branch */ \
        T x = mean + stddev * z;                                             \
        vals[i] = x;                                                         \
        keep[i] = (unsigned char)(ok & (lo <= x) & (x <= hi));               \
    }

#define BITS_F32(r, i) ((uint64_t)(r)[0][i])
#define BITS_F64(r, i) (((uint64_t)(r)[0][i] << 32) | (r)[1][i])
#define UNIT_F32(r, i) vi_unit_f32((r)[0][i])
#define UNIT_F64(r, i) vi_unit_f64((r)[0][i], (r)[1][i])
#define OPEN_F32(r, j, i) vi_open_f32((r)[j][i])
#define OPEN_F64(r, j, i) vi_open_f64((r)[2 * (j)][i], (r)[2 * (j) + 1][i])

#define ZIG_F32(count) ZIG_CANDIDATES(count, float, BITS_F32, UNIT_F32, vi_zig_x_f32, vi_zig_slow_f32)
#define ZIG_F64(count) ZIG_CANDIDATES(count, double, BITS_F64, UNIT_F64, vi_zig_x_f64, vi_zig_slow_f64)
VI_ZIGGURAT_KERNEL(normal_f32, float, 1, ZIG_F32, mean_f, stddev_f, lo_f, hi_f)
VI_ZIGGURAT_KERNEL(normal_f64, double, 2, ZIG_F64, mean, stddev, lo, hi)

/* Uniform rejection: x uniform on [lo, hi], accepted with probability
 * exp(-(z^2 - c^2) / 2), z = (x - mean) / stddev, c^2 = shift. */
#define VI_FLAT_KERNEL(NAME, T, DRAWS, CANDIDATES, F)                        \
static void NAME(vi_lanes *L, size_t skip, size_t n, T *out, const vi_params *p) \
{                                                                            \
    const T lo = p->lo##F, hi = p->hi##F, width = p->width##F, mean = p->mean##F; \
    const T scale = p->scale##F, shift = p->shift##F;                        \
    VI_REJECTION_KERNEL(T, DRAWS, CANDIDATES);                               \
}
#define FLAT_CANDIDATES(count, T, UNIT, OPEN, LOG)                           \
    for (size_t i = 0; i < (count); i++) {                                   \
        T x = lo + UNIT(r, i) * width;                                       \
        x = x > hi ? hi : x;                                                 \
        T z = (x - mean) * scale;                                            \
        T q = (z * z - shift) * (T)0.5;                                      \
        T e = -LOG(OPEN(r, 1, i));                                           \
        vals[i] = x;                                                         \
        keep[i] = (unsigned char)(q < e);                                    \
    }

/* Exponential rejection from the edge `base` (Robert 1995): t ~ Exp(1) /
 * lambda, x = base + step * t, accepted with probability
 * exp(-(t + a - lambda)^2 / 2), shift = a - lambda. */
#define VI_TAIL_KERNEL(NAME, T, DRAWS, CANDIDATES, F)                        \
static void NAME(vi_lanes *L, size_t skip, size_t n, T *out, const vi_params *p) \
{                                                                            \
    const T lo = p->lo##F, hi = p->hi##F, base = p->base##F, step = p->step##F; \
    const T scale = p->scale##F, shift = p->shift##F;                        \
    VI_REJECTION_KERNEL(T, DRAWS, CANDIDATES);                               \
}
#define TAIL_CANDIDATES(count, T, OPEN, LOG)                                 \
    for (size_t i = 0; i < (count); i++) {                                   \
        T t = -LOG(OPEN(r, 0, i)) * scale;                                   \
        T x = base + step * t;                                               \
        T d = t + shift;                                                     \
        T e = -LOG(OPEN(r, 1, i));                                           \
        vals[i] = x;                                                         \
        keep[i] = (unsigned char)(((d * d) * (T)0.5 < e) & (lo <= x) & (x <= hi)); \
    }

#define FLAT_F32(count) FLAT_CANDIDATES(count, float, UNIT_F32, OPEN_F32, vi_log_f32)
#define FLAT_F64(count) FLAT_CANDIDATES(count, double, UNIT_F64, OPEN_F64, vi_log_f64)
#define TAIL_F32(count) TAIL_CANDIDATES(count, float, OPEN_F32, vi_log_f32)
#define TAIL_F64(count) TAIL_CANDIDATES(count, double, OPEN_F64, vi_log_f64)
VI_FLAT_KERNEL(normal_flat_f32, float, 2, FLAT_F32, _f)
VI_FLAT_KERNEL(normal_flat_f64, double, 4, FLAT_F64, )
VI_TAIL_KERNEL(normal_tail_f32, float, 2, TAIL_F32, _f)
VI_TAIL_KERNEL(normal_tail_f64, double, 4, TAIL_F64, )

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

const vi_kernel_table vi_kernels_scalar = VI_STANDARD_TABLE("scalar", vi_block_lanes);
