/* vi_rows.h - the row bookkeeping shared by the vector kernel files.
 *
 * A kernel call fills block elements [skip, end), end = skip + n; row t of
 * the block covers [16t, 16t + 16).  These macros decide where each row's
 * values go; they contain no arithmetic, so the ISA files keep theirs.
 * The including file defines `chains`, chains_init() and chains_step()
 * (four leapfrog chains of the 16 lanes, stepping four draws at a time). */
#ifndef VARINIT_VI_ROWS_H
#define VARINIT_VI_ROWS_H

#include "vi_kernels.h"

/* Store row t's values `vec` with STORE(dst, vec): straight into `out` if
 * the row lies inside the range, else through a buffer and only the wanted
 * elements, so nothing outside out[0, n) is written. */
#define VI_EMIT_ROW(T, STORE, vec, t, skip, end, out)                        \
    do {                                                                     \
        size_t r0_ = (size_t)(t) * VI_LANES;                                 \
        if (r0_ >= (skip) && r0_ + VI_LANES <= (end)) {                      \
            STORE((out) + (r0_ - (skip)), (vec));                            \
        } else if (r0_ < (end)) {                                            \
            T tmp_[VI_LANES];                                                \
            STORE(tmp_, (vec));                                              \
            size_t lo_ = r0_ < (skip) ? (skip) : r0_;                        \
            size_t hi_ = r0_ + VI_LANES > (end) ? (end) : r0_ + VI_LANES;    \
            for (size_t i_ = lo_; i_ < hi_; i_++) (out)[i_ - (skip)] = tmp_[i_ - r0_]; \
        }                                                                    \
    } while (0)

/* The row loop of kernels with a fixed number of draws per row (raw,
 * uniform): R rows per chain step (R = 4 / draws per row), ROW(c, v)
 * computes row c of the step into v (of type VEC).  The lanes are first
 * moved to row skip / 16.  Steps whose rows all lie inside the range store
 * without checks; the loop over c has a constant trip count, so it unrolls
 * and the chains stay in registers.  Expects L, skip, n, out in scope. */
#define VI_ROW_LOOP(T, VEC, STORE, R, ROW)                                   \
    do {                                                                     \
        size_t end_ = skip + n, t_ = skip / VI_LANES;                        \
        size_t t_end_ = (end_ + VI_LANES - 1) / VI_LANES;                    \
        chains C;                                                            \
        vi_lanes_advance(L, (uint64_t)t_ * (4 / (R)));                       \
        chains_init(&C, L);                                                  \
        for (; t_ < t_end_; t_ += (R)) {                                     \
            VEC v_[R];                                                       \
            for (int c_ = 0; c_ < (R); c_++) ROW(c_, v_[c_]);                \
            chains_step(&C);                                                 \
            if (t_ * VI_LANES >= skip && (t_ + (R)) * VI_LANES <= end_) {    \
                T *dst_ = out + (t_ * VI_LANES - skip);                      \
                for (int c_ = 0; c_ < (R); c_++) STORE(dst_ + c_ * VI_LANES, v_[c_]); \
            } else {                                                         \
                for (int c_ = 0; c_ < (R); c_++)                             \
                    VI_EMIT_ROW(T, STORE, v_[c_], t_ + c_, skip, end_, out); \
            }                                                                \
        }                                                                    \
    } while (0)

#endif
