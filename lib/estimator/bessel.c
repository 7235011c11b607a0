/*
 * bessel.c - log I_nu(x), I_{nu+1}(x) / I_nu(x) and the vMF KL, without cancellation.
 *
 * Three methods (see bessel.h for when each is used).  Each one returns the four
 * quantities of bessel_vmf; the point of computing them together is the KL, which
 * each method writes in a form where the O(x) parts of x A and log Z cancel on
 * paper instead of in floating point.
 */
#include <math.h>

#include "bessel.h"

#define LN2 0.69314718055994530942
#define LN_2PI 1.83787706640934548356

/* Above this peak index the series gets long; the asymptotic expansions take over. */
#define SERIES_MAX_PEAK 1500.0
/* Up to this order Hankel's expansion takes over from the series: there x > 3000,
 * so nu^2 / (2x) < 0.27 and its terms fall fast. */
#define HANKEL_MAX_NU 40.0
#define DEBYE_TERMS 12

/* ---- double-double arithmetic ---------------------------------------------
 * The series regime needs x A - log Z to ~1e-16 absolute while both terms are
 * up to ~1500; a value carried as an unevaluated sum hi + lo gives ~32 digits.
 * fma() makes the products exact whatever the compiler's contraction setting. */

typedef struct {
    double hi, lo;
} dd;

static dd two_sum(double a, double b)
{
    double s = a + b, bb = s - a;
    return (dd){s, (a - (s - bb)) + (b - bb)};
}

static dd fast_two_sum(double a, double b) /* needs |a| >= |b| */
{
    double s = a + b;
    return (dd){s, b - (s - a)};
}

static dd two_prod(double a, double b)
{
    double p = a * b;
    return (dd){p, fma(a, b, -p)};
}

static dd dd_add(dd a, dd b)
{
    dd s = two_sum(a.hi, b.hi), t = two_sum(a.lo, b.lo);
    s = fast_two_sum(s.hi, s.lo + t.hi);
    return fast_two_sum(s.hi, s.lo + t.lo);
}

static dd dd_neg(dd a) { return (dd){-a.hi, -a.lo}; }

static dd dd_mul(dd a, dd b)
{
    dd p = two_prod(a.hi, b.hi);
    return fast_two_sum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}

static dd dd_mul_d(dd a, double b)
{
    dd p = two_prod(a.hi, b);
    return fast_two_sum(p.hi, p.lo + a.lo * b);
}

static dd dd_div_d(dd a, double b)
{
    double q1 = a.hi / b;
    dd r = dd_add(a, dd_neg(two_prod(q1, b)));
    return fast_two_sum(q1, r.hi / b);
}

static dd dd_div(dd a, dd b)
{
    double q1 = a.hi / b.hi;
    dd r = dd_add(a, dd_neg(dd_mul_d(b, q1)));
    double q2 = r.hi / b.hi;
    r = dd_add(r, dd_neg(dd_mul_d(b, q2)));
    return dd_add(fast_two_sum(q1, q2), (dd){r.hi / b.hi, 0.0});
}

static dd dd_ldexp(dd a, int e) { return (dd){ldexp(a.hi, e), ldexp(a.lo, e)}; }

static const dd LN2_DD = {0.69314718055994529, 2.3190468138462996e-17};

/* log of a positive double-double, good to ~1e-17 absolute + 1e-16 relative:
 * split off a power of two so the mantissa is near 1, where log1p loses nothing.
 * extra_exp: a power of two the caller scaled a down by. */
static dd dd_log(dd a, int extra_exp)
{
    int e;
    frexp(a.hi, &e); /* a.hi = f 2^e, f in [0.5, 1) */
    dd mant = dd_ldexp(a, -e);
    if (mant.hi < 0.70710678118654752) {
        mant = dd_ldexp(mant, 1);
        e -= 1;
    }
    /* mant.hi - 1 is exact (Sterbenz); mant.lo only needs to enter to first order */
    double lm = log1p((mant.hi - 1.0) + mant.lo);
    return dd_add(dd_mul_d(LN2_DD, (double)(e + extra_exp)), (dd){lm, 0.0});
}

static double dd_val(dd a) { return a.hi + a.lo; }

/* S(nu) = lgamma(nu+1) - ((nu + 1/2) ln nu - nu + ln(2 pi)/2), Stirling's series;
 * the first omitted term is below 2e-18 for nu >= 10. */
static double stirling_tail(double nu)
{
    static const double c[] = {1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680, 1.0 / 1188,
                               -691.0 / 360360, 1.0 / 156, -3617.0 / 122400};
    double z2 = 1.0 / (nu * nu), y = 0.0;
    for (int k = 7; k >= 0; k--)
        y = y * z2 + c[k];
    return y / nu;
}

/* log I_nu(x) = log Z - lgamma(nu+1) + nu ln(x/2).  For large nu the last two are
 * ~nu ln nu each and cancel to ~nu ln(x/nu): Stirling merges them into one term
 * first, so the error is an ulp of the result rather than of lgamma. */
static double log_i_from_log_z(double nu, double x, double log_z)
{
    if (nu < 10.0)
        return log_z - lgamma(nu + 1.0) + nu * log(0.5 * x);
    return log_z + nu * (log(x / (2.0 * nu)) + 1.0) - 0.5 * (LN_2PI + log(nu)) - stirling_tail(nu);
}

/* ---- power series ----------------------------------------------------------
 * 0F1(; nu+1; q) = sum_j T_j with T_0 = 1, T_j = T_{j-1} q / (j (nu + j)), q = x^2/4.
 * Z = that sum, x Z'/Z = x A (because d log Z / dx = A), so x A = sum 2j T_j / sum T_j.
 * All terms are positive: no cancellation, and in double-double the recurrence's
 * rounding (~j ulps in T_j) stays far below 1e-16 even at j = 3000. */

static double series_peak(double nu, double x)
{
    /* j* solves j (nu + j) = x^2 / 4; written to avoid sqrt(nu^2 + x^2) - nu */
    return x * x / (2.0 * (hypot(nu, x) + nu));
}

static bessel_vmf eval_series(double nu, double x)
{
    const double big = 0x1p600, tiny = 0x1p-112;
    dd q = dd_ldexp(two_prod(x, x), -2);
    dd term = {1.0, 0.0}, sum = {1.0, 0.0}, wsum = {0.0, 0.0};
    int scale = 0; /* true term, sum, wsum = these times 2^scale */
    double peak = series_peak(nu, x);

    for (int j = 1;; j++) {
        term = dd_div_d(dd_mul(term, q), (double)j * (nu + j));
        sum = dd_add(sum, term);
        wsum = dd_add(wsum, dd_mul_d(term, 2.0 * j));
        if (term.hi > big) { /* 0F1 ~ e^x overflows past x ~ 700 */
            term = dd_ldexp(term, -600);
            sum = dd_ldexp(sum, -600);
            wsum = dd_ldexp(wsum, -600);
            scale += 600;
        }
        if (j > peak && term.hi < tiny * sum.hi)
            break;
    }

    dd log_z = dd_log(sum, scale);
    dd xa = dd_div(wsum, sum);
    bessel_vmf r;
    r.log_z = dd_val(log_z);
    r.kl = dd_val(dd_add(xa, dd_neg(log_z)));
    r.ratio = dd_val(dd_div_d(xa, x));
    r.log_i = log_i_from_log_z(nu, x, r.log_z);
    return r;
}

/* ---- Hankel's expansion, x large against nu^2 --------------------------------
 * I_nu(x) = e^x / sqrt(2 pi x) P_nu(x) (up to e^{-2x} relative), with
 * P_nu = sum_k beta_k, beta_k = (-1)^k prod_{i<=k} (mu - (2i-1)^2) / (k! (8x)^k),
 * mu = 4 nu^2.  A = P_{nu+1} / P_nu = 1 + D / P_nu with D = P_{nu+1} - P_nu summed
 * term by term (gamma_k), so 1 - A ~ (nu + 1/2) / x keeps full precision.  Then
 *   KL = x A - log Z = x D / P - lgamma(nu+1) - nu ln 2 + (nu + 1/2) ln x
 *        + ln(2 pi) / 2 - ln P,
 * where the two O(x) terms have cancelled on paper. */

static bessel_vmf eval_hankel(double nu, double x)
{
    double mu = 4.0 * nu * nu, mu1 = 4.0 * (nu + 1.0) * (nu + 1.0), delta = mu1 - mu;
    double beta = 1.0, gamma = 0.0, p1 = 0.0, dp = 0.0; /* p1 = P - 1 */

    for (int k = 1; k < 400; k++) {
        double odd = (2.0 * k - 1.0) * (2.0 * k - 1.0), den = 8.0 * k * x;
        /* products of (mu' - odd) for nu+1 minus those for nu, differenced exactly */
        gamma = -((mu1 - odd) * gamma + delta * beta) / den;
        beta = -(mu - odd) * beta / den;
        p1 += beta;
        dp += gamma;
        if (fabs(beta) <= 1e-18 * (1.0 + fabs(p1)) && fabs(gamma) <= 1e-18 * fabs(dp))
            break;
    }

    double p = 1.0 + p1, log_p = log1p(p1), lg = lgamma(nu + 1.0);
    bessel_vmf r;
    r.ratio = 1.0 + dp / p;
    r.log_i = x - 0.5 * (LN_2PI + log(x)) + log_p;
    r.log_z = lg + nu * log(2.0 / x) + r.log_i;
    r.kl = x * dp / p - lg - nu * LN2 + (nu + 0.5) * log(x) + 0.5 * LN_2PI - log_p;
    return r;
}

/* ---- Debye's uniform expansion, nu large -------------------------------------
 * With t = x/nu, s = sqrt(1 + t^2), p = 1/s (DLMF 10.41.3, 10.41.5):
 *   I_nu(nu t)  ~ e^{nu eta} / (sqrt(2 pi nu) sqrt(s)) U,       U = sum u_k(p) / nu^k
 *   I'_nu(nu t) ~ e^{nu eta} sqrt(s) / (sqrt(2 pi nu) t) V,     V = sum v_k(p) / nu^k
 * eta = s + ln(t / (1 + s)).  With x A = x I'/I - nu = nu s V/U - nu and Stirling
 * for lgamma(nu+1) = (nu + 1/2) ln nu - nu + ln(2 pi)/2 + S(nu):
 *   log Z = nu (s - 1) - nu ln((1 + s)/2) + S(nu) - ln(s)/2 + ln U
 *   KL    = nu s (V - U)/U + nu ln((1 + s)/2) - S(nu) + ln(s)/2 - ln U
 * so no term of size nu s survives in the KL.  u_k and v_k - u_k are
 * p^k times a polynomial in p^2 (DLMF 10.41.10-12, generated exactly in
 * rationals); the tables hold those polynomials' coefficients, lowest first.
 * With nu > 40 the first omitted term is below 1e-19. */

static const double debye_u[] = {
    /* k= 1 */ 0.125, -0.20833333333333334,
    /* k= 2 */ 0.0703125, -0.40104166666666669, 0.3342013888888889,
    /* k= 3 */ 0.0732421875, -0.89121093750000002, 1.8464626736111112, -1.0258125964506173,
    /* k= 4 */ 0.112152099609375, -2.3640869140624998, 8.78912353515625, -11.207002616222994, 4.6695844234262474,
    /* k= 5 */ 0.22710800170898438, -7.3687943594796321, 42.534998745388457, -91.818241543240021, 84.636217674600729, -28.212072558200244,
    /* k= 6 */ 0.57250142097473145, -26.491430486951554, 218.19051174421159, -699.57962737613252, 1059.9904525279999, -765.25246814118168, 212.57013003921713,
    /* k= 7 */ 1.7277275025844574, -108.09091978839466, 1200.9029132163525, -5305.646978613403, 11655.393336864534, -13586.550006434138, 8061.7221817373093, -1919.4576623184071,
    /* k= 8 */ 6.074042001273483, -493.915304773088, 7109.5143024893641, -41192.65496889755, 122200.46498301746, -203400.17728041555, 192547.00123253153, -96980.598388637518, 20204.291330966149,
    /* k= 9 */ 24.380529699556064, -2499.8304818112097, 45218.768981362729, -331645.17248456361, 1268365.2733216248, -2813563.2265865342, 3763271.2976564039, -2998015.9185381066, 1311763.6146629772, -242919.18790055133,
    /* k=10 */ 110.01714026924674, -13886.08975371704, 308186.40461266239, -2785618.1280864547, 13288767.166421818, -37567176.660763353, 66344512.274729028, -74105148.211532652, 50952602.492664643, -19706819.118432228, 3284469.8530720379,
    /* k=11 */ 551.33589612202059, -84005.433603024081, 2243768.1779224495, -24474062.72573873, 142062907.79753309, -495889784.27503031, 1106842816.8230145, -1621080552.1083372, 1553596899.57058, -939462359.6815784, 325573074.18576574, -49329253.66450996,
    /* k=12 */ 3038.0905109223841, -549842.32757228869, 17395107.553978164, -225105661.88941526, 1559279864.8792574, -6563293792.6192846, 17954213731.155602, -33026599749.800724, 41280185579.753975, -34632043388.158775, 18688207509.295826, -5866481492.0518475, 814789096.11831212,
};
static const double debye_vu[] = {
    /* k= 1 */ -0.5, 0.5,
    /* k= 2 */ -0.1875, 0.91666666666666663, -0.72916666666666663,
    /* k= 3 */ -0.17578125, 1.98046875, -3.9769965277777777, 2.1723090277777777,
    /* k= 4 */ -0.25634765625, 5.1580078125000002, -18.750130208333335, 23.593689718364196, -9.7452196662808639,
    /* k= 5 */ -0.5046844482421875, 15.871249389648437, -90.074114990234378, 192.38107751916957, -176.04333276316953, 58.36980529282809,
    /* k= 6 */ -1.2490940093994141, 56.515051705496653, -459.34844577728757, 1459.9922658284506, -2198.4987163543701, 1579.8760632592137, -437.28712465210378,
    /* k= 7 */ -3.7212592363357544, 228.89841837542397, -2516.1775324533101, 11035.745715515879, -24114.606903857653, 27996.527285985496, -16559.213130055014, 3932.5474057255169,
    /* k= 8 */ -12.95795626938343, 1039.8216942591328, -14837.247239977802, 85436.617713268992, -252284.83093268122, 418423.2218339977, -394968.20765647496, 198471.92228372328, -41268.339739845753,
    /* k= 9 */ -51.629357010824606, 5237.7400571282487, -94055.039481234475, 686162.42583013151, -2613601.1692688027, 5779210.9519074755, -7710116.8049545838, 6129276.9890112402, -2677068.6013530148, 495005.13760867063,
    /* k=10 */ -231.61503214578261, 28979.665572974693, -639201.43178922567, 5750953.5547591327, -27336892.456639171, 77060875.201565847, -135774815.81805009, 151363706.98525819, -103903346.25955142, 40130249.841171078, -6680277.6672651619,
    /* k=11 */ -1155.1799728270908, 174731.30189429011, -4642278.9888050677, 50431401.980310105, -291804891.69223017, 1015969314.1244524, -2262878647.7270517, 3308327657.3639531, -3165820097.238163, 1911888310.9309316, -661820675.39401567, 100176330.51869716,
    /* k=12 */ -6340.362805403237, 1140413.7164462283, -35912480.111438788, 463074504.45822573, -3198522799.7523232, 13431857063.965048, -36672436557.25399, 67348360274.103432, -84061468816.953552, 70438054348.797516, -37969691447.458183, 11908081834.612705, -1652529997.7610838,
};

static double poly_p2(const double *c, int n, double p2)
{
    double y = c[n - 1];
    for (int i = n - 2; i >= 0; i--)
        y = y * p2 + c[i];
    return y;
}

static bessel_vmf eval_debye(double nu, double x)
{
    double t = x / nu, s = hypot(1.0, t), p = 1.0 / s, p2 = p * p;
    double sm1 = t * (t / (1.0 + s)); /* s - 1 */
    double u = 0.0, w = 0.0, pk = 1.0;  /* u = U - 1, w = V - U */
    const double *cu = debye_u, *cw = debye_vu;

    for (int k = 1; k <= DEBYE_TERMS; k++) {
        pk *= p / nu;
        u += pk * poly_p2(cu, k + 1, p2);
        w += pk * poly_p2(cw, k + 1, p2);
        cu += k + 1;
        cw += k + 1;
    }

    double log_u = log1p(u), half_log_s = 0.5 * log(s), st = stirling_tail(nu);
    double log_half_1ps = log1p(0.5 * sm1); /* ln((1 + s)/2) */
    double sr = s * w / (1.0 + u);          /* s (V - U)/U = s V/U - s */
    bessel_vmf r;
    r.log_i = nu * (s + log(t / (1.0 + s))) - 0.5 * (LN_2PI + log(nu)) - half_log_s + log_u;
    r.log_z = nu * sm1 - nu * log_half_1ps + st - half_log_s + log_u;
    r.kl = nu * sr + nu * log_half_1ps - st + half_log_s - log_u;
    r.ratio = (sm1 + sr) / t; /* (s V/U - 1) / t */
    return r;
}

/* x so small that x^2/4 underflows: the series' first two terms are all there is. */
static bessel_vmf eval_tiny(double nu, double x)
{
    double t1 = 0.25 * x * x / (nu + 1.0); /* second term; 0 or nearly */
    bessel_vmf r = {0.0, 0.5 * x / (nu + 1.0), t1, t1};
    r.log_i = log_i_from_log_z(nu, x, t1);
    return r;
}

/* ---- entry points ------------------------------------------------------------ */

bessel_vmf bessel_eval(double nu, double x)
{
    if (!(nu >= 0.0) || !(x >= 0.0) || isinf(nu) || isinf(x))
        return (bessel_vmf){NAN, NAN, NAN, NAN};
    if (x == 0.0) /* I_nu(0) = [nu == 0]; the vMF is uniform */
        return (bessel_vmf){nu == 0.0 ? 0.0 : -INFINITY, 0.0, 0.0, 0.0};
    if (x < 1e-100)
        return eval_tiny(nu, x);
    if (series_peak(nu, x) <= SERIES_MAX_PEAK)
        return eval_series(nu, x);
    if (nu <= HANKEL_MAX_NU)
        return eval_hankel(nu, x);
    return eval_debye(nu, x);
}

double bessel_log_i(double nu, double x) { return bessel_eval(nu, x).log_i; }

double bessel_ratio(double nu, double x) { return bessel_eval(nu, x).ratio; }
