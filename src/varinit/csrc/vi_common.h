/* vi_common.h - compiler portability macros shared by every varinit C file.
 *
 * Plain C99, no Python headers.  Every kernel file includes this first. */
#ifndef VARINIT_VI_COMMON_H
#define VARINIT_VI_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(_MSC_VER) && !defined(__cplusplus) && !defined(inline)
#  define inline __inline     /* MSVC's C mode spells inline __inline */
#endif
#define VI_INLINE static inline

/* Output bits must not depend on the compiler: no multiply-add contraction
 * (the build also passes -ffp-contract=off; MSVC before VS2022 17.0
 * contracts under /fp:precise) and no fast-math. */
#if defined(_MSC_VER) && !defined(__clang__)
#  pragma fp_contract(off)
#elif defined(__clang__)
#  pragma STDC FP_CONTRACT OFF
#endif
#if defined(__FAST_MATH__)
#  error "varinit kernels must not be compiled with -ffast-math: it changes output bits"
#endif
#include <float.h>
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#  error "varinit kernels need FLT_EVAL_METHOD == 0 (SSE2 math, not x87 extended precision)"
#endif

/* Bit-casts without aliasing violations; compilers reduce them to moves. */
#include <string.h>
VI_INLINE uint32_t vi_f32_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
VI_INLINE float vi_bits_f32(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }
VI_INLINE uint64_t vi_f64_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
VI_INLINE double vi_bits_f64(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

/* Order float16/bfloat16 bit patterns as their values (sign-magnitude). */
VI_INLINE int32_t vi_half_key(uint16_t h)
{
    return (h & 0x8000u) ? -(int32_t)(h & 0x7FFFu) : (int32_t)h;
}

#if defined(_MSC_VER) && !defined(__clang__)
#  include <intrin.h>
#  define vi_popcount32(x) ((int)__popcnt(x))
/* Index of the lowest set bit of x != 0. */
VI_INLINE int vi_ctz32(unsigned x) { unsigned long i; _BitScanForward(&i, x); return (int)i; }
#else
#  define vi_popcount32(x) __builtin_popcount(x)
#  define vi_ctz32(x) __builtin_ctz(x)
#endif

#endif
