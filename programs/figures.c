/*
 * figures.c - figures drawn by gnuplot (PNG via pngcairo, and SVG): the
 * per-layer curves and the information plane of an analysis.  softent
 * writes the data and a gnuplot script beside the figures, so a user can
 * restyle them and rerun `gnuplot FILE.gp`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "figures.h"

static int gnuplot_available(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* Run a script once per terminal: PNG and SVG of the same figure. */
static int render(const char *dir, const char *name, const char *body)
{
    static const char *terms[][2] = {
        {"pngcairo size 1200,900 font 'sans,11'", "png"},
        {"svg size 1200,900 dynamic font 'sans,11'", "svg"},
    };
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gp", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "# softent figure; rerun with: gnuplot %s.gp (from %s)\n", name, dir);
    fprintf(f, "if (!exists(\"term\")) term = \"pngcairo size 1200,900 font 'sans,11'\"; if (!exists(\"ext\")) ext = \"png\"\n");
    fprintf(f, "set terminal @term\nset output '%s.'.ext\n%s", name, body);
    if (fclose(f) != 0) return -1;
    for (int t = 0; t < 2; t++) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot -e \"term = \\\"%s\\\"; ext = '%s'\" '%s.gp' 2>/dev/null", dir,
                 terms[t][0], terms[t][1], name);
        if (system(cmd) != 0) return -1;
    }
    return 0;
}

int figures_write(const char *dir, const figure_data *fd, char *warning, size_t warning_size)
{
    warning[0] = '\0';
    /* The data: one row a layer, columns layer, H, then per order I_in, I_out, optimality. */
    char path[4096];
    snprintf(path, sizeof path, "%s/layers.tsv", dir);
    FILE *f = fopen(path, "w");
    if (!f) { snprintf(warning, warning_size, "%s: cannot write", path); return -1; }
    fprintf(f, "layer\tH");
    for (int k = 0; k < fd->n_orders; k++)
        fprintf(f, "\tI_in%d\tI_out%d\toptimality%d", fd->orders[k], fd->orders[k], fd->orders[k]);
    fprintf(f, "\n");
    for (int l = 0; l < fd->n_layers; l++) {
        fprintf(f, "%d\t%.9g", fd->layers[l], fd->H[l]);
        for (int k = 0; k < fd->n_orders; k++) {
            const double *v = fd->values + ((int64_t)l * fd->n_orders + k) * 3;
            fprintf(f, "\t%.9g\t%.9g\t%.9g", v[0], v[1], v[2]);
        }
        fprintf(f, "\n");
    }
    if (fclose(f) != 0) { snprintf(warning, warning_size, "%s: write failed", path); return -1; }
    if (!gnuplot_available()) {
        snprintf(warning, warning_size, "gnuplot is not installed: figures skipped (install gnuplot-nox; data in %s)", path);
        return 1;
    }

    /* Per-layer curves: four panels, one line per n-gram order. */
    char body[16384];
    int n = snprintf(body, sizeof body,
                     "set datafile separator '\\t'\nset key autotitle columnhead\nset grid\n"
                     "set multiplot layout 2,2 title '%s'\nset xlabel 'layer'\n%s"
                     "set title 'H(Z)'\nplot 'layers.tsv' using 1:2 with linespoints lw 2 notitle\n",
                     fd->title, fd->layers[fd->n_layers - 1] - fd->layers[0] <= 24 ? "set xtics 1\n" : "");
    static const char *panels[] = {"complexity I(input n-gram; Z)", "expressivity I(output n-gram; Z)", "optimality I(out)/I(in)"};
    for (int p = 0; p < 3; p++) {
        n += snprintf(body + n, sizeof body - (size_t)n, "set title '%s'\nplot ", panels[p]);
        for (int k = 0; k < fd->n_orders; k++)
            n += snprintf(body + n, sizeof body - (size_t)n, "%s'layers.tsv' using 1:%d with linespoints lw 2 title 'n = %d'",
                          k ? ", " : "", 3 + 3 * k + p, fd->orders[k]);
        n += snprintf(body + n, sizeof body - (size_t)n, "\n");
    }
    snprintf(body + n, sizeof body - (size_t)n, "unset multiplot\n");
    if (render(dir, "layers", body) != 0) { snprintf(warning, warning_size, "gnuplot failed drawing %s/layers", dir); return -1; }

    /* The information plane per order: one point a layer, the bound diagonal. */
    for (int k = 0; k < fd->n_orders; k++) {
        int c = 3 + 3 * k;
        snprintf(body, sizeof body,
                 "set datafile separator '\\t'\nset grid\nset size square\n"
                 "set title '%s: information plane, n = %d'\n"
                 "set xlabel 'complexity I(X;Z), input %d-gram'\nset ylabel 'expressivity I(Y;Z), output %d-gram'\n"
                 "stats 'layers.tsv' using %d:%d nooutput\nhi = (STATS_max_x > STATS_max_y ? STATS_max_x : STATS_max_y) * 1.1\n"
                 "if (hi <= 0) hi = 1\nset xrange [0:hi]\nset yrange [0:hi]\nset cbrange [%d:%d]\nset cblabel 'layer'\n"
                 "set palette defined (0 '#440154', 1 '#31688e', 2 '#35b779', 3 '#fde725')\n"
                 "plot x with lines dt 2 lc rgb 'gray40' title 'bound I(Y;Z) = I(X;Z)', \\\n"
                 "     'layers.tsv' using %d:%d with lines lc rgb 'gray70' notitle, \\\n"
                 "     '' using %d:%d:1 with points pt 7 ps 1.6 palette notitle, \\\n"
                 "     '' using %d:%d:(sprintf('%%d', $1)) with labels offset 1,0.6 font ',9' notitle\n",
                 fd->title, fd->orders[k], fd->orders[k], fd->orders[k], c, c + 1, fd->layers[0],
                 fd->layers[fd->n_layers - 1] > fd->layers[0] ? fd->layers[fd->n_layers - 1] : fd->layers[0] + 1,
                 c, c + 1, c, c + 1, c, c + 1);
        char name[64];
        snprintf(name, sizeof name, "plane_n%d", fd->orders[k]);
        if (render(dir, name, body) != 0) { snprintf(warning, warning_size, "gnuplot failed drawing %s/%s", dir, name); return -1; }
    }
    return 0;
}
