/* vi_avx512.c - the AVX-512 (F/DQ/BW/VL) kernels.
 *
 * Compiled alone with -mavx512f -mavx512dq -mavx512bw -mavx512vl (MSVC
 * /arch:AVX512); dispatch calls it only on CPUs and OSes that run it.  Every
 * kernel writes exactly the bits of the scalar reference (vi_scalar.c): the
 * same IEEE operations in the same order, one rounding each, never a fused
 * multiply-add (no _mm512_fmadd_*, and -ffp-contract=off for the rest).
 *
 * Lanes: the 16 lane states of a block live in two registers of eight 64-bit
 * states (lanes 0-7, 8-15).  A PCG32 step depends on the previous one through
 * a multiply, so the kernels run four leapfrog chains: chain c holds the
 * lanes at draw d + c and jumps four draws per step (s -> A4*s + G4*inc),
 * which keeps four independent multiplies in flight and changes no bit.
 * Each row of the block consumes D draws per lane (1 for float32 uniform
 * and ziggurat, 2 for their float64 versions and for float32 uniform or
 * exponential rejection, 4 for float64 rejection), so one step of the
 * chains yields 4/D rows. */
#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>
#include "vi_rows.h"
#include "vi_normal.h"

/* ---- PCG32 lanes in registers ------------------------------------------ */

typedef struct {
    __m512i s[4][2];        /* chain c, lanes 0-7 / 8-15 */
    __m512i plus[2];        /* G4 * inc per lane */
    __m512i mult;           /* A4 = a^4 */
} chains;

VI_INLINE __m512i lcg(__m512i s, __m512i mult, __m512i plus)
{
    return _mm512_add_epi64(_mm512_mullo_epi64(s, mult), plus);
}

/* SplitMix64's finalizer (vi_mix64), eight lanes at a time. */
VI_INLINE __m512i mix64(__m512i z)
{
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                           _mm512_set1_epi64((long long)UINT64_C(0xBF58476D1CE4E5B9)));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                           _mm512_set1_epi64((long long)UINT64_C(0x94D049BB133111EB)));
    return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

/* Chains at draws 0..3 from the lanes' current state. */
VI_INLINE void chains_init(chains *C, const vi_lanes *L)
{
    uint64_t a4, g4;
    vi_lcg_jump(4, 1u, &a4, &g4);
    const __m512i a = _mm512_set1_epi64((long long)VI_PCG32_MULT);
    for (int h = 0; h < 2; h++) {
        __m512i inc = _mm512_loadu_si512((const void *)(L->inc + 8 * h));
        C->s[0][h] = _mm512_loadu_si512((const void *)(L->state + 8 * h));
        for (int c = 1; c < 4; c++) C->s[c][h] = lcg(C->s[c - 1][h], a, inc);
        C->plus[h] = _mm512_mullo_epi64(inc, _mm512_set1_epi64((long long)g4));
    }
    C->mult = _mm512_set1_epi64((long long)a4);
}

VI_INLINE void chains_step(chains *C)
{
    for (int c = 0; c < 4; c++)
        for (int h = 0; h < 2; h++) C->s[c][h] = lcg(C->s[c][h], C->mult, C->plus[h]);
}

/* PCG32 output of eight states, left in their 64-bit lanes: the low dword
 * is the output.  x = ((old >> 18) ^ old) >> 27 holds xorshifted in its low
 * dword and old >> 59 (the rotation) in its high dword, so one 32-bit
 * rotate by the high dwords, shifted down, finishes it. */
VI_INLINE __m512i pcg_out64(__m512i old)
{
    __m512i x = _mm512_srli_epi64(_mm512_xor_si512(_mm512_srli_epi64(old, 18), old), 27);
    return _mm512_rorv_epi32(x, _mm512_srli_epi64(x, 32));
}

/* The 16 outputs of chain c, packed in lane order: gather the xorshifted
 * low dwords and the rotation high dwords of both halves, then rotate once
 * (two permutes and one rotate instead of two shifts, two rotates and a
 * permute). */
VI_INLINE __m512i draw32(const chains *C, int c)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,
                                           16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15,
                                          17, 19, 21, 23, 25, 27, 29, 31);
    __m512i a = _mm512_srli_epi64(_mm512_xor_si512(_mm512_srli_epi64(C->s[c][0], 18), C->s[c][0]), 27);
    __m512i b = _mm512_srli_epi64(_mm512_xor_si512(_mm512_srli_epi64(C->s[c][1], 18), C->s[c][1]), 27);
    return _mm512_rorv_epi32(_mm512_permutex2var_epi32(a, even, b),
                             _mm512_permutex2var_epi32(a, odd, b));
}

/* 53 bits of two consecutive draws (chains c and c+1) of lanes 8h..8h+7,
 * first draw high: w >> 11 of w = first << 32 | second. */
VI_INLINE __m512i draw53(const chains *C, int c, int h)
{
    __m512i first = _mm512_slli_epi64(pcg_out64(C->s[c][h]), 32);
    __m512i w = _mm512_mask_blend_epi32(0x5555, first, pcg_out64(C->s[c + 1][h]));
    return _mm512_srli_epi64(w, 11);
}

/* ---- bit-to-float maps (vi_stream.h) ------------------------------------ */

VI_INLINE __m512 unit_f32(__m512i r)
{
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(r, 8)), _mm512_set1_ps(0x1p-24f));
}

VI_INLINE __m512d unit_f64(__m512i w53)
{
    return _mm512_mul_pd(_mm512_cvtepi64_pd(w53), _mm512_set1_pd(0x1p-53));
}

/* ---- rows of a block ------------------------------------------------------ */

typedef struct { __m512d h[2]; } vec2d;

#define STORE_SI(p, v) _mm512_storeu_si512((void *)(p), (v))
#define STORE_PS(p, v) _mm512_storeu_ps((p), (v))
#define STORE_PD2(p, v) (_mm512_storeu_pd((p), (v).h[0]), _mm512_storeu_pd((p) + 8, (v).h[1]))

static void raw_u32(vi_lanes *L, size_t skip, size_t n, uint32_t *out)
{
#define RAW_ROW(c, v) ((v) = draw32(&C, (c)))
    VI_ROW_LOOP(uint32_t, __m512i, STORE_SI, 4, RAW_ROW);
}

/* base + unit * width with unit = k * 2^-24 exact.  When width * 2^-24 is
 * itself exact (a normal float), k * (width * 2^-24) is the same real
 * product, so it rounds to the same float: one multiply instead of two. */
static void uniform_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p)
{
    const __m512 base = _mm512_set1_ps(p->base_f), top = _mm512_set1_ps(p->top_f);
    const float scaled = p->width_f * 0x1p-24f;
    /* min(top, v) is top only when top < v: the reference's `v > top ? top : v` */
    if (scaled >= 0x1p-126f) {
        const __m512 w = _mm512_set1_ps(scaled);
#define UNI_ROW_1(c, v) ((v) = _mm512_min_ps(top, _mm512_add_ps(base, _mm512_mul_ps( \
        _mm512_cvtepi32_ps(_mm512_srli_epi32(draw32(&C, (c)), 8)), w))))
        VI_ROW_LOOP(float, __m512, STORE_PS, 4, UNI_ROW_1);
    } else {
        const __m512 w = _mm512_set1_ps(p->width_f);
#define UNI_ROW_2(c, v) ((v) = _mm512_min_ps(top, _mm512_add_ps(base, _mm512_mul_ps( \
        unit_f32(draw32(&C, (c))), w))))
        VI_ROW_LOOP(float, __m512, STORE_PS, 4, UNI_ROW_2);
    }
}

static void uniform_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p)
{
    const __m512d base = _mm512_set1_pd(p->base), top = _mm512_set1_pd(p->top);
    const double scaled = p->width * 0x1p-53;
    if (scaled >= 0x1p-1022) {
        const __m512d w = _mm512_set1_pd(scaled);
#define UNI64_ROW_1(c, v) do { for (int h_ = 0; h_ < 2; h_++)                          \
        (v).h[h_] = _mm512_min_pd(top, _mm512_add_pd(base, _mm512_mul_pd(             \
            _mm512_cvtepi64_pd(draw53(&C, 2 * (c), h_)), w))); } while (0)
        VI_ROW_LOOP(double, vec2d, STORE_PD2, 2, UNI64_ROW_1);
    } else {
        const __m512d w = _mm512_set1_pd(p->width);
#define UNI64_ROW_2(c, v) do { for (int h_ = 0; h_ < 2; h_++)                          \
        (v).h[h_] = _mm512_min_pd(top, _mm512_add_pd(base, _mm512_mul_pd(             \
            unit_f64(draw53(&C, 2 * (c), h_)), w))); } while (0)
        VI_ROW_LOOP(double, vec2d, STORE_PD2, 2, UNI64_ROW_2);
    }
}

/* ---- the normal family (docs/stream.md 5) ---------------------------------- */

/* vi_log_f32 and vi_log_f64, lane-wise: the same operations in the same
 * order, so every lane rounds as the scalar reference does. */
VI_INLINE __m512 log_ps(__m512 s)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512i bits = _mm512_castps_si512(s);
    __m512i e = _mm512_sub_epi32(_mm512_srli_epi32(bits, 23), _mm512_set1_epi32(127));
    __m512 m = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_and_si512(bits, _mm512_set1_epi32(0x007FFFFF)), _mm512_set1_epi32(0x3F800000)));
    __mmask16 big = _mm512_cmp_ps_mask(m, _mm512_set1_ps(1.41421356f), _CMP_GT_OQ);
    m = _mm512_mask_mul_ps(m, big, m, _mm512_set1_ps(0.5f));
    e = _mm512_mask_add_epi32(e, big, e, _mm512_set1_epi32(1));
    __m512 t = _mm512_div_ps(_mm512_sub_ps(m, one), _mm512_add_ps(m, one));
    __m512 t2 = _mm512_mul_ps(t, t), q = _mm512_set1_ps(vi_log_series_f32[0]);
    for (int k = 1; k < 5; k++)
        q = _mm512_add_ps(_mm512_mul_ps(q, t2), _mm512_set1_ps(vi_log_series_f32[k]));
    __m512 ef = _mm512_cvtepi32_ps(e);
    __m512 lo = _mm512_add_ps(_mm512_mul_ps(ef, _mm512_set1_ps(VI_LN2_LO_F32)),
                              _mm512_mul_ps(_mm512_add_ps(t, t), q));
    return _mm512_add_ps(lo, _mm512_mul_ps(ef, _mm512_set1_ps(VI_LN2_HI_F32)));
}

VI_INLINE __m512d log_pd(__m512d s)
{
    const __m512d one = _mm512_set1_pd(1.0);
    __m512i bits = _mm512_castpd_si512(s);
    __m512i e = _mm512_sub_epi64(_mm512_srli_epi64(bits, 52), _mm512_set1_epi64(1023));
    __m512d m = _mm512_castsi512_pd(_mm512_or_si512(
        _mm512_and_si512(bits, _mm512_set1_epi64(0x000FFFFFFFFFFFFFLL)),
        _mm512_set1_epi64(0x3FF0000000000000LL)));
    __mmask8 big = _mm512_cmp_pd_mask(m, _mm512_set1_pd(1.4142135623730951), _CMP_GT_OQ);
    m = _mm512_mask_mul_pd(m, big, m, _mm512_set1_pd(0.5));
    e = _mm512_mask_add_epi64(e, big, e, _mm512_set1_epi64(1));
    __m512d t = _mm512_div_pd(_mm512_sub_pd(m, one), _mm512_add_pd(m, one));
    __m512d t2 = _mm512_mul_pd(t, t), q = _mm512_set1_pd(vi_log_series_f64[0]);
    for (int k = 1; k < 12; k++)
        q = _mm512_add_pd(_mm512_mul_pd(q, t2), _mm512_set1_pd(vi_log_series_f64[k]));
    __m512d ef = _mm512_cvtepi64_pd(e);
    __m512d lo = _mm512_add_pd(_mm512_mul_pd(ef, _mm512_set1_pd(VI_LN2_LO_F64)),
                               _mm512_mul_pd(_mm512_add_pd(t, t), q));
    return _mm512_add_pd(lo, _mm512_mul_pd(ef, _mm512_set1_pd(VI_LN2_HI_F64)));
}

/* (0, 1) maps of docs/stream.md 5.1, lane-wise: the integer conversions
 * round to nearest as the scalar casts do. */
VI_INLINE __m512 open_ps(__m512i d)
{
    __m512i j = _mm512_or_si512(_mm512_srli_epi32(d, 7), _mm512_set1_epi32(1));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(j), _mm512_set1_ps(0x1p-25f));
}

VI_INLINE __m512d open_pd(__m512i w)
{
    __m512i j = _mm512_or_si512(_mm512_srli_epi64(w, 10), _mm512_set1_epi64(1));
    return _mm512_mul_pd(_mm512_cvtepi64_pd(j), _mm512_set1_pd(0x1p-54));
}

VI_INLINE __m512 neg_ps(__m512 x)
{
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
}

VI_INLINE __m512d neg_pd(__m512d x)
{
    return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x),
                                                _mm512_set1_epi64((long long)(UINT64_C(1) << 63))));
}

/* A 128-entry table held in registers: the gathers this replaces are
 * microcoded and cost several times more than two-register permutes
 * (which read the low index bits only) and blends on the higher bits. */
typedef struct { __m512 t[8]; } table128_ps;
typedef struct { __m512d t[16]; } table128_pd;

VI_INLINE void table128_ps_load(table128_ps *T, const float *src)
{
    for (int j = 0; j < 8; j++) T->t[j] = _mm512_loadu_ps(src + 16 * j);
}

VI_INLINE void table128_pd_load(table128_pd *T, const double *src)
{
    for (int j = 0; j < 16; j++) T->t[j] = _mm512_loadu_pd(src + 8 * j);
}

/* bit5, bit6: the lanes whose index has bit 5 / bit 6 set. */
VI_INLINE __m512 table128_ps_lookup(const table128_ps *T, __m512i k, __mmask16 bit5, __mmask16 bit6)
{
    __m512 a = _mm512_permutex2var_ps(T->t[0], k, T->t[1]);
    __m512 b = _mm512_permutex2var_ps(T->t[2], k, T->t[3]);
    __m512 c = _mm512_permutex2var_ps(T->t[4], k, T->t[5]);
    __m512 d = _mm512_permutex2var_ps(T->t[6], k, T->t[7]);
    return _mm512_mask_blend_ps(bit6, _mm512_mask_blend_ps(bit5, a, b), _mm512_mask_blend_ps(bit5, c, d));
}

/* bits[0..2]: the lanes whose index has bit 4, 5, 6 set. */
VI_INLINE __m512d table128_pd_lookup(const table128_pd *T, __m512i k, const __mmask8 bits[3])
{
    __m512d v[8];
    for (int j = 0; j < 8; j++) v[j] = _mm512_permutex2var_pd(T->t[2 * j], k, T->t[2 * j + 1]);
    for (int j = 0; j < 4; j++) v[j] = _mm512_mask_blend_pd(bits[0], v[2 * j], v[2 * j + 1]);
    for (int j = 0; j < 2; j++) v[j] = _mm512_mask_blend_pd(bits[1], v[2 * j], v[2 * j + 1]);
    return _mm512_mask_blend_pd(bits[2], v[0], v[1]);
}

/* 64 bits per candidate: w = first << 32 | second from chains (c, c+1). */
VI_INLINE __m512i draw64(const chains *C, int c, int h)
{
    __m512i first = _mm512_slli_epi64(pcg_out64(C->s[c][h]), 32);
    return _mm512_mask_blend_epi32(0x5555, first, pcg_out64(C->s[c + 1][h]));
}

/* ---- fixups: the positions whose main candidate is not accepted at once ---- */

/* The retry generators of 16 positions (lanes 0-7 in s[0], 8-15 in s[1]),
 * seeded as vi_retry_generator does. */
typedef struct { __m512i s[2], inc[2]; } retry16;

VI_INLINE void retry_seed8(__m512i *s, __m512i *inc, uint64_t key, __m256i pos)
{
    const __m512i k = _mm512_set1_epi64((long long)key), golden = _mm512_set1_epi64((long long)VI_GOLDEN);
    __m512i j1 = _mm512_add_epi64(_mm512_slli_epi64(_mm512_cvtepu32_epi64(pos), 1),
                                  _mm512_set1_epi64(VI_RETRY_FIRST));
    __m512i j2 = _mm512_add_epi64(j1, _mm512_set1_epi64(1));
    __m512i initstate = mix64(_mm512_add_epi64(k, _mm512_mullo_epi64(j1, golden)));
    __m512i initseq = mix64(_mm512_add_epi64(k, _mm512_mullo_epi64(j2, golden)));
    *inc = _mm512_or_si512(_mm512_slli_epi64(initseq, 1), _mm512_set1_epi64(1));
    *s = lcg(_mm512_add_epi64(*inc, initstate), _mm512_set1_epi64((long long)VI_PCG32_MULT), *inc);
}

VI_INLINE void retry16_seed(retry16 *R, uint64_t key, __m512i pos)
{
    retry_seed8(&R->s[0], &R->inc[0], key, _mm512_castsi512_si256(pos));
    retry_seed8(&R->s[1], &R->inc[1], key, _mm512_extracti64x4_epi64(pos, 1));
}

/* The next draw of the generators in m (packed in lane order; the others
 * are not stepped and their outputs are junk). */
VI_INLINE __m512i retry16_next(retry16 *R, __mmask16 m)
{
    const __m512i a = _mm512_set1_epi64((long long)VI_PCG32_MULT);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    __m512i o0 = R->s[0], o1 = R->s[1];
    R->s[0] = _mm512_mask_mov_epi64(o0, (__mmask8)m, lcg(o0, a, R->inc[0]));
    R->s[1] = _mm512_mask_mov_epi64(o1, (__mmask8)(m >> 8), lcg(o1, a, R->inc[1]));
    return _mm512_permutex2var_epi32(pcg_out64(o0), even, pcg_out64(o1));
}

/* Eight positions' generators for float64 (64-bit lanes match positions). */
typedef struct { __m512i s, inc; } retry8;

VI_INLINE __m512i retry8_next32(retry8 *R, __mmask8 m)   /* draw in the low dword */
{
    __m512i o = R->s;
    R->s = _mm512_mask_mov_epi64(o, m, lcg(o, _mm512_set1_epi64((long long)VI_PCG32_MULT), R->inc));
    return pcg_out64(o);
}

VI_INLINE __m512i retry8_word(retry8 *R, __mmask8 m)      /* first << 32 | second */
{
    __m512i first = _mm512_slli_epi64(retry8_next32(R, m), 32);
    return _mm512_mask_blend_epi32(0x5555, first, retry8_next32(R, m));
}

/* The tail steps (layer 0 beyond r, rare) of the lanes in m, in scalar
 * code on the same generators. */
VI_INLINE __m512 retry16_tail_f32(retry16 *R, __mmask16 m, __m512 x)
{
    uint64_t s[VI_LANES], inc[VI_LANES];
    float mag[VI_LANES];
    for (int h = 0; h < 2; h++) {
        _mm512_storeu_si512((void *)(s + 8 * h), R->s[h]);
        _mm512_storeu_si512((void *)(inc + 8 * h), R->inc[h]);
    }
    _mm512_storeu_ps(mag, x);
    for (unsigned b = m; b; b &= b - 1) {
        int l = vi_ctz32(b);
        vi_pcg32 g = { s[l], inc[l] };
        vi_zig_slow_f32(&VI_ZIG_NORMAL_F32, &g, 0, &mag[l]);   /* only its tables have a tail */
        s[l] = g.state;
    }
    for (int h = 0; h < 2; h++) R->s[h] = _mm512_loadu_si512((const void *)(s + 8 * h));
    return _mm512_loadu_ps(mag);
}

VI_INLINE __m512d retry8_tail_f64(retry8 *R, __mmask8 m, __m512d x)
{
    uint64_t s[8], inc[8];
    double mag[8];
    _mm512_storeu_si512((void *)s, R->s);
    _mm512_storeu_si512((void *)inc, R->inc);
    _mm512_storeu_pd(mag, x);
    for (unsigned b = m; b; b &= b - 1) {
        int l = vi_ctz32(b);
        vi_pcg32 g = { s[l], inc[l] };
        vi_zig_slow_f64(&VI_ZIG_NORMAL_F64, &g, 0, &mag[l]);
        s[l] = g.state;
    }
    R->s = _mm512_loadu_si512((const void *)s);
    return _mm512_loadu_pd(mag);
}

/* ---- the ziggurat ----------------------------------------------------------- */

typedef struct { table128_ps x0, x1, f0, f1; } zig_ps;   /* X[k], X[k+1], F[k], F[k+1] */
typedef struct { table128_pd x0, x1, f0, f1; } zig_pd;

VI_INLINE void zig_ps_load(zig_ps *Z, const vi_zig_f32 *T)
{
    table128_ps_load(&Z->x0, T->x);
    table128_ps_load(&Z->x1, T->x + 1);
    table128_ps_load(&Z->f0, T->f);
    table128_ps_load(&Z->f1, T->f + 1);
}

VI_INLINE void zig_pd_load(zig_pd *Z, const vi_zig_f64 *T)
{
    table128_pd_load(&Z->x0, T->x);
    table128_pd_load(&Z->x1, T->x + 1);
    table128_pd_load(&Z->f0, T->f);
    table128_pd_load(&Z->f1, T->f + 1);
}

/* Refill the free lanes of 16 in-flight fixups from the list (positions
 * pos[*next ..], main words word[*next ..]) once at least half are free or
 * the list is ending: seeding costs the same for 1 lane as for 16.  Returns
 * the lanes loaded. */
VI_INLINE __mmask16 refill16(retry16 *R, __m512i *at, __m512i *g, __mmask16 active, uint64_t key,
                             const uint32_t *pos, const uint32_t *word, size_t count, size_t *next)
{
    __mmask16 free = (__mmask16)~active;
    int nfree = vi_popcount32(free);
    size_t left = count - *next;
    if (left == 0 || (nfree < 8 && left >= (size_t)nfree)) return 0;
    if (left < (size_t)nfree) {                       /* the lowest `left` free lanes */
        unsigned m = free, keep = 0;
        for (size_t j = 0; j < left; j++) { keep |= m & (0u - m); m &= m - 1; }
        free = (__mmask16)keep;
        nfree = (int)left;
    }
    __mmask16 avail = (__mmask16)(nfree >= 16 ? 0xFFFF : (1u << nfree) - 1u);
    *at = _mm512_mask_expand_epi32(*at, free, _mm512_maskz_loadu_epi32(avail, pos + *next));
    if (word) *g = _mm512_mask_expand_epi32(*g, free, _mm512_maskz_loadu_epi32(avail, word + *next));
    *next += (size_t)nfree;
    retry16 fresh;
    retry16_seed(&fresh, key, *at);
    R->s[0] = _mm512_mask_mov_epi64(R->s[0], (__mmask8)free, fresh.s[0]);
    R->s[1] = _mm512_mask_mov_epi64(R->s[1], (__mmask8)(free >> 8), fresh.s[1]);
    R->inc[0] = _mm512_mask_mov_epi64(R->inc[0], (__mmask8)free, fresh.inc[0]);
    R->inc[1] = _mm512_mask_mov_epi64(R->inc[1], (__mmask8)(free >> 8), fresh.inc[1]);
    return free;
}

/* refill16 for eight 64-bit lanes (float64), refilled once half are free. */
VI_INLINE __mmask8 refill8(retry8 *R, __m256i *at, __m512i *g, __mmask8 active, uint64_t key,
                           const uint32_t *pos, const uint64_t *word, size_t count, size_t *next)
{
    __mmask8 free = (__mmask8)~active;
    int nfree = vi_popcount32(free);
    size_t left = count - *next;
    if (left == 0 || (nfree < 4 && left >= (size_t)nfree)) return 0;
    if (left < (size_t)nfree) {
        unsigned m = free, keep = 0;
        for (size_t j = 0; j < left; j++) { keep |= m & (0u - m); m &= m - 1; }
        free = (__mmask8)keep;
        nfree = (int)left;
    }
    __mmask8 avail = (__mmask8)((1u << nfree) - 1u);
    *at = _mm256_mask_expand_epi32(*at, free, _mm256_maskz_loadu_epi32(avail, pos + *next));
    if (word) *g = _mm512_mask_expand_epi64(*g, free, _mm512_maskz_loadu_epi64(avail, word + *next));
    *next += (size_t)nfree;
    retry8 fresh;
    retry_seed8(&fresh.s, &fresh.inc, key, *at);
    R->s = _mm512_mask_mov_epi64(R->s, free, fresh.s);
    R->inc = _mm512_mask_mov_epi64(R->inc, free, fresh.inc);
    return free;
}

/* The fixups of the list, 16 in flight: each lane runs vi_zig_fixup_f32,
 * a finished lane takes the next position. */
static void zig_fixups_f32(uint64_t key, const uint32_t *pos, const uint32_t *word, size_t count,
                           const zig_ps *Z, const vi_params *p, float *out, size_t skip)
{
    const __m512 mean = _mm512_set1_ps(p->mean_f), stddev = _mm512_set1_ps(p->stddev_f);
    const __m512 lo = _mm512_set1_ps(p->lo_f), hi = _mm512_set1_ps(p->hi_f);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u), layer = _mm512_set1_epi32(127);
    const __m512i base = _mm512_set1_epi32((int)skip);
    retry16 R = { { _mm512_setzero_si512(), _mm512_setzero_si512() },
                  { _mm512_setzero_si512(), _mm512_setzero_si512() } };
    __m512i at = _mm512_setzero_si512(), g = _mm512_setzero_si512();
    size_t next = 0;
    for (__mmask16 active = 0;;) {
        active |= refill16(&R, &at, &g, active, key, pos, word, count, &next);
        if (!active) return;
        __mmask16 b5 = _mm512_test_epi32_mask(g, _mm512_set1_epi32(32));
        __mmask16 b6 = _mm512_test_epi32_mask(g, _mm512_set1_epi32(64));
        __m512 x = _mm512_mul_ps(unit_f32(g), table128_ps_lookup(&Z->x0, g, b5, b6));
        __mmask16 ok = _mm512_cmp_ps_mask(x, table128_ps_lookup(&Z->x1, g, b5, b6), _CMP_LT_OQ);
        /* No branch on which lanes take the wedge test: in flight, some
         * lane almost always does, and a mispredicted branch costs more
         * than the test. */
        __mmask16 slow = active & (__mmask16)~ok;
        __mmask16 tail = slow & _mm512_cmpeq_epi32_mask(_mm512_and_si512(g, layer), _mm512_setzero_si512());
        __mmask16 wedge = slow & (__mmask16)~tail;
        __m512 u = unit_f32(retry16_next(&R, wedge));
        __m512 f0 = table128_ps_lookup(&Z->f0, g, b5, b6);
        __m512 y = _mm512_add_ps(f0, _mm512_mul_ps(u, _mm512_sub_ps(table128_ps_lookup(&Z->f1, g, b5, b6), f0)));
        __m512 bound = _mm512_mul_ps(_mm512_mul_ps(x, x), _mm512_set1_ps(-0.5f));
        ok |= wedge & _mm512_cmp_ps_mask(log_ps(y), bound, _CMP_LT_OQ);
        if (tail) {
            x = retry16_tail_f32(&R, tail, x);
            ok |= tail;
        }
        __m512 z = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x),
            _mm512_and_si512(_mm512_slli_epi32(g, 24), sign)));
        __m512 v = _mm512_add_ps(mean, _mm512_mul_ps(stddev, z));
        __mmask16 done = active & ok & _mm512_cmp_ps_mask(lo, v, _CMP_LE_OQ) & _mm512_cmp_ps_mask(v, hi, _CMP_LE_OQ);
        _mm512_mask_i32scatter_ps(out, done, _mm512_sub_epi32(at, base), v, 4);
        active &= (__mmask16)~done;
        g = retry16_next(&R, active);
    }
}

VI_INLINE void ziggurat_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p,
                            const vi_zig_f32 *T)
{
    const __m512 mean = _mm512_set1_ps(p->mean_f), stddev = _mm512_set1_ps(p->stddev_f);
    const __m512 lo = _mm512_set1_ps(p->lo_f), hi = _mm512_set1_ps(p->hi_f);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    const __m512i b5 = _mm512_set1_epi32(32), b6 = _mm512_set1_epi32(64);
    const uint64_t key = L->key;
    zig_ps Z;
    zig_ps_load(&Z, T);
    fix_rows F;
    uint32_t words[VI_BLOCK], pos[VI_BLOCK + VI_LANES], listed[VI_BLOCK + VI_LANES];
    F.first = skip / VI_LANES;
#define ZIG_ROW(c, v) do {                                                   \
        size_t row_ = t_ + (c);                                              \
        __m512i d_ = draw32(&C, (c));                                        \
        __mmask16 m5_ = _mm512_test_epi32_mask(d_, b5), m6_ = _mm512_test_epi32_mask(d_, b6); \
        __m512 x_ = _mm512_mul_ps(unit_f32(d_), table128_ps_lookup(&Z.x0, d_, m5_, m6_)); \
        __mmask16 ok_ = _mm512_cmp_ps_mask(x_, table128_ps_lookup(&Z.x1, d_, m5_, m6_), _CMP_LT_OQ); \
        __m512 z_ = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x_), \
            _mm512_and_si512(_mm512_slli_epi32(d_, 24), sign)));              \
        (v) = _mm512_add_ps(mean, _mm512_mul_ps(stddev, z_));                \
        ok_ &= _mm512_cmp_ps_mask(lo, (v), _CMP_LE_OQ) & _mm512_cmp_ps_mask((v), hi, _CMP_LE_OQ); \
        if (row_ < t_end_) {                                                 \
            F.need[row_ - F.first] = (uint16_t)(~ok_ & row_range(row_, skip, end_)); \
            _mm512_storeu_si512((void *)(words + (row_ - F.first) * VI_LANES), d_); \
        }                                                                    \
    } while (0)
    VI_ROW_LOOP(float, __m512, STORE_PS, 4, ZIG_ROW);
    size_t rows = (skip + n + VI_LANES - 1) / VI_LANES - F.first;
    size_t count = fix_list(&F, rows, pos);
    for (size_t i = 0; i < count; i++) listed[i] = words[pos[i] - F.first * VI_LANES];
    zig_fixups_f32(key, pos, listed, count, &Z, p, out, skip);
}

/* zig_fixups_f32 for float64: 8 in flight (64-bit lanes). */
static void zig_fixups_f64(uint64_t key, const uint32_t *pos, const uint64_t *word, size_t count,
                           const zig_pd *Z, const vi_params *p, double *out, size_t skip)
{
    const __m512d mean = _mm512_set1_pd(p->mean), stddev = _mm512_set1_pd(p->stddev);
    const __m512d lo = _mm512_set1_pd(p->lo), hi = _mm512_set1_pd(p->hi);
    const __m512i sign = _mm512_set1_epi64((long long)(UINT64_C(1) << 63)), layer = _mm512_set1_epi64(127);
    const __m256i base = _mm256_set1_epi32((int)skip);
    retry8 R = { _mm512_setzero_si512(), _mm512_setzero_si512() };
    __m256i at = _mm256_setzero_si256();
    __m512i g = _mm512_setzero_si512();
    size_t next = 0;
    for (__mmask8 active = 0;;) {
        active |= refill8(&R, &at, &g, active, key, pos, word, count, &next);
        if (!active) return;
        __mmask8 bits[3];
        for (int b = 0; b < 3; b++) bits[b] = _mm512_test_epi64_mask(g, _mm512_set1_epi64(16 << b));
        __m512d x = _mm512_mul_pd(unit_f64(_mm512_srli_epi64(g, 11)), table128_pd_lookup(&Z->x0, g, bits));
        __mmask8 ok = _mm512_cmp_pd_mask(x, table128_pd_lookup(&Z->x1, g, bits), _CMP_LT_OQ);
        __mmask8 slow = active & (__mmask8)~ok;
        __mmask8 tail = slow & _mm512_cmpeq_epi64_mask(_mm512_and_si512(g, layer), _mm512_setzero_si512());
        __mmask8 wedge = slow & (__mmask8)~tail;
        __m512d u = unit_f64(_mm512_srli_epi64(retry8_word(&R, wedge), 11));
        __m512d f0 = table128_pd_lookup(&Z->f0, g, bits);
        __m512d y = _mm512_add_pd(f0, _mm512_mul_pd(u, _mm512_sub_pd(table128_pd_lookup(&Z->f1, g, bits), f0)));
        __m512d bound = _mm512_mul_pd(_mm512_mul_pd(x, x), _mm512_set1_pd(-0.5));
        ok |= wedge & _mm512_cmp_pd_mask(log_pd(y), bound, _CMP_LT_OQ);
        if (tail) {
            x = retry8_tail_f64(&R, tail, x);
            ok |= tail;
        }
        __m512d z = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x),
            _mm512_and_si512(_mm512_slli_epi64(g, 56), sign)));
        __m512d v = _mm512_add_pd(mean, _mm512_mul_pd(stddev, z));
        __mmask8 done = active & ok & _mm512_cmp_pd_mask(lo, v, _CMP_LE_OQ) & _mm512_cmp_pd_mask(v, hi, _CMP_LE_OQ);
        _mm512_mask_i32scatter_pd(out, done, _mm256_sub_epi32(at, base), v, 8);
        active &= (__mmask8)~done;
        g = retry8_word(&R, active);
    }
}

VI_INLINE void ziggurat_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p,
                            const vi_zig_f64 *T)
{
    const __m512d mean = _mm512_set1_pd(p->mean), stddev = _mm512_set1_pd(p->stddev);
    const __m512d lo = _mm512_set1_pd(p->lo), hi = _mm512_set1_pd(p->hi);
    const __m512i sign = _mm512_set1_epi64((long long)(UINT64_C(1) << 63));
    const uint64_t key = L->key;
    zig_pd Z;
    zig_pd_load(&Z, T);
    fix_rows F;
    uint64_t words[VI_BLOCK], listed[VI_BLOCK + VI_LANES];
    uint32_t pos[VI_BLOCK + VI_LANES];
    F.first = skip / VI_LANES;
#define ZIG64_ROW(c, v) do {                                                 \
        size_t row_ = t_ + (c);                                              \
        unsigned ok_ = 0;                                                    \
        for (int h_ = 0; h_ < 2; h_++) {                                     \
            __m512i w_ = draw64(&C, 2 * (c), h_);                            \
            __mmask8 bits_[3];                                               \
            for (int b_ = 0; b_ < 3; b_++)                                   \
                bits_[b_] = _mm512_test_epi64_mask(w_, _mm512_set1_epi64(16 << b_)); \
            __m512d x_ = _mm512_mul_pd(unit_f64(_mm512_srli_epi64(w_, 11)),  \
                                       table128_pd_lookup(&Z.x0, w_, bits_)); \
            __mmask8 fast_ = _mm512_cmp_pd_mask(x_, table128_pd_lookup(&Z.x1, w_, bits_), _CMP_LT_OQ); \
            __m512d z_ = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x_), \
                _mm512_and_si512(_mm512_slli_epi64(w_, 56), sign)));          \
            (v).h[h_] = _mm512_add_pd(mean, _mm512_mul_pd(stddev, z_));      \
            fast_ &= _mm512_cmp_pd_mask(lo, (v).h[h_], _CMP_LE_OQ) & _mm512_cmp_pd_mask((v).h[h_], hi, _CMP_LE_OQ); \
            ok_ |= (unsigned)fast_ << (8 * h_);                              \
            if (row_ < t_end_)                                               \
                _mm512_storeu_si512((void *)(words + (row_ - F.first) * VI_LANES + 8 * h_), w_); \
        }                                                                    \
        if (row_ < t_end_)                                                   \
            F.need[row_ - F.first] = (uint16_t)(~ok_ & row_range(row_, skip, end_)); \
    } while (0)
    VI_ROW_LOOP(double, vec2d, STORE_PD2, 2, ZIG64_ROW);
    size_t rows = (skip + n + VI_LANES - 1) / VI_LANES - F.first;
    size_t count = fix_list(&F, rows, pos);
    for (size_t i = 0; i < count; i++) listed[i] = words[pos[i] - F.first * VI_LANES];
    zig_fixups_f64(key, pos, listed, count, &Z, p, out, skip);
}

VI_ZIGGURAT_SLOTS_FROM(ziggurat_f32, ziggurat_f64)

/* ---- uniform and exponential rejection (docs/stream.md 5.3, 5.4) ---------- */

typedef struct { __m512 lo, hi, base, step, width, mean, scale, shift, cut; } rej_ps;
typedef struct { __m512d lo, hi, base, step, width, mean, scale, shift, cut; } rej_pd;

VI_INLINE void rej_ps_load(rej_ps *K, const vi_params *p)
{
    K->lo = _mm512_set1_ps(p->lo_f); K->hi = _mm512_set1_ps(p->hi_f);
    K->base = _mm512_set1_ps(p->base_f); K->step = _mm512_set1_ps(p->step_f);
    K->width = _mm512_set1_ps(p->width_f); K->mean = _mm512_set1_ps(p->mean_f);
    K->scale = _mm512_set1_ps(p->scale_f); K->shift = _mm512_set1_ps(p->shift_f);
    K->cut = _mm512_set1_ps(p->cut_f);
}

VI_INLINE void rej_pd_load(rej_pd *K, const vi_params *p)
{
    K->lo = _mm512_set1_pd(p->lo); K->hi = _mm512_set1_pd(p->hi);
    K->base = _mm512_set1_pd(p->base); K->step = _mm512_set1_pd(p->step);
    K->width = _mm512_set1_pd(p->width); K->mean = _mm512_set1_pd(p->mean);
    K->scale = _mm512_set1_pd(p->scale); K->shift = _mm512_set1_pd(p->shift);
    K->cut = _mm512_set1_pd(p->cut);
}

/* vi_flat_f32 / vi_tail_f32 / _f64 lane-wise: the candidate *v of draws
 * (d1, d2) (float64: words w1, w2) and whether it is accepted. */
VI_INLINE __mmask16 flat_ps(const rej_ps *K, __m512i d1, __m512i d2, __m512 *v)
{
    __m512 x = _mm512_min_ps(_mm512_add_ps(K->lo, _mm512_mul_ps(unit_f32(d1), K->width)), K->hi);
    __m512 z = _mm512_mul_ps(_mm512_sub_ps(x, K->mean), K->scale);
    __m512 q = _mm512_mul_ps(_mm512_sub_ps(_mm512_mul_ps(z, z), K->shift), _mm512_set1_ps(0.5f));
    *v = x;
    return _mm512_cmp_ps_mask(q, neg_ps(log_ps(open_ps(d2))), _CMP_LT_OQ);
}

VI_INLINE __mmask16 tail_ps(const rej_ps *K, __m512i d1, __m512i d2, __m512 *v)
{
    __m512 t = _mm512_mul_ps(neg_ps(log_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_mul_ps(unit_f32(d1), K->cut)))), K->scale);
    __m512 x = _mm512_add_ps(K->base, _mm512_mul_ps(K->step, t));
    __m512 d = _mm512_add_ps(t, K->shift);
    __m512 e = neg_ps(log_ps(open_ps(d2)));
    *v = x;
    return _mm512_cmp_ps_mask(_mm512_mul_ps(_mm512_mul_ps(d, d), _mm512_set1_ps(0.5f)), e, _CMP_LT_OQ)
         & _mm512_cmp_ps_mask(K->lo, x, _CMP_LE_OQ) & _mm512_cmp_ps_mask(x, K->hi, _CMP_LE_OQ);
}

VI_INLINE __mmask8 flat_pd(const rej_pd *K, __m512i w1, __m512i w2, __m512d *v)
{
    __m512d x = _mm512_min_pd(_mm512_add_pd(K->lo, _mm512_mul_pd(unit_f64(_mm512_srli_epi64(w1, 11)), K->width)), K->hi);
    __m512d z = _mm512_mul_pd(_mm512_sub_pd(x, K->mean), K->scale);
    __m512d q = _mm512_mul_pd(_mm512_sub_pd(_mm512_mul_pd(z, z), K->shift), _mm512_set1_pd(0.5));
    *v = x;
    return _mm512_cmp_pd_mask(q, neg_pd(log_pd(open_pd(w2))), _CMP_LT_OQ);
}

VI_INLINE __mmask8 tail_pd(const rej_pd *K, __m512i w1, __m512i w2, __m512d *v)
{
    __m512d t = _mm512_mul_pd(neg_pd(log_pd(_mm512_sub_pd(_mm512_set1_pd(1.0), _mm512_mul_pd(unit_f64(_mm512_srli_epi64(w1, 11)), K->cut)))), K->scale);
    __m512d x = _mm512_add_pd(K->base, _mm512_mul_pd(K->step, t));
    __m512d d = _mm512_add_pd(t, K->shift);
    __m512d e = neg_pd(log_pd(open_pd(w2)));
    *v = x;
    return _mm512_cmp_pd_mask(_mm512_mul_pd(_mm512_mul_pd(d, d), _mm512_set1_pd(0.5)), e, _CMP_LT_OQ)
         & _mm512_cmp_pd_mask(K->lo, x, _CMP_LE_OQ) & _mm512_cmp_pd_mask(x, K->hi, _CMP_LE_OQ);
}

typedef __mmask16 (*candidate_ps)(const rej_ps *, __m512i, __m512i, __m512 *);
typedef __mmask8 (*candidate_pd)(const rej_pd *, __m512i, __m512i, __m512d *);

/* The rejected positions, 16 (float64: 8) in flight: new candidates from
 * their retry generators, a lane taking the next position once its own is
 * accepted. */
VI_INLINE void rejection_fixups_ps(uint64_t key, const fix_rows *F, size_t skip, size_t n,
                                   const rej_ps *K, candidate_ps candidate, float *out)
{
    uint32_t pos[VI_BLOCK + VI_LANES];
    size_t count = fix_list(F, (skip + n + VI_LANES - 1) / VI_LANES - F->first, pos), next = 0;
    const __m512i base = _mm512_set1_epi32((int)skip);
    retry16 R = { { _mm512_setzero_si512(), _mm512_setzero_si512() },
                  { _mm512_setzero_si512(), _mm512_setzero_si512() } };
    __m512i at = _mm512_setzero_si512();
    for (__mmask16 active = 0;;) {
        active |= refill16(&R, &at, NULL, active, key, pos, NULL, count, &next);
        if (!active) return;
        __m512i d1 = retry16_next(&R, active);
        __m512i d2 = retry16_next(&R, active);
        __m512 v;
        __mmask16 done = active & candidate(K, d1, d2, &v);
        _mm512_mask_i32scatter_ps(out, done, _mm512_sub_epi32(at, base), v, 4);
        active &= (__mmask16)~done;
    }
}

VI_INLINE void rejection_fixups_pd(uint64_t key, const fix_rows *F, size_t skip, size_t n,
                                   const rej_pd *K, candidate_pd candidate, double *out)
{
    uint32_t pos[VI_BLOCK + VI_LANES];
    size_t count = fix_list(F, (skip + n + VI_LANES - 1) / VI_LANES - F->first, pos), next = 0;
    const __m256i base = _mm256_set1_epi32((int)skip);
    retry8 R = { _mm512_setzero_si512(), _mm512_setzero_si512() };
    __m256i at = _mm256_setzero_si256();
    for (__mmask8 active = 0;;) {
        active |= refill8(&R, &at, NULL, active, key, pos, NULL, count, &next);
        if (!active) return;
        __m512i w1 = retry8_word(&R, active);
        __m512i w2 = retry8_word(&R, active);
        __m512d v;
        __mmask8 done = active & candidate(K, w1, w2, &v);
        _mm512_mask_i32scatter_pd(out, done, _mm256_sub_epi32(at, base), v, 8);
        active &= (__mmask8)~done;
    }
}

/* float32: row c of a chain step from chains 2c, 2c+1; float64: one row
 * per step, words from chains (0, 1) and (2, 3), two halves. */
#define CANDIDATE_ROW_PS(CANDIDATE, c, v) do {                               \
        size_t row_ = t_ + (c);                                              \
        __mmask16 ok_ = CANDIDATE(&K, draw32(&C, 2 * (c)), draw32(&C, 2 * (c) + 1), &(v)); \
        if (row_ < t_end_) F.need[row_ - F.first] = (uint16_t)(~ok_ & row_range(row_, skip, end_)); \
    } while (0)
#define CANDIDATE_ROW_PD(CANDIDATE, c, v) do {                               \
        size_t row_ = t_ + (c);                                              \
        unsigned ok_ = 0;                                                    \
        for (int h_ = 0; h_ < 2; h_++)                                       \
            ok_ |= (unsigned)CANDIDATE(&K, draw64(&C, 0, h_), draw64(&C, 2, h_), &(v).h[h_]) << (8 * h_); \
        if (row_ < t_end_) F.need[row_ - F.first] = (uint16_t)(~ok_ & row_range(row_, skip, end_)); \
    } while (0)
#define FLAT_ROW_PS(c, v) CANDIDATE_ROW_PS(flat_ps, c, v)
#define TAIL_ROW_PS(c, v) CANDIDATE_ROW_PS(tail_ps, c, v)
#define FLAT_ROW_PD(c, v) CANDIDATE_ROW_PD(flat_pd, c, v)
#define TAIL_ROW_PD(c, v) CANDIDATE_ROW_PD(tail_pd, c, v)

#define CANDIDATE_KERNEL(NAME, T, VEC, STORE, R, KT, LOAD, ROW, CANDIDATE, FIXUPS) \
static void NAME(vi_lanes *L, size_t skip, size_t n, T *out, const vi_params *p) \
{                                                                            \
    KT K;                                                                    \
    fix_rows F;                                                              \
    LOAD(&K, p);                                                             \
    F.first = skip / VI_LANES;                                               \
    VI_ROW_LOOP(T, VEC, STORE, R, ROW);                                      \
    FIXUPS(L->key, &F, skip, n, &K, CANDIDATE, out);                         \
}
CANDIDATE_KERNEL(normal_flat_f32, float, __m512, STORE_PS, 2, rej_ps, rej_ps_load, FLAT_ROW_PS, flat_ps, rejection_fixups_ps)
CANDIDATE_KERNEL(normal_tail_f32, float, __m512, STORE_PS, 2, rej_ps, rej_ps_load, TAIL_ROW_PS, tail_ps, rejection_fixups_ps)
CANDIDATE_KERNEL(normal_flat_f64, double, vec2d, STORE_PD2, 1, rej_pd, rej_pd_load, FLAT_ROW_PD, flat_pd, rejection_fixups_pd)
CANDIDATE_KERNEL(normal_tail_f64, double, vec2d, STORE_PD2, 1, rej_pd, rej_pd_load, TAIL_ROW_PD, tail_pd, rejection_fixups_pd)

/* ---- float16 / bfloat16 ---------------------------------------------------- */

/* Clamp 32 half-width patterns to [clamp_lo, clamp_hi] in value order: the
 * key of a sign-magnitude pattern is +-magnitude (vi_half_key). */
VI_INLINE __m512i clamp_halves(__m512i h, __m512i klo, __m512i khi, __m512i blo, __m512i bhi)
{
    __m512i neg = _mm512_srai_epi16(h, 15);
    __m512i key = _mm512_sub_epi16(_mm512_xor_si512(_mm512_and_si512(h, _mm512_set1_epi16(0x7FFF)), neg), neg);
    h = _mm512_mask_blend_epi16(_mm512_cmplt_epi16_mask(key, klo), h, blo);
    return _mm512_mask_blend_epi16(_mm512_cmpgt_epi16_mask(key, khi), h, bhi);
}

/* bfloat16 round to nearest even on the integer pattern (vi_f32_to_bf16);
 * vcvtne2ps2bf16 would need AVX512_BF16 and flushes subnormals. */
VI_INLINE __m256i to_bf16(__m512 x)
{
    __m512i u = _mm512_castps_si512(x);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    u = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), odd);
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(u, 16));
}

/* float16: vcvtps2ph with round-to-nearest-even is exactly vi_f32_to_f16
 * (it ignores MXCSR's FTZ/DAZ, produces subnormals and overflows to inf). */
VI_INLINE __m256i to_f16(__m512 x)
{
    return _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* 32 values per step: plain loads and stores, masked ones for the tail. */
#define NARROW_KERNEL(NAME, CONVERT)                                         \
static void NAME(const float *in, size_t n, uint16_t *out, const vi_params *p) \
{                                                                            \
    const __m512i klo = _mm512_set1_epi16((int16_t)vi_half_key(p->clamp_lo));           \
    const __m512i khi = _mm512_set1_epi16((int16_t)vi_half_key(p->clamp_hi));           \
    const __m512i blo = _mm512_set1_epi16((short)p->clamp_lo);              \
    const __m512i bhi = _mm512_set1_epi16((short)p->clamp_hi);              \
    size_t i = 0;                                                            \
    for (; i + 32 <= n; i += 32) {                                           \
        __m256i a = CONVERT(_mm512_loadu_ps(in + i));                        \
        __m256i b = CONVERT(_mm512_loadu_ps(in + i + 16));                   \
        __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);     \
        _mm512_storeu_si512((void *)(out + i), clamp_halves(h, klo, khi, blo, bhi)); \
    }                                                                        \
    if (i < n) {                                                             \
        size_t left = n - i;                                                 \
        __mmask16 m0 = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u); \
        __mmask16 m1 = left <= 16 ? (__mmask16)0 : (__mmask16)((1u << (left - 16)) - 1u); \
        __m256i a = CONVERT(_mm512_maskz_loadu_ps(m0, in + i));              \
        __m256i b = CONVERT(_mm512_maskz_loadu_ps(m1, in + i + 16));         \
        __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);     \
        __mmask32 m = (__mmask32)m0 | ((__mmask32)m1 << 16);                 \
        _mm512_mask_storeu_epi16((void *)(out + i), m, clamp_halves(h, klo, khi, blo, bhi)); \
    }                                                                        \
}

NARROW_KERNEL(narrow_f16, to_f16)
NARROW_KERNEL(narrow_bf16, to_bf16)

/* ---- block seeding ----------------------------------------------------- */


/* vi_block_lanes, eight lanes per register: it runs once per 4096 values,
 * about 5% of a uniform fill when done one lane at a time. */
static void block_lanes(uint64_t seed, uint64_t block, vi_lanes *L)
{
    const uint64_t key = vi_block_key(seed, block);
    const __m512i a = _mm512_set1_epi64((long long)VI_PCG32_MULT);
    const __m512i golden = _mm512_set1_epi64((long long)VI_GOLDEN);
    for (int h = 0; h < 2; h++) {
        /* j = 2l + 1 and 2l + 2 for lanes l = 8h .. 8h + 7 */
        __m512i l = _mm512_add_epi64(_mm512_set1_epi64(8 * h), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
        __m512i j1 = _mm512_add_epi64(_mm512_slli_epi64(l, 1), _mm512_set1_epi64(1));
        __m512i j2 = _mm512_add_epi64(j1, _mm512_set1_epi64(1));
        __m512i k = _mm512_set1_epi64((long long)key);
        __m512i initstate = mix64(_mm512_add_epi64(k, _mm512_mullo_epi64(j1, golden)));
        __m512i initseq = mix64(_mm512_add_epi64(k, _mm512_mullo_epi64(j2, golden)));
        /* pcg32_srandom: state 0, inc 2*initseq+1, step, add, step */
        __m512i inc = _mm512_or_si512(_mm512_slli_epi64(initseq, 1), _mm512_set1_epi64(1));
        __m512i state = _mm512_add_epi64(inc, initstate);           /* 0*a + inc, + initstate */
        state = _mm512_add_epi64(_mm512_mullo_epi64(state, a), inc);
        _mm512_storeu_si512((void *)(L->state + 8 * h), state);
        _mm512_storeu_si512((void *)(L->inc + 8 * h), inc);
    }
    L->key = key;
}

VI_STANDARD_SLOTS(narrow_f16, narrow_bf16)

const vi_kernel_table vi_kernels_avx512 = VI_STANDARD_TABLE("avx512", block_lanes);

#else
typedef int vi_avx512_not_built;   /* ISO C: no empty translation unit */
#endif /* x86-64 */
