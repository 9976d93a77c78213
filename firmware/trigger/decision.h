// The combined trigger's decision on one cluster (DESIGN.md §5), as the firmware makes it
// after the model: accept if the cluster's ADC sum >= T_hi, or if it passed the loose ADC-sum
// pre-cut (so the model scored it), its ADC sum >= T_lo and the model's logit >= t.
// The ML-only and ADC-sum-only triggers are special cases (a branch disabled).
// Thresholds are integers: ADC counts, and the logit's fixed-point mantissa (logit × 2^F for
// the model's logit type with F fractional bits), so the decision is exact.
// triggerml/trigger/decision.py is the Python side; `triggerml verify-decision` runs both.
#ifndef TRIGGERML_DECISION_H
#define TRIGGERML_DECISION_H

#include <ap_int.h>

typedef ap_uint<40> adc_sum_t;   // cluster ADC sum (DUNE-DAQ adc_integral is 32-bit; headroom)
typedef ap_int<32> logit_m_t;    // logit mantissa

struct Thresholds {
    adc_sum_t precut;     // the model scores clusters with ADC sum >= precut
    adc_sum_t adc_hi;     // accept on ADC sum alone (hi_enabled)
    adc_sum_t adc_lo;     // the ML branch needs ADC sum >= adc_lo
    logit_m_t logit_min;  // ... and logit mantissa >= logit_min (ml_enabled)
    bool hi_enabled;
    bool ml_enabled;
};

inline bool accept(adc_sum_t adc_sum, logit_m_t logit, const Thresholds &th) {
#pragma HLS INLINE
    if (th.hi_enabled && adc_sum >= th.adc_hi) return true;
    return th.ml_enabled && adc_sum >= th.precut && adc_sum >= th.adc_lo && logit >= th.logit_min;
}

#endif
