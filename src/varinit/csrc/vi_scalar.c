/* vi_scalar.c - the scalar reference kernels: they DEFINE the stream's bits.
 *
 * Portable C99, compiled without ISA flags and with -ffp-contract=off (MSVC
 * /fp:precise) so no multiply-add is fused, plus -fno-trapping-math
 * -fno-math-errno (below).  Vector paths must match these bit for bit
 * (tests/test_isa.py). */
#include <math.h>   /* sqrt/sqrtf only: IEEE correctly rounded, not transcendental */
#include <string.h>
#include "vi_kernels.h"

/* Two phases per chunk of rows.  Phase 1 runs the 16 PCG32 lanes (integer
 * code, each lane an independent dependency chain).  Phase 2 maps the
 * draws to floats in a loop without control flow across elements, so the
 * compiler can vectorize it at the baseline ISA; this file is built with
 * -fno-trapping-math (the selects may then become vector blends) and
 * -fno-math-errno (sqrt needs no libm call), neither of which changes a
 * value.  The per-element arithmetic is exactly the stream's definition. */
#define VI_CHUNK_ROWS 16                 /* 256 values: phase buffers stay in L1 */

VI_INLINE uint32_t lane_next(vi_lanes *L, int l)
{
    uint64_t old = L->state[l];
    L->state[l] = old * VI_PCG32_MULT + L->inc[l];
    return vi_pcg32_output(old);
}

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

/* Marsaglia's polar method with rejection.  Per row, every lane draws a
 * point (u, v) in (-1, 1)^2; lanes with s = u^2 + v^2 < 1 give the pair
 * x = mean + stddev*(u*f), y = mean + stddev*(v*f), f = sqrt(-2 ln(s) / s).
 * The row's outputs are the accepted x (lo <= x <= hi) in lane order, then
 * the accepted y in lane order.  The block's outputs are its rows' outputs
 * in order; a block generates rows until it has skip + n outputs.
 *
 * Phase 2 computes every lane's pair and acceptance flags (rejected lanes
 * compute garbage that is never used); phase 3 compacts row by row.  A row
 * yields at most 32 outputs, so a chunk of ceil(missing / 32) rows never
 * runs past the rows the definition generates. */
#define VI_POLAR_KERNEL(NAME, T, SIGNED, DRAWS, LOG, SQRT, MEAN, STD, LO, HI) \
static void NAME(vi_lanes *L, size_t skip, size_t n, T *out, const vi_params *p) \
{                                                                            \
    const T mean = p->MEAN, stddev = p->STD, lo = p->LO, hi = p->HI;         \
    uint32_t r[2 * (DRAWS)][VI_CHUNK_ROWS * VI_LANES];                       \
    T xs[VI_CHUNK_ROWS * VI_LANES], ys[VI_CHUNK_ROWS * VI_LANES];            \
    unsigned char keep_x[VI_CHUNK_ROWS * VI_LANES], keep_y[VI_CHUNK_ROWS * VI_LANES]; \
    size_t pos = 0, end = skip + n;                                          \
    while (pos < end) {                                                      \
        size_t rows = (end - pos + 2 * VI_LANES - 1) / (2 * VI_LANES);       \
        if (rows > VI_CHUNK_ROWS) rows = VI_CHUNK_ROWS;                      \
        draw_rows(L, rows, 2 * (DRAWS), r);                                  \
        for (size_t i = 0; i < rows * VI_LANES; i++) {                       \
            T u = SIGNED(r, 0, i), v = SIGNED(r, DRAWS, i);                  \
            T s = u * u + v * v;                                             \
            T f = SQRT(((T)-2 * LOG(s)) / s);                                \
            T x = mean + stddev * (u * f);                                   \
            T y = mean + stddev * (v * f);                                   \
            keep_x[i] = (unsigned char)((s < (T)1) & (lo <= x) & (x <= hi)); \
            keep_y[i] = (unsigned char)((s < (T)1) & (lo <= y) & (y <= hi)); \
            xs[i] = x;                                                       \
            ys[i] = y;                                                       \
        }                                                                    \
        for (size_t t = 0; t < rows && pos < end; t++) {                     \
            /* branch-free compaction: acceptance is random, branches on it  \
             * would mispredict several times per row */                     \
            T cand[2 * VI_LANES];                                            \
            size_t nc = 0;                                                   \
            for (int l = 0; l < VI_LANES; l++) {                             \
                cand[nc] = xs[t * VI_LANES + l];                             \
                nc += keep_x[t * VI_LANES + l];                              \
            }                                                                \
            for (int l = 0; l < VI_LANES; l++) {                             \
                cand[nc] = ys[t * VI_LANES + l];                             \
                nc += keep_y[t * VI_LANES + l];                              \
            }                                                                \
            if (pos >= skip && pos + nc <= end) {                            \
                memcpy(out + (pos - skip), cand, nc * sizeof(T));            \
                pos += nc;                                                   \
            } else {                                                         \
                for (size_t k = 0; k < nc && pos < end; k++, pos++)          \
                    if (pos >= skip) out[pos - skip] = cand[k];              \
            }                                                                \
        }                                                                    \
    }                                                                        \
}

#define SIGNED_F32(r, j, i) vi_signed_f32((r)[j][i])
#define SIGNED_F64(r, j, i) vi_signed_f64((r)[j][i], (r)[(j) + 1][i])

VI_POLAR_KERNEL(normal_f32, float, SIGNED_F32, 1, vi_log_f32, sqrtf,
                mean_f, stddev_f, lo_f, hi_f)
VI_POLAR_KERNEL(normal_f64, double, SIGNED_F64, 2, vi_log_f64, sqrt,
                mean, stddev, lo, hi)

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

const vi_kernel_table vi_kernels_scalar = VI_STANDARD_TABLE("scalar", vi_block_lanes);
