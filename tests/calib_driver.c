/*
 * calib_driver.c - command-line access to the temperature calibration, for tests.
 *
 *   calib_driver MODE D M     eps for mode exact|bound|leading, dimension D, M points
 *   calib_driver kl EPS D     KL(vMF(1/EPS) || uniform on S^{D-1}), nats
 *   calib_driver logi NU X    log I_NU(X)
 *   calib_driver ratio NU X   I_{NU+1}(X) / I_NU(X)
 *   calib_driver parse TEXT   how softent_calibration_parse reads TEXT: "NAME EPS"
 *
 * Numbers are printed with %.17g.  Errors go to stderr with a nonzero exit.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimator/bessel.h"
#include "softent.h"

static int usage(void)
{
    fprintf(stderr, "usage: calib_driver exact|bound|leading D M\n"
                    "       calib_driver kl EPS D\n"
                    "       calib_driver logi NU X\n"
                    "       calib_driver ratio NU X\n"
                    "       calib_driver parse TEXT\n");
    return 2;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE) {
        fprintf(stderr, "calib_driver: '%s' is not an integer\n", s);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE) {
        fprintf(stderr, "calib_driver: '%s' is not a number\n", s);
        return -1;
    }
    *out = v;
    return 0;
}

static int fail(int rc)
{
    fprintf(stderr, "calib_driver: %s: %s\n", softent_strerror(rc), softent_last_error());
    return 1;
}

/* logi / ratio: the Bessel module itself, which signals bad input with NaN */
static int run_bessel(const char *what, const char *nu_s, const char *x_s)
{
    double nu, x;
    if (parse_double(nu_s, &nu) || parse_double(x_s, &x))
        return 2;
    double v = strcmp(what, "logi") == 0 ? bessel_log_i(nu, x) : bessel_ratio(nu, x);
    if (isnan(v)) {
        fprintf(stderr, "calib_driver: %s needs nu >= 0 and finite x >= 0 (got %g, %g)\n",
                what, nu, x);
        return 1;
    }
    printf("%.17g\n", v);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "parse") == 0) {
        softent_calibration mode;
        double eps = 0.0;
        int rc = softent_calibration_parse(argv[2], &mode, &eps);
        if (rc != SOFTENT_OK)
            return fail(rc);
        printf("%s %.17g\n", softent_calibration_name(mode), eps);
        return 0;
    }
    if (argc != 4)
        return usage();

    if (strcmp(argv[1], "logi") == 0 || strcmp(argv[1], "ratio") == 0)
        return run_bessel(argv[1], argv[2], argv[3]);

    if (strcmp(argv[1], "kl") == 0) {
        double eps, kl;
        int64_t d;
        if (parse_double(argv[2], &eps) || parse_int(argv[3], &d))
            return 2;
        int rc = softent_kl_vmf(eps, d, &kl);
        if (rc != SOFTENT_OK)
            return fail(rc);
        printf("%.17g\n", kl);
        return 0;
    }

    softent_calibration mode;
    double eps;
    int64_t d, m;
    int rc = softent_calibration_parse(argv[1], &mode, &eps);
    if (rc != SOFTENT_OK)
        return fail(rc);
    if (parse_int(argv[2], &d) || parse_int(argv[3], &m))
        return 2;
    rc = softent_calibrate(mode, d, m, &eps);
    if (rc != SOFTENT_OK)
        return fail(rc);
    printf("%.17g\n", eps);
    return 0;
}
