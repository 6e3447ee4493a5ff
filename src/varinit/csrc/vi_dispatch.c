/* vi_dispatch.c - kernel tables by name. */
#include <string.h>
#include "vi_dispatch.h"

const vi_kernel_table *vi_kernel_table_named(const char *name)
{
    return strcmp(name, "scalar") == 0 ? &vi_kernels_scalar : NULL;
}

const char *vi_best_kernel_name(void) { return "scalar"; }

const char *vi_missing_features(const char *name)
{
    return strcmp(name, "scalar") == 0 ? "" : NULL;
}

const char *vi_cpu_features_string(void) { return ""; }
