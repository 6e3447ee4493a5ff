/* vi_dispatch.h - which kernel tables exist and which this CPU can run.
 * The probe (CPUID + XGETBV on x86-64) runs once, at first use. */
#ifndef VARINIT_VI_DISPATCH_H
#define VARINIT_VI_DISPATCH_H

#include "vi_kernels.h"

/* The table called `name` if it is compiled in and this CPU/OS runs it, else NULL. */
const vi_kernel_table *vi_kernel_table_named(const char *name);
/* Name of the fastest table this machine runs. */
const char *vi_best_kernel_name(void);
/* "" if table `name` runs here, a space-separated list of the missing CPU
 * features if not, NULL if no table of that name is compiled in. */
const char *vi_missing_features(const char *name);
/* The probed features, space-separated (e.g. "avx2 fma avx512f ..."). */
const char *vi_cpu_features_string(void);

#endif
