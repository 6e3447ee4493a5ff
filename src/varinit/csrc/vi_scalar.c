/* vi_scalar.c - the scalar reference kernels: they DEFINE the stream's bits.
 *
 * Portable C99, compiled without ISA flags and with -ffp-contract=off (MSVC
 * /fp:precise) so no multiply-add is fused.  Vector paths must match these
 * bit for bit (tests/test_isa.py). */
#include <math.h>   /* sqrt/sqrtf only: IEEE correctly rounded, not transcendental */
#include "vi_kernels.h"

/* Copy the part of a 16-wide row at element index `row_start` that falls in
 * [skip, end) to out[(index) - skip]. */
#define VI_EMIT_ROW(row, row_start, skip, end, out)                          \
    do {                                                                     \
        size_t lo_ = (row_start) < (skip) ? (skip) : (row_start);            \
        size_t hi_ = (row_start) + VI_LANES > (end) ? (end) : (row_start) + VI_LANES; \
        for (size_t i_ = lo_; i_ < hi_; i_++)                                \
            (out)[i_ - (skip)] = (row)[i_ - (row_start)];                    \
    } while (0)

/* Jump every lane over the draws of `rows` rows of `draws` draws each. */
static void lanes_skip_rows(vi_lanes *L, size_t rows, unsigned draws)
{
    if (rows == 0) return;
    for (int l = 0; l < VI_LANES; l++) {
        vi_pcg32 g = { L->state[l], L->inc[l] };
        vi_pcg32_advance(&g, (uint64_t)rows * draws);
        L->state[l] = g.state;
    }
}

VI_INLINE uint32_t lane_next(vi_lanes *L, int l)
{
    uint64_t old = L->state[l];
    L->state[l] = old * VI_PCG32_MULT + L->inc[l];
    return vi_pcg32_output(old);
}

static void raw_u32(vi_lanes *L, size_t skip, size_t n, uint32_t *out)
{
    size_t end = skip + n, start = skip / VI_LANES * VI_LANES;
    lanes_skip_rows(L, skip / VI_LANES, 1);
    for (size_t row = start; row < end; row += VI_LANES) {
        uint32_t r[VI_LANES];
        for (int l = 0; l < VI_LANES; l++) r[l] = lane_next(L, l);
        VI_EMIT_ROW(r, row, skip, end, out);
    }
}

static void uniform_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p)
{
    size_t end = skip + n, start = skip / VI_LANES * VI_LANES;
    const float base = p->base_f, width = p->width_f, top = p->top_f;
    lanes_skip_rows(L, skip / VI_LANES, 1);
    for (size_t row = start; row < end; row += VI_LANES) {
        float x[VI_LANES];
        for (int l = 0; l < VI_LANES; l++) {
            float v = base + vi_unit_f32(lane_next(L, l)) * width;
            x[l] = v > top ? top : v;
        }
        VI_EMIT_ROW(x, row, skip, end, out);
    }
}

static void uniform_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p)
{
    size_t end = skip + n, start = skip / VI_LANES * VI_LANES;
    const double base = p->base, width = p->width, top = p->top;
    lanes_skip_rows(L, skip / VI_LANES, 2);
    for (size_t row = start; row < end; row += VI_LANES) {
        double x[VI_LANES];
        for (int l = 0; l < VI_LANES; l++) {
            uint32_t first = lane_next(L, l);
            double v = base + vi_unit_f64(first, lane_next(L, l)) * width;
            x[l] = v > top ? top : v;
        }
        VI_EMIT_ROW(x, row, skip, end, out);
    }
}

/* Marsaglia's polar method with rejection.  Per row, every lane draws a
 * point (u, v) in (-1, 1)^2; lanes with s = u^2 + v^2 < 1 give the pair
 * x = mean + stddev*(u*f), y = mean + stddev*(v*f), f = sqrt(-2 ln(s) / s).
 * The row's outputs are the accepted x (lo <= x <= hi) in lane order, then
 * the accepted y in lane order.  The block's outputs are its rows' outputs
 * in order; a block generates rows until it has skip + n outputs. */
#define VI_POLAR_KERNEL(NAME, T, DRAW_SIGNED, LOG, SQRT, MEAN, STD, LO, HI) \
static void NAME(vi_lanes *L, size_t skip, size_t n, T *out, const vi_params *p) \
{                                                                            \
    const T mean = p->MEAN, stddev = p->STD, lo = p->LO, hi = p->HI;         \
    size_t pos = 0, end = skip + n;                                          \
    while (pos < end) {                                                      \
        T cand[2 * VI_LANES], ys[VI_LANES];                                  \
        int nx = 0, ny = 0;                                                  \
        for (int l = 0; l < VI_LANES; l++) {                                 \
            T u, v;                                                          \
            DRAW_SIGNED(u, L, l);                                            \
            DRAW_SIGNED(v, L, l);                                            \
            T s = u * u + v * v;                                             \
            if (s < (T)1) {                                                  \
                T f = SQRT(((T)-2 * LOG(s)) / s);                            \
                T x = mean + stddev * (u * f);                               \
                T y = mean + stddev * (v * f);                               \
                if (lo <= x && x <= hi) cand[nx++] = x;                      \
                if (lo <= y && y <= hi) ys[ny++] = y;                        \
            }                                                                \
        }                                                                    \
        for (int k = 0; k < ny; k++) cand[nx + k] = ys[k];                   \
        for (int k = 0; k < nx + ny && pos < end; k++, pos++)                \
            if (pos >= skip) out[pos - skip] = cand[k];                      \
    }                                                                        \
}

#define DRAW_SIGNED_F32(dst, L, l) ((dst) = vi_signed_f32(lane_next((L), (l))))
#define DRAW_SIGNED_F64(dst, L, l)                                           \
    do { uint32_t d0_ = lane_next((L), (l));                                 \
         (dst) = vi_signed_f64(d0_, lane_next((L), (l))); } while (0)

VI_POLAR_KERNEL(normal_f32, float, DRAW_SIGNED_F32, vi_log_f32, sqrtf,
                mean_f, stddev_f, lo_f, hi_f)
VI_POLAR_KERNEL(normal_f64, double, DRAW_SIGNED_F64, vi_log_f64, sqrt,
                mean, stddev, lo, hi)

/* Order float16/bfloat16 bit patterns as their values (sign-magnitude). */
VI_INLINE int32_t half_key(uint16_t h)
{
    return (h & 0x8000u) ? -(int32_t)(h & 0x7FFFu) : (int32_t)h;
}

#define VI_NARROW_KERNEL(NAME, CONVERT)                                      \
static void NAME(const float *in, size_t n, uint16_t *out, const vi_params *p) \
{                                                                            \
    const int32_t klo = half_key(p->clamp_lo), khi = half_key(p->clamp_hi); \
    for (size_t i = 0; i < n; i++) {                                         \
        uint16_t h = CONVERT(in[i]);                                         \
        int32_t k = half_key(h);                                             \
        out[i] = k < klo ? p->clamp_lo : (k > khi ? p->clamp_hi : h);        \
    }                                                                        \
}

VI_NARROW_KERNEL(narrow_f16, vi_f32_to_f16)
VI_NARROW_KERNEL(narrow_bf16, vi_f32_to_bf16)

const vi_kernel_table vi_kernels_scalar = {
    "scalar", raw_u32, uniform_f32, uniform_f64, normal_f32, normal_f64,
    narrow_f16, narrow_bf16,
};
