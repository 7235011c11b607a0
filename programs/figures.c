/*
 * figures.c - figures drawn by gnuplot (PNG via pngcairo, and SVG): the
 * per-layer curves and the information plane of an analysis.  softent
 * writes the data and a gnuplot script beside the figures, so a user can
 * restyle them and rerun `gnuplot FILE.gp`.
 */
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "common/fs.h"
#include "figures.h"
#include "softent.h"

static int gnuplot_available(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* DIR/NAME.gp: the figure's script, which takes the terminal and file
 * extension as variables (PNG by default), so that a user can restyle it
 * and rerun gnuplot on it. */
static int write_script(const char *dir, const char *name, const char *body, const char *verb)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gp", dir, name);
    se_atomic_file gp;
    if (se_atomic_open(&gp, path)) return -1;
    fprintf(gp.f, "# softent figure; %s with: gnuplot %s.gp (from %s)\n", verb, name, dir);
    fprintf(gp.f, "if (!exists(\"term\")) term = \"pngcairo size 1200,900 font 'sans,11'\"; if (!exists(\"ext\")) ext = \"png\"\n");
    /* reset first and the output closed last: softent draws its figures'
     * scripts in one gnuplot, one after another */
    fprintf(gp.f, "reset\nset terminal @term\nset output '%s.'.ext\n%s", name, body);
    fprintf(gp.f, "%sset output\n", body[0] && body[strlen(body) - 1] != '\n' ? "\n" : "");
    return se_atomic_commit(&gp) ? -1 : 0;
}

enum { MAX_BATCH = 16 };
static const char *const terms[][2] = {
    {"pngcairo size 1200,900 font 'sans,11'", "png"},
    {"svg size 1200,900 dynamic font 'sans,11'", "svg"},
};

/* DIR/NAME.EXT, or its temporary name while drawn (tmp). */
static void output_path(char *out, size_t size, const char *dir, const char *name, int t, int tmp)
{
    if (tmp) snprintf(out, size, "%s/%s.%s.tmp.%d", dir, name, terms[t][1], (int)getpid());
    else snprintf(out, size, "%s/%s.%s", dir, name, terms[t][1]);
}

/* Draw the scripts of n figures, PNG and SVG: one gnuplot per terminal for
 * all of them, the two at once (one process pays gnuplot's start, cairo's
 * fonts among it, once: an analysis's four figures took 0.24 s a pair at
 * a time), each file drawn under a temporary name and then put in place
 * as every file softent writes is (a figure is never seen half drawn). */
static int draw(const char *dir, char (*names)[64], int n)
{
    char cmd[2][8192];
    for (int t = 0; t < 2; t++) {  /* both commands first: none runs unless both fit */
        const size_t size = sizeof cmd[t];
        size_t len = (size_t)snprintf(cmd[t], size, "cd '%s' && gnuplot -e \"term = \\\"%s\\\"; ext = '%s.tmp.%d'\"", dir,
                                      terms[t][0], terms[t][1], (int)getpid());
        for (int i = 0; i < n && len < size; i++) len += (size_t)snprintf(cmd[t] + len, size - len, " '%s.gp'", names[i]);
        if (len + 16 >= size) return -1;
        snprintf(cmd[t] + len, size - len, " 2>/dev/null");
    }
    pid_t pid[2] = {-1, -1};
    for (int t = 0; t < 2; t++) {
        char *argv[] = {"sh", "-c", cmd[t], NULL};
        if (posix_spawn(&pid[t], "/bin/sh", NULL, NULL, argv, environ) != 0) pid[t] = -1;
    }
    int rc = 0;
    for (int t = 0; t < 2; t++) {
        int status = -1;
        while (pid[t] > 0 && waitpid(pid[t], &status, 0) < 0 && errno == EINTR) {}
        if (pid[t] < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = -1;
    }
    char tmp[4096], path[4096];
    for (int i = 0; i < n; i++)
        for (int t = 0; t < 2; t++) {
            output_path(tmp, sizeof tmp, dir, names[i], t, 1);
            output_path(path, sizeof path, dir, names[i], t, 0);
            if (rc) unlink(tmp);
            else if (se_atomic_adopt(tmp, path)) rc = -3; /* drawn, but not put in place (a full disk) */
        }
    if (rc == -3)
        for (int i = 0; i < n; i++)
            for (int t = 0; t < 2; t++) output_path(tmp, sizeof tmp, dir, names[i], t, 1), unlink(tmp);
    return rc;
}

int figures_render(const char *dir, const char *name, const char *body)
{
    if (!gnuplot_available()) return write_script(dir, name, body, "render") ? -1 : 1;
    char one[1][64];
    snprintf(one[0], sizeof one[0], "%s", name);
    return write_script(dir, name, body, "rerun") || draw(dir, one, 1) ? -1 : 0;
}

/* The figures of one call: every script is written, drawn when gnuplot is
 * there; status 0 (all drawn), 1 (gnuplot missing) or -1 (a script could
 * not be written or gnuplot failed: the first such is the warning). */
typedef struct {
    const char *dir;
    int draw, status;
    char *warning;
    size_t size;
    int n;                      /* figures written, waiting to be drawn */
    char names[MAX_BATCH][64];
} figure_run;

static figure_run figures_begin(const char *dir, char *warning, size_t size)
{
    figure_run fr = {.dir = dir, .draw = gnuplot_available(), .warning = warning, .size = size};
    warning[0] = '\0';
    if (!fr.draw) {
        fr.status = 1;
        snprintf(warning, size, "gnuplot is not installed: figures not drawn; the data and .gp scripts are in %s "
                 "(install gnuplot-nox and run gnuplot NAME.gp there)", dir);
    }
    return fr;
}

/* The first failure is the warning. */
static void note_failure(figure_run *fr, const char *name, int failed)
{
    if (!failed || fr->status < 0) return;
    fr->status = -1;
    if (failed == -2 || failed == -3) snprintf(fr->warning, fr->size, "%s", softent_last_error());
    else snprintf(fr->warning, fr->size, "gnuplot failed drawing %s/%s (run gnuplot %s.gp in %s to see why)", fr->dir, name, name, fr->dir);
}

/* Draw the figures waiting; where gnuplot fails, each on its own, to name
 * the one that fails. */
static void draw_waiting(figure_run *fr)
{
    const int rc = fr->n ? draw(fr->dir, fr->names, fr->n) : 0;
    if (rc == -1)
        for (int i = 0; i < fr->n; i++) note_failure(fr, fr->names[i], draw(fr->dir, fr->names + i, 1));
    else note_failure(fr, fr->names[0], rc);
    fr->n = 0;
}

/* The figure's script, written now; drawn with the others by figures_end. */
static void figure(figure_run *fr, const char *name, const char *body)
{
    if (write_script(fr->dir, name, body, fr->draw ? "rerun" : "render")) {
        note_failure(fr, name, -2);
        return;
    }
    if (!fr->draw) return;
    if (fr->n == MAX_BATCH) draw_waiting(fr);
    snprintf(fr->names[fr->n++], sizeof fr->names[0], "%s", name);
}

static int figures_end(figure_run *fr)
{
    draw_waiting(fr);
    return fr->status;
}

#define PLUGIN_ONLY "plug-in (no correction: biased upward)"
/* A key entry for a series drawn in palette colours: its marker in black,
 * since the palette would colour the key's sample by an arbitrary value. */
#define KEY_POINT(pt, ps, title) "keyentry with points pt " #pt " ps " ps " lc rgb 'black' title '" title "'"
#define CORRECTED "corrected"

/* The three measure panels that follow H(Z) in a 2x2 multiplot, a line per
 * order, appended to body at n: `using` is "'FILE.tsv' using X", col0 the
 * column of the first order's plug-in I_in.  Corrected values lead (solid,
 * with a null +- 2 null sd on I), the plug-in dashed beside them in the
 * same colour. */
static void measure_panels(char *body, size_t size, int n, const char *using, int col0, int n_orders, const int *orders,
                           int corrected, int bars)
{
    static const char *panels[] = {"complexity I(input n-gram; Z)", "expressivity I(output n-gram; Z)", "optimality I(out)/I(in)"};
    /* The key goes under the panel, where it hides no curve, a column per
     * order; what the lines are is said once, in the panel's title. */
    n += snprintf(body + n, size - (size_t)n, "set key outside bottom center vertical maxrows 2 samplen 2 font ',9'\n");
    for (int p = 0; p < 3; p++) {
        const char *how = !corrected ? ", " PLUGIN_ONLY
                          : p < 2 && bars == FIG_BARS_NULL ? "\\n" CORRECTED " +- 2 null sd (solid), plug-in (dashed)"
                          : p < 2 && bars == FIG_BARS_INTERVAL ? "\\n" CORRECTED " with bootstrap intervals (solid), plug-in (dashed)"
                                                                : "\\n" CORRECTED " (solid), plug-in (dashed)";
        n += snprintf(body + n, size - (size_t)n, "set title \"%s%s\"\nplot ", panels[p], how);
        for (int k = 0; k < n_orders; k++) {
            const int c = col0 + FIG_NV * k;
            if (corrected && bars == FIG_BARS_NULL && p < 2)
                n += snprintf(body + n, size - (size_t)n, "%s%s:%d:(2*$%d) with yerrorlines lw 2 lc %d title 'n = %d', ",
                              k ? ", " : "", using, c + FIG_IC_IN + p, c + FIG_SD_IN + p, k + 1, orders[k]);
            else if (corrected && bars == FIG_BARS_INTERVAL && p < 2)
                n += snprintf(body + n, size - (size_t)n, "%s%s:%d:%d:%d with yerrorlines lw 2 lc %d title 'n = %d', ",
                              k ? ", " : "", using, c + FIG_IC_IN + p, c + FIG_LO_IN + 2 * p, c + FIG_HI_IN + 2 * p, k + 1, orders[k]);
            else if (corrected)
                n += snprintf(body + n, size - (size_t)n, "%s%s:%d with linespoints lw 2 lc %d title 'n = %d', ",
                              k ? ", " : "", using, c + (p < 2 ? FIG_IC_IN + p : FIG_OPT_C), k + 1, orders[k]);
            n += snprintf(body + n, size - (size_t)n, "%s%s:%d with linespoints %s lc %d title 'n = %d%s'",
                          k && !corrected ? ", " : "", using, c + p, corrected ? "dt 2 lw 1 pt 6" : "lw 2", k + 1, orders[k],
                          corrected ? " plug-in" : "");
        }
        n += snprintf(body + n, size - (size_t)n, "\n");
    }
    snprintf(body + n, size - (size_t)n, "unset multiplot\n");
}

/* gnuplot lines setting lo and hi, the plane's range, from the plug-in
 * columns px, px+1 and (with a null) the corrected cx, cx+1, which can
 * fall below 0. */
static int plane_range(char *body, size_t size, const char *file, int px, int cx, int corrected)
{
    int n = snprintf(body, size,
                     "stats '%s' using %d:%d name 'P' nooutput\nhi = P_max_x > P_max_y ? P_max_x : P_max_y\nlo = 0\n",
                     file, px, px + 1);
    if (corrected)
        n += snprintf(body + n, size - (size_t)n,
                      "stats '%s' using %d:%d name 'C' nooutput\nif (C_max_x > hi) hi = C_max_x\nif (C_max_y > hi) hi = C_max_y\n"
                      "if (C_min_x < lo) lo = C_min_x\nif (C_min_y < lo) lo = C_min_y\n",
                      file, cx, cx + 1);
    n += snprintf(body + n, size - (size_t)n,
                  "hi = hi * 1.1; lo = lo * 1.1\nif (hi <= lo) hi = lo + 1\nset xrange [lo:hi]\nset yrange [lo:hi]\n");
    return n;
}

/* The plug-in points of a plane, beside the corrected ones: lighter, dashed. */
static int plane_plugin(char *body, size_t size, const char *file, int px, int corrected)
{
    if (corrected)
        return snprintf(body, size, "     '%s' using %d:%d with linespoints dt 2 pt 6 ps 1.2 lc rgb 'gray70' title 'plug-in', \\\n",
                        file, px, px + 1);
    return snprintf(body, size, "     '%s' using %d:%d with lines lc rgb 'gray60' title '" PLUGIN_ONLY "', \\\n", file, px, px + 1);
}

/* Error bars on the corrected points (+- 2 null sd, or the bootstrap
 * interval; p is the order's first column), and their line. */
static int plane_errors(char *body, size_t size, int cx, int p, int bars)
{
    if (bars == FIG_BARS_INTERVAL)
        return snprintf(body, size,
                        "     '' using %d:%d:%d:%d:%d:%d with xyerrorbars pt 0 lc rgb 'gray40' title 'bootstrap interval', \\\n"
                        "     '' using %d:%d with lines lc rgb 'gray40' notitle, \\\n",
                        cx, cx + 1, p + FIG_LO_IN, p + FIG_HI_IN, p + FIG_LO_OUT, p + FIG_HI_OUT, cx, cx + 1);
    const int sx = p + FIG_SD_IN;
    if (bars != FIG_BARS_NULL) return 0;
    return snprintf(body, size,
                    "     '' using %d:%d:(2*$%d):(2*$%d) with xyerrorbars pt 0 lc rgb 'gray40' title '+- 2 null sd', \\\n"
                    "     '' using %d:%d with lines lc rgb 'gray40' notitle, \\\n",
                    cx, cx + 1, sx, sx + 1, cx, cx + 1);
}

/* The data behind a figure, DIR/NAME: a row a point, its leading columns
 * (head names them, lead writes them), then each order's FIG_NV values
 * (figures.h; NaN where undefined).  Written atomically, so a rerun of the
 * .gp never reads half a file. */
typedef void (*lead_fn)(FILE *f, int i, const void *data);

static int write_tsv(const char *dir, const char *name, const char *head, lead_fn lead, const void *data, int n_points,
                     int n_orders, const int *orders, const double *values, char *warning, size_t warning_size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    se_atomic_file a;
    if (se_atomic_open(&a, path)) { snprintf(warning, warning_size, "%s: cannot write", path); return -1; }
    fprintf(a.f, "%s", head);
    for (int k = 0; k < n_orders; k++)
        fprintf(a.f, "\tI_in%d\tI_out%d\toptimality%d\tIc_in%d\tIc_out%d\toptimality_c%d\tsd_in%d\tsd_out%d"
                     "\tIc_in_lo%d\tIc_in_hi%d\tIc_out_lo%d\tIc_out_hi%d", orders[k],
                orders[k], orders[k], orders[k], orders[k], orders[k], orders[k], orders[k], orders[k], orders[k], orders[k], orders[k]);
    fprintf(a.f, "\n");
    for (int i = 0; i < n_points; i++) {
        lead(a.f, i, data);
        for (int k = 0; k < n_orders; k++) {
            const double *v = values + ((int64_t)i * n_orders + k) * FIG_NV;
            for (int j = 0; j < FIG_NV; j++) fprintf(a.f, isfinite(v[j]) ? "\t%.9g" : "\tNaN", v[j]);
        }
        fprintf(a.f, "\n");
    }
    if (se_atomic_commit(&a)) { snprintf(warning, warning_size, "%s: write failed", path); return -1; }
    return 0;
}

static void layer_lead(FILE *f, int i, const void *data)
{
    const figure_data *fd = data;
    fprintf(f, "%d\t%.9g", fd->layers[i], fd->H[i]);
}

static void step_lead(FILE *f, int i, const void *data)
{
    const trajectory_data *td = data;
    fprintf(f, "%lld\t%.9g\t", (long long)td->steps[i], td->H[i]);
    if (td->val_loss[i] == td->val_loss[i]) fprintf(f, "%.9g", td->val_loss[i]);
    else fprintf(f, "NaN");
}

/* Whether order k has a point whose corrected I(in) and I(out) are both defined. */
static int any_corrected_point(const double *values, int n_points, int n_orders, int k)
{
    for (int i = 0; i < n_points; i++) {
        const double *v = values + ((int64_t)i * n_orders + k) * FIG_NV;
        if (isfinite(v[FIG_IC_IN]) && isfinite(v[FIG_IC_OUT])) return 1;
    }
    return 0;
}

int figures_write(const char *dir, const figure_data *fd, char *warning, size_t warning_size)
{
    warning[0] = '\0';
    /* The data: one row a layer, columns layer, H, then per order its FIG_NV values. */
    int rc = write_tsv(dir, "layers.tsv", "layer\tH", layer_lead, fd, fd->n_layers, fd->n_orders, fd->orders, fd->values,
                       warning, warning_size);
    if (rc) return rc;
    figure_run fr = figures_begin(dir, warning, warning_size);

    /* Per-layer curves: four panels, one line per n-gram order. */
    char body[16384];
    int n = snprintf(body, sizeof body,
                     "set datafile separator '\\t'\nset datafile missing 'NaN'\nset key autotitle columnhead\nset grid\n"
                     "set multiplot layout 2,2 title '%s'\nset xlabel 'layer'\n%s"
                     "set title 'H(Z)'\nplot 'layers.tsv' using 1:2 with linespoints lw 2 notitle\n",
                     fd->title, fd->layers[fd->n_layers - 1] - fd->layers[0] <= 24 ? "set xtics 1\n" : "");
    measure_panels(body, sizeof body, n, "'layers.tsv' using 1", 3, fd->n_orders, fd->orders, fd->corrected, fd->bars);
    figure(&fr, "layers", body);

    /* The information plane per order: one point a layer, the bound diagonal;
     * the plug-in alone where no layer has a corrected point (too little
     * data for the correction), since gnuplot refuses a plot with none. */
    for (int k = 0; k < fd->n_orders; k++) {
        const int corrected = fd->corrected && any_corrected_point(fd->values, fd->n_layers, fd->n_orders, k);
        const int p = 3 + FIG_NV * k, c = corrected ? p + FIG_IC_IN : p;
        n = snprintf(body, sizeof body,
                     "set datafile separator '\\t'\nset datafile missing 'NaN'\nset grid\nset size square\nset key top left\n"
                     "set title '%s: information plane, n = %d'\n"
                     "set xlabel 'complexity I(X;Z), input %d-gram'\nset ylabel 'expressivity I(Y;Z), output %d-gram'\n",
                     fd->title, fd->orders[k], fd->orders[k], fd->orders[k]);
        n += plane_range(body + n, sizeof body - (size_t)n, "layers.tsv", p, c, corrected);
        n += snprintf(body + n, sizeof body - (size_t)n,
                      "set cbrange [%d:%d]\nset cbtics 1\nset cblabel 'layer'\n"
                      "set palette defined (0 '#440154', 1 '#31688e', 2 '#35b779', 3 '#fde725')\n"
                      "plot x with lines dt 2 lc rgb 'gray40' title 'bound I(Y;Z) = I(X;Z)', \\\n",
                      fd->layers[0], fd->layers[fd->n_layers - 1] > fd->layers[0] ? fd->layers[fd->n_layers - 1] : fd->layers[0] + 1);
        n += plane_plugin(body + n, sizeof body - (size_t)n, "layers.tsv", p, corrected);
        n += plane_errors(body + n, sizeof body - (size_t)n, c, p, fd->bars);
        snprintf(body + n, sizeof body - (size_t)n,
                 "     '' using %d:%d:1 with points pt 7 ps 1.6 palette notitle, \\\n"
                 "     '' using %d:%d:(sprintf('%%d', $1)) with labels offset 1,0.6 font ',9' notitle%s\n",
                 c, c + 1, c, c + 1, corrected ? ", \\\n     " KEY_POINT(7, "1.6", CORRECTED) : "");
        char name[64];
        snprintf(name, sizeof name, "plane_n%d", fd->orders[k]);
        figure(&fr, name, body);
    }
    return figures_end(&fr);
}

/* The information plane over training for order k: a point per checkpoint. */
static void trajectory_plane(figure_run *fr, const trajectory_data *td, int k, const char *common)
{
    char body[16384];
    const int corrected = td->corrected && any_corrected_point(td->values, td->n_points, td->n_orders, k);
    const int p = 4 + FIG_NV * k, c = corrected ? p + FIG_IC_IN : p;
    const long long s0 = (long long)td->steps[0], s1 = (long long)td->steps[td->n_points - 1];
    int n = snprintf(body, sizeof body,
                     "%sset size square\nset key top left\nset title '%s: information plane over training, n = %d (layer means)'\n"
                     "set xlabel 'complexity I(X;Z), input %d-gram'\nset ylabel 'expressivity I(Y;Z), output %d-gram'\n",
                     common, td->title, td->orders[k], td->orders[k], td->orders[k]);
    n += plane_range(body + n, sizeof body - (size_t)n, "trajectory.tsv", p, c, corrected);
    n += snprintf(body + n, sizeof body - (size_t)n,
                  "set logscale cb\nset cblabel 'step'\nplot x with lines dt 2 lc rgb 'gray40' title 'bound I(Y;Z) = I(X;Z)', \\\n");
    n += plane_plugin(body + n, sizeof body - (size_t)n, "trajectory.tsv", p, corrected);
    n += plane_errors(body + n, sizeof body - (size_t)n, c, p, td->bars);
    snprintf(body + n, sizeof body - (size_t)n,
             "     '' using %d:%d:($1 > 0 ? $1 : 1) with points pt 7 ps 1.5 palette notitle, \\\n"
             "     '' using ($1 == %lld ? $%d : NaN):%d with points pt 6 ps 3.5 lw 2 lc rgb 'black' title 'start (step %lld)', \\\n"
             "     '' using ($1 == %lld ? $%d : NaN):%d with points pt 4 ps 3.5 lw 2 lc rgb 'red' title 'end (step %lld)'%s\n",
             c, c + 1, s0, c, c + 1, s0, s1, c, c + 1, s1, corrected ? ", \\\n     " KEY_POINT(7, "1.5", CORRECTED) : "");
    char name[64];
    snprintf(name, sizeof name, "trajectory_plane_n%d", td->orders[k]);
    figure(fr, name, body);
}

int figures_write_trajectory(const char *dir, const trajectory_data *td, char *warning, size_t warning_size)
{
    warning[0] = '\0';
    int rc = write_tsv(dir, "trajectory.tsv", "step\tH\tval_loss", step_lead, td, td->n_points, td->n_orders, td->orders,
                       td->values, warning, warning_size);
    if (rc) return rc;
    figure_run fr = figures_begin(dir, warning, warning_size);
    /* Steps are log-spaced, so step axes and colours are logarithmic; step 0
     * (the initial weights, if present) is drawn at 1, the left edge. */
    const char *common =
        "set datafile separator '\\t'\nset datafile missing 'NaN'\nset grid\n"
        "set palette defined (0 '#440154', 1 '#31688e', 2 '#35b779', 3 '#fde725')\n";
    for (int k = 0; k < td->n_orders; k++) trajectory_plane(&fr, td, k, common);
    char body[16384];
    int n = snprintf(body, sizeof body,
                     "%sset multiplot layout 2,2 title '%s: layer means over training'\nset xlabel 'step'\nset logscale x\n"
                     "set title 'H(Z)'\nplot 'trajectory.tsv' using ($1 > 0 ? $1 : 1):2 with linespoints lw 2 notitle\n",
                     common, td->title);
    measure_panels(body, sizeof body, n, "'trajectory.tsv' using ($1 > 0 ? $1 : 1)", 4, td->n_orders, td->orders, td->corrected, td->bars);
    figure(&fr, "trajectory", body);

    int known_loss = 0;
    for (int i = 0; i < td->n_points; i++) known_loss += td->val_loss[i] == td->val_loss[i];
    if (known_loss == 0) return figures_end(&fr); /* no loss log: nothing to plot against */
    n = snprintf(body, sizeof body,
                 "%sset title '%s: validation loss against optimality'\nset xlabel 'optimality I(out)/I(in) (layer mean), %s'\n"
                 "set ylabel 'validation loss (nats/token)'\nset logscale cb\nset cblabel 'step'\nplot ",
                 common, td->title, td->corrected ? CORRECTED : PLUGIN_ONLY);
    for (int k = 0; k < td->n_orders; k++) {
        const int o = 4 + FIG_NV * k + (td->corrected ? FIG_OPT_C : FIG_OPT);
        n += snprintf(body + n, sizeof body - (size_t)n,
                      "%s'trajectory.tsv' using %d:3 with lines lc rgb 'gray60' notitle, '' using %d:3:($1 > 0 ? $1 : 1) with points pt %d ps 1.5 palette notitle, "
                      "keyentry with points pt %d ps 1.5 lc rgb 'black' title 'n = %d'",
                      k ? ", " : "", o, o, 5 + 2 * k, 5 + 2 * k, td->orders[k]);
    }
    snprintf(body + n, sizeof body - (size_t)n, "\n");
    figure(&fr, "loss_optimality", body);
    return figures_end(&fr);
}
