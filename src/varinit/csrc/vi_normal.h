/* vi_normal.h - the ziggurat's slow paths, shared by every kernel file.
 *
 * A candidate that fails the fast test (docs/stream.md 5.2) is finished
 * here, in scalar code, on every path: it is rare (1.2 % of candidates), and
 * one definition keeps the paths' bits equal by construction. */
#ifndef VARINIT_VI_NORMAL_H
#define VARINIT_VI_NORMAL_H

#include "vi_stream.h"
#include "vi_ziggurat.h"

/* The ziggurat's slow paths for a candidate of layer k with magnitude *x
 * that failed the fast test: the tail beyond r (k = 0, never rejects) or a
 * wedge test (rejects).  They read wedge lane l only. */
VI_INLINE int vi_zig_slow_f32(vi_lanes *W, int l, unsigned k, float *x)
{
    if (k == 0) {
        for (;;) {
            float t = -vi_log_f32(vi_open_f32(vi_lane_next(W, l))) * VI_ZIG_R_INV_F32;
            float e = -vi_log_f32(vi_open_f32(vi_lane_next(W, l)));
            if (t * t < e + e) { *x = vi_zig_x_f32[1] + t; return 1; }
        }
    }
    float u = vi_unit_f32(vi_lane_next(W, l));
    float y = vi_zig_f_f32[k] + u * (vi_zig_f_f32[k + 1] - vi_zig_f_f32[k]);
    return vi_log_f32(y) < (*x * *x) * -0.5f;
}

VI_INLINE double vi_wedge_unit_f64(vi_lanes *W, int l)
{
    uint32_t first = vi_lane_next(W, l);
    return vi_unit_f64(first, vi_lane_next(W, l));
}

VI_INLINE double vi_wedge_open_f64(vi_lanes *W, int l)
{
    uint32_t first = vi_lane_next(W, l);
    return vi_open_f64(first, vi_lane_next(W, l));
}

VI_INLINE int vi_zig_slow_f64(vi_lanes *W, int l, unsigned k, double *x)
{
    if (k == 0) {
        for (;;) {
            double t = -vi_log_f64(vi_wedge_open_f64(W, l)) * VI_ZIG_R_INV_F64;
            double e = -vi_log_f64(vi_wedge_open_f64(W, l));
            if (t * t < e + e) { *x = vi_zig_x_f64[1] + t; return 1; }
        }
    }
    double u = vi_wedge_unit_f64(W, l);
    double y = vi_zig_f_f64[k] + u * (vi_zig_f_f64[k + 1] - vi_zig_f_f64[k]);
    return vi_log_f64(y) < (*x * *x) * -0.5;
}

#endif
