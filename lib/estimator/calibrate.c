/*
 * calibrate.c - the temperature eps of the soft assignment.
 *
 * eps is set so that one soft bin is "worth" one of m hard bins: the vMF with
 * concentration kappa = 1/eps has KL(vMF || uniform on S^{d-1}) = log m.
 *   exact    solve KL(eps, d) = log m (KL from bessel.c, free of cancellation)
 *   bound    the reference Python's find_eps: solve a lower bound on the KL by
 *            scipy's brentq on [1e-5, 1], reproducing its numbers
 *   leading  eps = 1 / sqrt(2 d ln m), the small-kappa leading order
 *            (KL ~ kappa^2 / (2 d)), i.e. the closed form
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bessel.h"
#include "common/error.h"
#include "softent.h"

/* The bracket and tolerances of the reference's find_eps (soft_h,
 * temp_calibration.py: brentq(..., xtol=1e-12, rtol=1e-10) on (1e-5, 1)). */
#define BOUND_EPS_LO 1e-5
#define BOUND_EPS_HI 1.0
#define BOUND_XTOL 1e-12
#define BOUND_RTOL 1e-10
#define BRENT_MAXITER 100 /* scipy's default */

const char *softent_calibration_name(softent_calibration mode)
{
    switch (mode) {
    case SOFTENT_CAL_EXACT: return "exact";
    case SOFTENT_CAL_BOUND: return "bound";
    case SOFTENT_CAL_LEADING: return "leading";
    case SOFTENT_CAL_FIXED: return "fixed";
    }
    return "unknown";
}

int softent_calibration_parse(const char *s, softent_calibration *mode, double *eps_fixed)
{
    static const softent_calibration named[] = {SOFTENT_CAL_EXACT, SOFTENT_CAL_BOUND,
                                                SOFTENT_CAL_LEADING};
    if (!s || !mode)
        return se_fail(SOFTENT_E_INVALID, "calibration: no text or no output to parse into");
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strcmp(s, softent_calibration_name(named[i])) == 0) {
            *mode = named[i];
            return SOFTENT_OK;
        }
    }

    /* strtod would skip leading blanks and accept "nan"/"inf": reject those here */
    char *end = NULL;
    errno = 0;
    double v = (*s == '\0' || strchr(" \t\n\v\f\r", *s)) ? NAN : strtod(s, &end);
    if (!end || end == s || *end != '\0' || errno == ERANGE || !isfinite(v) || !(v > 0.0))
        return se_fail(SOFTENT_E_INVALID,
                       "calibration '%.64s' is not valid: use exact, bound, leading or a "
                       "positive finite number (a fixed eps)", s);
    *mode = SOFTENT_CAL_FIXED;
    if (eps_fixed)
        *eps_fixed = v;
    return SOFTENT_OK;
}

/* ---- Brent's method, as scipy.optimize.brentq does it ------------------------
 * The bound mode must reproduce the reference's numbers, which are brentq's
 * stopping point (rtol = 1e-10), not the root: so this follows brentq's steps
 * (inverse quadratic / secant, its acceptance test and its delta step) exactly.
 * fa, fb: f at the ends, of opposite signs (or one of them 0). */

typedef double (*root_fn)(double x, const void *ctx);

static int brent(root_fn f, const void *ctx, double xa, double xb, double fa, double fb,
                 double xtol, double rtol, double *root)
{
    double xpre = xa, xcur = xb, fpre = fa, fcur = fb;
    double xblk = 0.0, fblk = 0.0, spre = 0.0, scur = 0.0;

    if (fpre == 0.0) {
        *root = xpre;
        return 0;
    }
    if (fcur == 0.0) {
        *root = xcur;
        return 0;
    }
    for (int it = 0; it < BRENT_MAXITER; it++) {
        if (fpre != 0.0 && fcur != 0.0 && signbit(fpre) != signbit(fcur)) {
            xblk = xpre; /* keep the bracket [xcur, xblk] */
            fblk = fpre;
            spre = scur = xcur - xpre;
        }
        if (fabs(fblk) < fabs(fcur)) { /* xcur is the best point so far */
            xpre = xcur, xcur = xblk, xblk = xpre;
            fpre = fcur, fcur = fblk, fblk = fpre;
        }
        double delta = 0.5 * (xtol + rtol * fabs(xcur));
        double sbis = 0.5 * (xblk - xcur);
        if (fcur == 0.0 || fabs(sbis) < delta) {
            *root = xcur;
            return 0;
        }
        if (fabs(spre) > delta && fabs(fcur) < fabs(fpre)) {
            double stry;
            if (xpre == xblk) { /* secant */
                stry = -fcur * (xcur - xpre) / (fcur - fpre);
            } else { /* inverse quadratic through the three points */
                double dpre = (fpre - fcur) / (xpre - xcur);
                double dblk = (fblk - fcur) / (xblk - xcur);
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre));
            }
            if (2.0 * fabs(stry) < fmin(fabs(spre), 3.0 * fabs(sbis) - delta)) {
                spre = scur; /* a short, trusted step */
                scur = stry;
            } else {
                spre = sbis, scur = sbis;
            }
        } else {
            spre = sbis, scur = sbis;
        }
        xpre = xcur;
        fpre = fcur;
        xcur += fabs(scur) > delta ? scur : (sbis > 0.0 ? delta : -delta);
        fcur = f(xcur, ctx);
    }
    *root = xcur;
    return -1;
}

/* ---- exact ------------------------------------------------------------------- */

typedef struct {
    double nu, target;
} kl_ctx;

/* KL(eps = e^u) - log m; u = log eps spreads eps from 1e-12 (d = 2) to ~1 evenly. */
static double exact_residual(double u, const void *ctx)
{
    const kl_ctx *c = ctx;
    return bessel_eval(c->nu, exp(-u)).kl - c->target;
}

static int calibrate_exact(int64_t d, int64_t m, double *eps)
{
    kl_ctx c = {0.5 * (double)d - 1.0, log((double)m)};
    /* start at the leading order (right for large d) and widen by doubling steps
     * in log eps until KL - log m changes sign: KL decreases in eps */
    double u0 = -0.5 * log(2.0 * (double)d * c.target), f0 = exact_residual(u0, &c);
    double u1 = u0, f1 = f0, step = f0 > 0.0 ? 1.0 : -1.0;
    while (isfinite(f1) && f1 != 0.0 && signbit(f1) == signbit(f0) && fabs(u1) < 700.0) {
        u0 = u1, f0 = f1;
        u1 += step;
        step *= 2.0;
        f1 = exact_residual(u1, &c);
    }
    if (!isfinite(f1) || (f1 != 0.0 && signbit(f1) == signbit(f0)))
        return se_fail(SOFTENT_E_NUMERIC,
                       "exact calibration: no eps in (1e-300, 1e300) has KL = log m "
                       "(d = %lld, m = %lld)", (long long)d, (long long)m);

    /* tolerances in log eps: ~1e-15 relative in eps, above the ulp of u */
    double u;
    if (brent(exact_residual, &c, u0, u1, f0, f1, 2e-15, 4.0 * DBL_EPSILON, &u) != 0)
        return se_fail(SOFTENT_E_NUMERIC,
                       "exact calibration did not converge (d = %lld, m = %lld)",
                       (long long)d, (long long)m);
    *eps = exp(u);
    return SOFTENT_OK;
}

/* ---- bound (the reference's find_eps) ---------------------------------------- */

/* KL_lower = G(d/2, d/2, kappa)/eps - Phi_plus(eps, d), G(a, b, k) = k / (a + sqrt(k^2 + b^2)),
 * Phi_plus = sqrt(k^2 + nu^2) - nu + nu ln((d - 2) / (nu + sqrt(k^2 + nu^2))).
 * Operations in the reference's order so that brentq's path is the same. */
static double kl_lower(double eps, double d)
{
    double kappa = 1.0 / eps, half = d / 2.0, nu = d / 2.0 - 1.0;
    double g = kappa / (half + sqrt(kappa * kappa + half * half));
    double root = sqrt(kappa * kappa + nu * nu);
    double phi_plus = root - nu + nu * log((d - 2.0) / (nu + root));
    return g / eps - phi_plus;
}

typedef struct {
    double d, target;
} bound_ctx;

static double bound_residual(double eps, const void *ctx)
{
    const bound_ctx *c = ctx;
    return kl_lower(eps, c->d) - c->target;
}

static int calibrate_bound(int64_t d, int64_t m, double *eps)
{
    if (d <= 2)
        return se_fail(SOFTENT_E_INVALID,
                       "bound calibration needs d > 2 (its Phi_plus is singular at d = 2), "
                       "got d = %lld; use exact", (long long)d);
    bound_ctx c = {(double)d, log((double)m)};
    double f_lo = bound_residual(BOUND_EPS_LO, &c), f_hi = bound_residual(BOUND_EPS_HI, &c);
    /* the reference raises here; so do we, rather than return an end point */
    if (!(f_lo >= 0.0))
        return se_fail(SOFTENT_E_NUMERIC,
                       "bound calibration: KL_lower(eps = %g) = %.6g < log m = %.6g for d = %lld, "
                       "m = %lld, so no eps in [%g, %g] solves it; use exact",
                       BOUND_EPS_LO, f_lo + c.target, c.target, (long long)d, (long long)m,
                       BOUND_EPS_LO, BOUND_EPS_HI);
    if (!(f_hi <= 0.0))
        return se_fail(SOFTENT_E_NUMERIC,
                       "bound calibration: KL_lower(eps = %g) = %.6g > log m = %.6g for d = %lld, "
                       "m = %lld, so no eps in [%g, %g] solves it; use exact",
                       BOUND_EPS_HI, f_hi + c.target, c.target, (long long)d, (long long)m,
                       BOUND_EPS_LO, BOUND_EPS_HI);
    if (brent(bound_residual, &c, BOUND_EPS_LO, BOUND_EPS_HI, f_lo, f_hi, BOUND_XTOL,
              BOUND_RTOL, eps) != 0)
        return se_fail(SOFTENT_E_NUMERIC,
                       "bound calibration did not converge in %d steps (d = %lld, m = %lld)",
                       BRENT_MAXITER, (long long)d, (long long)m);
    return SOFTENT_OK;
}

/* ---- public ------------------------------------------------------------------ */

/* Dimensions past this lose exactness in nu = d/2 - 1 and j (nu + j). */
#define MAX_DIM ((int64_t)1 << 40)

static int check_dim(int64_t d)
{
    if (d < 2 || d > MAX_DIM)
        return se_fail(SOFTENT_E_INVALID,
                       "calibration: d = %lld is not a valid dimension (need 2 <= d <= 2^40)",
                       (long long)d);
    return SOFTENT_OK;
}

int softent_calibrate(softent_calibration mode, int64_t d, int64_t m, double *eps)
{
    if (!eps)
        return se_fail(SOFTENT_E_INVALID, "calibration: eps output is NULL");
    int rc = check_dim(d);
    if (rc != SOFTENT_OK)
        return rc;
    if (m < 2)
        return se_fail(SOFTENT_E_INVALID,
                       "calibration: m = %lld reference points is not valid (need m >= 2)",
                       (long long)m);
    switch (mode) {
    case SOFTENT_CAL_EXACT: return calibrate_exact(d, m, eps);
    case SOFTENT_CAL_BOUND: return calibrate_bound(d, m, eps);
    case SOFTENT_CAL_LEADING:
        *eps = 1.0 / sqrt(2.0 * (double)d * log((double)m));
        return SOFTENT_OK;
    case SOFTENT_CAL_FIXED:
        return se_fail(SOFTENT_E_INVALID,
                       "calibration: mode 'fixed' has nothing to compute; use the given eps");
    }
    return se_fail(SOFTENT_E_INVALID, "calibration: unknown mode %d", (int)mode);
}

int softent_kl_vmf(double eps, int64_t d, double *kl)
{
    if (!kl)
        return se_fail(SOFTENT_E_INVALID, "kl_vmf: kl output is NULL");
    int rc = check_dim(d);
    if (rc != SOFTENT_OK)
        return rc;
    if (!(eps > 0.0) || !isfinite(eps) || !isfinite(1.0 / eps))
        return se_fail(SOFTENT_E_INVALID,
                       "kl_vmf: eps = %g is not valid (need a positive finite eps with "
                       "finite 1/eps)", eps);
    *kl = bessel_eval(0.5 * (double)d - 1.0, 1.0 / eps).kl;
    if (!isfinite(*kl))
        return se_fail(SOFTENT_E_NUMERIC, "kl_vmf: KL is not finite at eps = %g, d = %lld",
                       eps, (long long)d);
    return SOFTENT_OK;
}
