/*
 * bessel.h - modified Bessel functions of the first kind, for the vMF temperature.
 *
 * The temperature calibration solves KL(vMF(kappa) || uniform on S^{d-1}) = log m,
 * which needs log I_nu(kappa), the ratio A = I_{nu+1}(kappa) / I_nu(kappa) and the
 * KL itself for nu = d/2 - 1 up to 32767 and kappa from ~1 up to ~1e12 (d = 2,
 * m = 1e6 puts kappa near 4e11).  The KL = kappa A - log Z is a small difference of
 * large terms there (11 digits cancel at d = 2), so each method below also returns
 * it in a form where the large parts cancel analytically.
 *
 * Methods, chosen by the peak index j* = (sqrt(nu^2 + x^2) - nu) / 2 of the series:
 *   j* <= 1500         power series of 0F1(; nu+1; x^2/4), summed in double-double
 *   nu <= 40, beyond   Hankel's large-x expansion (then x > 3000 > nu^2)
 *   nu >  40, beyond   Debye's uniform expansion in nu, 12 terms
 *
 * (x < 1e-100, where x^2 underflows, uses the series' first two terms.)
 *
 * Range: any nu >= 0 and finite x >= 0.  Tested against mpmath for nu in [0, 32767],
 * x in [1e-8, 1e12]: ratio and KL to < 1e-15 relative; log I to < 1e-15 of
 * max(1, |log I|, x A + nu), the last being d log I / d log x, i.e. what rounding x
 * itself costs (log I crosses 0 near x ~ 0.66 nu, where it has no relative accuracy).
 * nu < 0, x < 0, NaN or infinite arguments give NaN in every field.
 */
#ifndef SOFTENT_BESSEL_H
#define SOFTENT_BESSEL_H

typedef struct {
    double log_i; /* log I_nu(x) */
    double ratio; /* A = I_{nu+1}(x) / I_nu(x) */
    double log_z; /* log 0F1(; nu+1; x^2/4) = log(Gamma(nu+1) (2/x)^nu I_nu(x)),
                     the log normaliser of vMF(kappa = x) on S^{2 nu + 1} */
    double kl;    /* x A - log_z = KL(vMF(kappa = x) || uniform) on S^{2 nu + 1}, nats */
} bessel_vmf;

bessel_vmf bessel_eval(double nu, double x);

double bessel_log_i(double nu, double x); /* log I_nu(x) */
double bessel_ratio(double nu, double x); /* I_{nu+1}(x) / I_nu(x) */

#endif
