/* pcg32.h - PCG32 (PCG XSH-RR 64/32), the generator behind every varinit lane.
 *
 * Bit-compatible with the reference implementation pcg-c (pcg32_random_r,
 * pcg32_srandom_r, pcg32_advance_r): a 64-bit LCG state s with odd increment
 * c, step s <- s*a + c, output rotr32(((s >> 18) ^ s) >> 27, s >> 59) taken
 * from the state before the step.  Only 64-bit arithmetic, so it compiles the
 * same everywhere and vectorizes as 64-bit lanes.  PCG is by M.E. O'Neill,
 * Apache-2.0 (pcg-random.org); this is an independent rewrite. */
#ifndef VARINIT_PCG32_H
#define VARINIT_PCG32_H

#include "vi_common.h"

#define VI_PCG32_MULT UINT64_C(6364136223846793005)

typedef struct { uint64_t state; uint64_t inc; } vi_pcg32;

VI_INLINE uint32_t vi_pcg32_output(uint64_t old)
{
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((0u - rot) & 31u));
}

VI_INLINE uint32_t vi_pcg32_next(vi_pcg32 *g)
{
    uint64_t old = g->state;
    g->state = old * VI_PCG32_MULT + g->inc;
    return vi_pcg32_output(old);
}

/* pcg32_srandom_r: state 0, inc 2*initseq+1, step, add initstate, step. */
VI_INLINE void vi_pcg32_seed(vi_pcg32 *g, uint64_t initstate, uint64_t initseq)
{
    g->state = 0u;
    g->inc = (initseq << 1) | 1u;
    (void)vi_pcg32_next(g);
    g->state += initstate;
    (void)vi_pcg32_next(g);
}

/* The affine map (mult, plus) of `delta` LCG steps, s -> mult*s + plus, by
 * Brown's square-and-multiply (O(log delta)).  Also yields the leapfrog
 * constants that let SIMD paths run several chains per lane. */
VI_INLINE void vi_lcg_jump(uint64_t delta, uint64_t inc, uint64_t *mult, uint64_t *plus)
{
    uint64_t cur_mult = VI_PCG32_MULT, cur_plus = inc;
    uint64_t acc_mult = 1u, acc_plus = 0u;
    while (delta > 0) {
        if (delta & 1u) {
            acc_mult *= cur_mult;
            acc_plus = acc_plus * cur_mult + cur_plus;
        }
        cur_plus = (cur_mult + 1u) * cur_plus;
        cur_mult *= cur_mult;
        delta >>= 1;
    }
    *mult = acc_mult;
    *plus = acc_plus;
}

/* pcg32_advance_r: jump `delta` draws ahead (2^64 - k jumps back k). */
VI_INLINE void vi_pcg32_advance(vi_pcg32 *g, uint64_t delta)
{
    uint64_t mult, plus;
    vi_lcg_jump(delta, g->inc, &mult, &plus);
    g->state = mult * g->state + plus;
}

#endif
