/* vi_stream.h - the varinit stream, version 2 (see docs/stream.md).
 *
 * Everything that decides output bits lives here as scalar inline code: the
 * block and lane layout, the seeding mixer, the bit-to-float mappings, the
 * logarithm and the ziggurat's slow paths.  SIMD paths must perform the same IEEE operations
 * in the same order (no FMA contraction, no reassociation) so that every
 * path writes the bits the scalar reference writes.
 *
 * Layout: output index i belongs to block i / VI_BLOCK.  Block b of seed s
 * draws from VI_LANES PCG32 lanes; lane l is pcg32_srandom(initstate, initseq)
 * with (initstate, initseq) = (sm(K_b, 2l+1), sm(K_b, 2l+2)),
 * K_b = sm(sm(s, 1), b + 1), sm(x, j) = splitmix64 output j from state x.
 * Position p of a block is row p / 16 of lane p % 16. */
#ifndef VARINIT_VI_STREAM_H
#define VARINIT_VI_STREAM_H

#include "pcg32.h"

#define VI_STREAM_VERSION 2
#define VI_LANES 16
#define VI_BLOCK 4096               /* output elements per block, every dtype */
#define VI_GOLDEN UINT64_C(0x9E3779B97F4A7C15)

/* The 16 lanes of one block, structure-of-arrays so vector code loads them,
 * and the block's key K_b, from which the normal family seeds its
 * positions' retry generators (vi_normal.h). */
typedef struct {
    uint64_t state[VI_LANES];
    uint64_t inc[VI_LANES];
    uint64_t key;
} vi_lanes;

/* SplitMix64's finalizer (Stafford variant 13), a bijection of 64 bits. */
VI_INLINE uint64_t vi_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Output number j (1-based) of a SplitMix64 generator started at state x. */
VI_INLINE uint64_t vi_splitmix64_at(uint64_t x, uint64_t j)
{
    return vi_mix64(x + j * VI_GOLDEN);
}

/* K_b, from which everything of block `block` of stream `seed` is seeded. */
VI_INLINE uint64_t vi_block_key(uint64_t seed, uint64_t block)
{
    return vi_splitmix64_at(vi_splitmix64_at(seed, 1u), block + 1u);
}

/* Seed the lanes of block `block` of stream `seed`.  Fresh hashed state and
 * increment per lane and block: no lanes or blocks at jump distances on a
 * shared LCG orbit. */
VI_INLINE void vi_block_lanes(uint64_t seed, uint64_t block, vi_lanes *L)
{
    const uint64_t key = vi_block_key(seed, block);
    for (int l = 0; l < VI_LANES; l++) {
        vi_pcg32 g;
        vi_pcg32_seed(&g, vi_splitmix64_at(key, 2u * (uint64_t)l + 1u),
                      vi_splitmix64_at(key, 2u * (uint64_t)l + 2u));
        L->state[l] = g.state;
        L->inc[l] = g.inc;
    }
    L->key = key;
}

/* The next draw of lane l. */
VI_INLINE uint32_t vi_lane_next(vi_lanes *L, int l)
{
    uint64_t old = L->state[l];
    L->state[l] = old * VI_PCG32_MULT + L->inc[l];
    return vi_pcg32_output(old);
}

/* ---- bit-to-float mappings ------------------------------------------- */

/* [0, 1): 24 bits of one draw, exact. */
VI_INLINE float vi_unit_f32(uint32_t r) { return (float)(r >> 8) * 0x1p-24f; }

/* [0, 1): 53 bits of two consecutive draws of one lane, the first high. */
VI_INLINE double vi_unit_f64(uint32_t first, uint32_t second)
{
    uint64_t w = ((uint64_t)first << 32) | second;
    return (double)(w >> 11) * 0x1p-53;
}

/* (0, 1), the half-offset grid (2j + 1) * 2^-25 of the top 24 bits, exact:
 * never 0, so its logarithm is finite. */
VI_INLINE float vi_open_f32(uint32_t r)
{
    return (float)((r >> 7) | 1u) * 0x1p-25f;
}

/* (0, 1), the half-offset grid (2j + 1) * 2^-54 of 53 bits of two draws. */
VI_INLINE double vi_open_f64(uint32_t first, uint32_t second)
{
    uint64_t w = ((uint64_t)first << 32) | second;
    return (double)((w >> 10) | 1u) * 0x1p-54;
}

/* ---- natural log -------------------------------------------------------- */
/* ln(s) for normal s > 0: s = 2^e * m with m in [sqrt(1/2), sqrt(2)),
 * ln m = 2 atanh(t), t = (m-1)/(m+1), |t| <= 0.1716, by its odd series in
 * Horner form, plus e*ln2 split in an exact and a small part.  Each operation
 * rounds once; vector paths repeat them in this order. */
static const float vi_log_series_f32[5] = {
    1.0f / 9.0f, 1.0f / 7.0f, 1.0f / 5.0f, 1.0f / 3.0f, 1.0f };
#define VI_LN2_HI_F32 0.693359375f
#define VI_LN2_LO_F32 -2.12194440e-4f

VI_INLINE float vi_log_f32(float s)
{
    uint32_t bits = vi_f32_bits(s);
    int32_t e = (int32_t)(bits >> 23) - 127;
    float m = vi_bits_f32((bits & 0x007FFFFFu) | 0x3F800000u);   /* [1, 2) */
    if (m > 1.41421356f) { m = m * 0.5f; e = e + 1; }
    float t = (m - 1.0f) / (m + 1.0f);
    float t2 = t * t;
    float p = vi_log_series_f32[0];
    for (int k = 1; k < 5; k++) p = p * t2 + vi_log_series_f32[k];
    float ef = (float)e;
    return (ef * VI_LN2_LO_F32 + (t + t) * p) + ef * VI_LN2_HI_F32;
}

static const double vi_log_series_f64[12] = {
    1.0 / 23.0, 1.0 / 21.0, 1.0 / 19.0, 1.0 / 17.0, 1.0 / 15.0, 1.0 / 13.0,
    1.0 / 11.0, 1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0, 1.0 };
#define VI_LN2_HI_F64 6.93147180369123816490e-01
#define VI_LN2_LO_F64 1.90821492927058770002e-10

VI_INLINE double vi_log_f64(double s)
{
    uint64_t bits = vi_f64_bits(s);
    int64_t e = (int64_t)(bits >> 52) - 1023;
    double m = vi_bits_f64((bits & UINT64_C(0x000FFFFFFFFFFFFF)) | UINT64_C(0x3FF0000000000000));
    if (m > 1.4142135623730951) { m = m * 0.5; e = e + 1; }
    double t = (m - 1.0) / (m + 1.0);
    double t2 = t * t;
    double p = vi_log_series_f64[0];
    for (int k = 1; k < 12; k++) p = p * t2 + vi_log_series_f64[k];
    double ef = (double)e;
    return (ef * VI_LN2_LO_F64 + (t + t) * p) + ef * VI_LN2_HI_F64;
}

/* ---- float32 -> float16 / bfloat16, round to nearest even ------------- */
VI_INLINE uint16_t vi_f32_to_bf16(float x)
{
    uint32_t u = vi_f32_bits(x);                 /* inputs are finite */
    return (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

/* float32 -> a float8 format with E exponent bits (bias 2^(E-1) - 1) and M
 * mantissa bits, round to nearest even, subnormals kept.  A magnitude past
 * the largest finite pattern `max` gives max + 1 (e5m2: inf; e4m3fn has no
 * inf), which the caller's clamp replaces. */
VI_INLINE uint8_t vi_f32_to_f8(float x, int E, int M, uint32_t max)
{
    uint32_t u = vi_f32_bits(x);
    uint32_t sign = (u >> 24) & 0x80u, a = u & 0x7FFFFFFFu;
    int bias = (1 << (E - 1)) - 1;
    int e = (int)(a >> 23) - 127;
    if (e + bias > (1 << E)) return (uint8_t)(sign | (max + 1u));
    if (e < -bias - M - 1) return (uint8_t)sign;          /* below half the least subnormal */
    /* 0 and float32 subnormals returned above: a is a normal float */
    uint32_t mant = (a & 0x007FFFFFu) | 0x00800000u;
    int normal = e >= 1 - bias;
    /* q: the value in units of the result's last bit, rounded to nearest even */
    int shift = normal ? 23 - M : 23 + (1 - bias - M) - e;
    uint32_t half = 1u << (shift - 1), rem = mant & ((1u << shift) - 1u), q = mant >> shift;
    if (rem > half || (rem == half && (q & 1u))) q += 1u;
    uint32_t bits = normal ? ((uint32_t)(e + bias - 1) << M) + q : q;
    return (uint8_t)(sign | (bits > max ? max + 1u : bits));
}

VI_INLINE uint16_t vi_f32_to_f16(float x)
{
    uint32_t u = vi_f32_bits(x);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7FFFFFFFu;
    if (a >= 0x477FF000u)                        /* rounds to >= 65520: inf */
        return (uint16_t)(sign | 0x7C00u);
    if (a >= 0x38800000u) {                      /* normal half */
        uint32_t r = a + 0x0FFFu + ((a >> 13) & 1u);
        return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
    }
    if (a < 0x33000000u)                         /* below half the smallest subnormal */
        return (uint16_t)sign;
    /* subnormal half: shift the implicit-1 mantissa, round to nearest even */
    uint32_t e = a >> 23;
    uint32_t mant = (a & 0x007FFFFFu) | 0x00800000u;
    uint32_t shift = 126u - e;                   /* 14..24 */
    uint32_t half = 1u << (shift - 1u);
    uint32_t q = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1u);
    if (rem > half || (rem == half && (q & 1u))) q += 1u;
    return (uint16_t)(sign | q);
}

#endif
