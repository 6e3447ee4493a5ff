/* vi_kernels.h - distribution fill kernels and the per-ISA kernel table.
 *
 * A kernel fills part of ONE block: it receives the block's freshly seeded
 * lanes, skips the block's first `skip` outputs and writes the next `n`
 * (skip + n <= VI_BLOCK).  Kernels never allocate and never touch Python. */
#ifndef VARINIT_VI_KERNELS_H
#define VARINIT_VI_KERNELS_H

#include "vi_stream.h"

/* Parameters, already validated and rounded by the Python layer.
 *   uniform: x = base + u * width, then min(x, top): values in [base, top].
 *   normal:  x = mean + stddev * z for polar candidates z, accepted when
 *            lo <= x <= hi (lo = -inf, hi = +inf for the plain normal). */
typedef struct {
    double base, width, top;           /* uniform, float64 stream */
    double mean, stddev, lo, hi;       /* normal,  float64 stream */
    float base_f, width_f, top_f;      /* the same in float32 for the float32 stream */
    float mean_f, stddev_f, lo_f, hi_f;
    uint16_t clamp_lo, clamp_hi;       /* float16/bfloat16 bounds, as bit patterns */
} vi_params;

typedef void (*vi_raw_kernel)(vi_lanes *L, size_t skip, size_t n, uint32_t *out);
typedef void (*vi_f32_kernel)(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p);
typedef void (*vi_f64_kernel)(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p);
/* Round float32 to float16 / bfloat16 (nearest even), then clamp to bounds. */
typedef void (*vi_narrow_kernel)(const float *in, size_t n, uint16_t *out, const vi_params *p);
/* Seed block `block`'s lanes exactly as vi_block_lanes (vi_stream.h) does. */
typedef void (*vi_seed_kernel)(uint64_t seed, uint64_t block, vi_lanes *L);

typedef struct {
    const char *name;                  /* "scalar", "avx2", "avx512" */
    vi_raw_kernel raw_u32;
    vi_f32_kernel uniform_f32;
    vi_f64_kernel uniform_f64;
    vi_f32_kernel normal_f32;
    vi_f64_kernel normal_f64;
    vi_narrow_kernel narrow_f16;
    vi_narrow_kernel narrow_bf16;
    vi_seed_kernel block_lanes;        /* once per block: worth a vector version */
} vi_kernel_table;

extern const vi_kernel_table vi_kernels_scalar;
/* x86-64 builds only (vi_avx2.c / vi_avx512.c, each with its own ISA flags);
 * vi_dispatch.c hands them out only when the CPU and OS support them. */
extern const vi_kernel_table vi_kernels_avx2;
extern const vi_kernel_table vi_kernels_avx512;

/* Kernels may leave L in any state: the block driver seeds fresh lanes for
 * every block and never reads them back. */

/* Move every lane `draws` draws ahead (a kernel skipping the first rows of a
 * block).  The jump is the affine map s -> A*s + G*inc, G independent of
 * the increment, so one O(log) computation serves all 16 lanes. */
VI_INLINE void vi_lanes_advance(vi_lanes *L, uint64_t draws)
{
    uint64_t mult, plus_per_inc;
    if (draws == 0) return;
    vi_lcg_jump(draws, 1u, &mult, &plus_per_inc);
    for (int l = 0; l < VI_LANES; l++)
        L->state[l] = mult * L->state[l] + plus_per_inc * L->inc[l];
}

#endif
