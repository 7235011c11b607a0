/*
 * figures.h - the figures of an analysis, drawn with gnuplot.
 */
#ifndef SOFTENT_FIGURES_H
#define SOFTENT_FIGURES_H

#include <stddef.h>
#include <stdint.h>

/* The values of one point (a layer, or a checkpoint's layer mean) per
 * order: plug-in I_in, I_out, optimality; the headline's corrected I_in,
 * I_out, optimality; the nulls' sds of I_in and I_out; the corrected I_in's
 * and I_out's bootstrap intervals.  NaN where undefined
 * (no correction or no null run, I(in) <= 0). */
enum { FIG_I_IN, FIG_I_OUT, FIG_OPT, FIG_IC_IN, FIG_IC_OUT, FIG_OPT_C, FIG_SD_IN, FIG_SD_OUT,
       FIG_LO_IN, FIG_HI_IN, FIG_LO_OUT, FIG_HI_OUT, FIG_NV };

/* The error bars on the corrected I: none, +- 2 null sd, or the bootstrap
 * interval (FIG_LO_* .. FIG_HI_*). */
enum { FIG_BARS_NONE, FIG_BARS_NULL, FIG_BARS_INTERVAL };

typedef struct {
    const char *title;
    int corrected;         /* corrected values lead, the plug-in beside them */
    int bars;              /* FIG_BARS_* on the corrected I */
    int n_layers;
    const int *layers;     /* [n_layers] layer indices */
    const double *H;       /* [n_layers] */
    int n_orders;
    const int *orders;     /* [n_orders] n-gram orders */
    const double *values;  /* [n_layers, n_orders, FIG_NV] */
} figure_data;

/* Write DIR/layers.tsv and the .gp scripts, and draw DIR/layers.{png,svg}
 * and DIR/plane_n{N}.{png,svg}.  Returns 0; 1 when gnuplot is missing
 * (data and scripts written, nothing drawn); -1 when a file could not be
 * written or gnuplot failed (every other figure is still tried).  Nonzero
 * comes with a one-line warning. */
int figures_write(const char *dir, const figure_data *fd, char *warning, size_t warning_size);

/* A training trajectory: the layer means of each checkpoint. */
typedef struct {
    const char *title;
    int corrected, bars;       /* as figure_data's */
    int n_points;
    const int64_t *steps;      /* [n_points] ascending */
    const double *H;           /* [n_points] */
    const double *val_loss;    /* [n_points], NaN where unknown */
    int n_orders;
    const int *orders;
    const double *values;      /* [n_points, n_orders, FIG_NV] */
} trajectory_data;

/* Write DIR/trajectory.tsv and draw DIR/trajectory_plane_n{N}, DIR/trajectory
 * (measures against step) and DIR/loss_optimality, as PNG and SVG; returns
 * as figures_write. */
int figures_write_trajectory(const char *dir, const trajectory_data *td, char *warning, size_t warning_size);

/* Write DIR/NAME.gp (the gnuplot lines of body after the terminal and
 * output) and render DIR/NAME.png and DIR/NAME.svg.  0, or 1 when gnuplot
 * is missing (the script is still written), -1 when a write or gnuplot
 * failed. */
int figures_render(const char *dir, const char *name, const char *body);

#endif
