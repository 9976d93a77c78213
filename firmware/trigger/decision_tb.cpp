// g++ test bench for decision.h: reads the thresholds, then one cluster per line
// (ADC sum, logit mantissa) on stdin, and prints 1 or 0 per cluster.
#include <cstdio>
#include "decision.h"

int main() {
    long long precut, hi, lo, lmin;
    int hi_on, ml_on;
    if (std::scanf("%lld %lld %lld %lld %d %d", &precut, &hi, &lo, &lmin, &hi_on, &ml_on) != 6)
        return 2;
    Thresholds th;
    th.precut = precut;
    th.adc_hi = hi;
    th.adc_lo = lo;
    th.logit_min = lmin;
    th.hi_enabled = hi_on != 0;
    th.ml_enabled = ml_on != 0;
    long long adc, logit;
    while (std::scanf("%lld %lld", &adc, &logit) == 2) {
        std::putchar(accept(adc_sum_t(adc), logit_m_t(logit), th) ? '1' : '0');
        std::putchar('\n');
    }
    return 0;
}
