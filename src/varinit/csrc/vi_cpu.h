/* vi_cpu.h - what the CPU and the OS let varinit's kernels use.
 *
 * x86-64: CPUID for the instruction sets, XGETBV for the register state the
 * OS saves on context switches (a CPU with AVX-512 under an OS that does not
 * save ZMM state must not run AVX-512 code).  Any other architecture, or a
 * compiler without the probing intrinsics, reports no features. */
#ifndef VARINIT_VI_CPU_H
#define VARINIT_VI_CPU_H

enum {
    VI_CPU_POPCNT     = 1u << 0,
    VI_CPU_AVX        = 1u << 1,   /* CPU has it and the OS saves YMM state */
    VI_CPU_F16C       = 1u << 2,
    VI_CPU_FMA        = 1u << 3,
    VI_CPU_AVX2       = 1u << 4,
    VI_CPU_AVX512F    = 1u << 5,   /* CPU has it and the OS saves ZMM/opmask state */
    VI_CPU_AVX512DQ   = 1u << 6,
    VI_CPU_AVX512BW   = 1u << 7,
    VI_CPU_AVX512VL   = 1u << 8,
    VI_CPU_AVX512BF16 = 1u << 9,   /* reported only; no kernel needs it */
    VI_CPU_NFEATURES  = 10
};

/* Bit set of the usable features; probed on the first call, then cached. */
unsigned vi_cpu_features(void);
/* Lower-case name of feature bit number `i` (0 <= i < VI_CPU_NFEATURES). */
const char *vi_cpu_feature_name(int i);

#endif
