/* vi_kernels.h - distribution fill kernels and the per-ISA kernel table.
 *
 * A kernel fills part of ONE block: it receives the block's freshly seeded
 * lanes, skips the block's first `skip` outputs and writes the next `n`
 * (skip + n <= VI_BLOCK).  Kernels never allocate and never touch Python. */
#ifndef VARINIT_VI_KERNELS_H
#define VARINIT_VI_KERNELS_H

#include "vi_stream.h"

/* The distributions and the output dtypes: the two axes of a kernel table.
 * The codes are part of the interface with the Python layer (varinit.dtypes,
 * varinit.distributions), which passes them as numbers. */
enum vi_dist {
    VI_DIST_RAW = 0, VI_DIST_UNIFORM = 1,
    VI_DIST_NORMAL = 2,         /* ziggurat candidates (docs/stream.md 5.2) */
    VI_DIST_NORMAL_FLAT = 3,    /* uniform rejection, narrow intervals (5.3) */
    VI_DIST_NORMAL_TAIL = 4,    /* exponential rejection, tails (5.4) */
    VI_DIST_NORMAL_TRUNC = 5,   /* the ziggurat of N(0, 1) on [-2, 2] (5.2) */
    VI_NDIST
};
enum vi_dtype { VI_U32 = 0, VI_F32 = 1, VI_F64 = 2, VI_F16 = 3, VI_BF16 = 4,
                VI_F8E4M3 = 5, VI_F8E5M2 = 6, VI_NDTYPE };

/* Parameters, already validated and rounded by the Python layer.
 *   uniform:     x = base + u * width, then min(x, top): values in [base, top].
 *   normal:      x = mean + stddev * z for ziggurat candidates z, accepted
 *                when lo <= x <= hi (lo = -inf, hi = +inf for the plain normal).
 *   normal_flat: x = min(lo + u * width, hi), accepted when
 *                ((x - mean) * scale)^2 - shift) / 2 < -ln u2.
 *   normal_tail: t = -ln u1 * scale, x = base + step * t, accepted when
 *                (t + shift)^2 / 2 < -ln u2 and lo <= x <= hi.
 * The float32 stream reads the _f fields; float16/bfloat16 outputs are
 * clamped to the bit patterns clamp_lo/clamp_hi.  The field list is written
 * once, here: it declares the struct and vi_params_set (vi_fill.c), through
 * which the Cython layer fills it by name. */
#define VI_PARAM_FIELDS(X)                                                   \
    X(double, base) X(double, width) X(double, top)                          \
    X(double, mean) X(double, stddev) X(double, lo) X(double, hi)            \
    X(double, step) X(double, scale) X(double, shift) X(double, cut)         \
    X(float, base_f) X(float, width_f) X(float, top_f)                       \
    X(float, mean_f) X(float, stddev_f) X(float, lo_f) X(float, hi_f)        \
    X(float, step_f) X(float, scale_f) X(float, shift_f) X(float, cut_f)     \
    X(uint16_t, clamp_lo) X(uint16_t, clamp_hi)

typedef struct {
#define VI_PARAM_DECLARE(T, field) T field;
    VI_PARAM_FIELDS(VI_PARAM_DECLARE)
#undef VI_PARAM_DECLARE
} vi_params;

/* Set field `name` to `value` (an integer value for the clamp patterns);
 * nonzero if no field has that name. */
int vi_params_set(vi_params *p, const char *name, double value);

/* A slot of a kernel table: write block outputs [skip, skip + n) of one
 * (distribution, dtype) to out.  Every slot has this one signature; the
 * typed kernels below are adapted to it by the VI_*_SLOT macros. */
typedef void (*vi_block_kernel)(vi_lanes *L, size_t skip, size_t n, void *out, const vi_params *p);
/* Seed block `block`'s lanes exactly as vi_block_lanes (vi_stream.h) does. */
typedef void (*vi_seed_kernel)(uint64_t seed, uint64_t block, vi_lanes *L);

typedef struct {
    const char *name;                  /* "scalar", "avx2", "avx512" */
    vi_seed_kernel block_lanes;        /* once per block: worth a vector version */
    /* One slot per (distribution, dtype), filled with designated
     * initializers; NULL where the table has no kernel, which the driver
     * reports as an error (never a fallback to another slot). */
    vi_block_kernel fill[VI_NDIST][VI_NDTYPE];
} vi_kernel_table;

extern const vi_kernel_table vi_kernels_scalar;
/* x86-64 builds only (vi_avx2.c / vi_avx512.c, each with its own ISA flags);
 * vi_dispatch.c hands them out only when the CPU and OS support them. */
extern const vi_kernel_table vi_kernels_avx2;
extern const vi_kernel_table vi_kernels_avx512;

/* The scalar narrowing kernels (float32 -> float16 / bfloat16, round to
 * nearest even, then clamp), which the vector ones call for their tails. */
void vi_scalar_narrow_f16(const float *in, size_t n, uint16_t *out, const vi_params *p);
void vi_scalar_narrow_bf16(const float *in, size_t n, uint16_t *out, const vi_params *p);
/* float32 -> float8 (e4m3fn, e5m2), the same rounding and clamping; every
 * table uses these (float8 is rare enough not to need vector versions). */
void vi_scalar_narrow_f8e4m3(const float *in, size_t n, uint8_t *out, const vi_params *p);
void vi_scalar_narrow_f8e5m2(const float *in, size_t n, uint8_t *out, const vi_params *p);

/* The scalar reference's kernels of the normal family, which a vector file
 * without its own kernel for one of them forwards to (same bits, always). */
#define VI_SCALAR_KERNEL_DECLARE(DIST)                                       \
    void vi_scalar_##DIST##_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p); \
    void vi_scalar_##DIST##_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p);
VI_SCALAR_KERNEL_DECLARE(normal)
VI_SCALAR_KERNEL_DECLARE(normal_flat)
VI_SCALAR_KERNEL_DECLARE(normal_tail)
VI_SCALAR_KERNEL_DECLARE(normal_trunc)

/* Slot adapters: a typed kernel as a vi_block_kernel. */
#define VI_RAW_SLOT(NAME, KERNEL)                                            \
static void NAME(vi_lanes *L, size_t skip, size_t n, void *out, const vi_params *p) \
{ (void)p; KERNEL(L, skip, n, (uint32_t *)out); }
#define VI_TYPED_SLOT(NAME, KERNEL, T)                                       \
static void NAME(vi_lanes *L, size_t skip, size_t n, void *out, const vi_params *p) \
{ KERNEL(L, skip, n, (T *)out, p); }
/* float16/bfloat16 are the float32 stream, rounded then clamped: the float32
 * kernel writes one block's worth (never the whole output), NARROW converts. */
#define VI_NARROW_SLOT(NAME, F32_KERNEL, NARROW)                             \
static void NAME(vi_lanes *L, size_t skip, size_t n, void *out, const vi_params *p) \
{                                                                            \
    float scratch[VI_BLOCK];                                                 \
    F32_KERNEL(L, skip, n, scratch, p);                                      \
    NARROW(scratch, n, (uint16_t *)out, p);                                  \
}
#define VI_NARROW8_SLOT(NAME, F32_KERNEL, NARROW)                            \
static void NAME(vi_lanes *L, size_t skip, size_t n, void *out, const vi_params *p) \
{                                                                            \
    float scratch[VI_BLOCK];                                                 \
    F32_KERNEL(L, skip, n, scratch, p);                                      \
    NARROW(scratch, n, (uint8_t *)out, p);                                   \
}

/* The slots of a floating-point distribution whose kernels are DIST_f32
 * and DIST_f64 (float16, bfloat16 and float8 narrow the float32 one). */
#define VI_FLOAT_SLOTS(DIST, narrow_f16, narrow_bf16)                        \
    VI_TYPED_SLOT(slot_##DIST##_f32, DIST##_f32, float)                      \
    VI_TYPED_SLOT(slot_##DIST##_f64, DIST##_f64, double)                     \
    VI_NARROW_SLOT(slot_##DIST##_f16, DIST##_f32, narrow_f16)                \
    VI_NARROW_SLOT(slot_##DIST##_bf16, DIST##_f32, narrow_bf16)              \
    VI_NARROW8_SLOT(slot_##DIST##_f8e4m3, DIST##_f32, vi_scalar_narrow_f8e4m3) \
    VI_NARROW8_SLOT(slot_##DIST##_f8e5m2, DIST##_f32, vi_scalar_narrow_f8e5m2)
#define VI_FLOAT_ROW(DIST)                                                   \
    { [VI_F32] = slot_##DIST##_f32, [VI_F64] = slot_##DIST##_f64,            \
      [VI_F16] = slot_##DIST##_f16, [VI_BF16] = slot_##DIST##_bf16,          \
      [VI_F8E4M3] = slot_##DIST##_f8e4m3, [VI_F8E5M2] = slot_##DIST##_f8e5m2 }

/* The slots of a file whose kernels have the usual names (raw_u32,
 * uniform_f32, uniform_f64, normal_f32, ..., normal_trunc_f64), given its
 * narrowing kernels; its table then lists them by (distribution, dtype). */
#define VI_STANDARD_SLOTS(narrow_f16, narrow_bf16)                           \
    VI_RAW_SLOT(slot_raw_u32, raw_u32)                                       \
    VI_FLOAT_SLOTS(uniform, narrow_f16, narrow_bf16)                         \
    VI_FLOAT_SLOTS(normal, narrow_f16, narrow_bf16)                          \
    VI_FLOAT_SLOTS(normal_flat, narrow_f16, narrow_bf16)                     \
    VI_FLOAT_SLOTS(normal_tail, narrow_f16, narrow_bf16)                     \
    VI_FLOAT_SLOTS(normal_trunc, narrow_f16, narrow_bf16)

/* The table of a file with VI_STANDARD_SLOTS: each slot by (distribution,
 * dtype), designated initializers; a file with other kernels writes its own. */
#define VI_STANDARD_TABLE(NAME, BLOCK_LANES)                                 \
    {                                                                        \
        .name = NAME,                                                        \
        .block_lanes = BLOCK_LANES,                                          \
        .fill = {                                                            \
            [VI_DIST_RAW][VI_U32] = slot_raw_u32,                            \
            [VI_DIST_UNIFORM] = VI_FLOAT_ROW(uniform),                       \
            [VI_DIST_NORMAL] = VI_FLOAT_ROW(normal),                         \
            [VI_DIST_NORMAL_FLAT] = VI_FLOAT_ROW(normal_flat),               \
            [VI_DIST_NORMAL_TAIL] = VI_FLOAT_ROW(normal_tail),               \
            [VI_DIST_NORMAL_TRUNC] = VI_FLOAT_ROW(normal_trunc),             \
        },                                                                   \
    }

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
