// Trigger primitive generation, one channel-sample at a time: the firmware twin of
// triggerml/tpg/kernel.py. Integer arithmetic only; every step in the same order as the
// Python, so the two agree bit for bit (triggerml verify-tpg). See triggerml/tpg/config.py
// for the algorithm (modes "fir" and "dunedaq").
#ifndef TRIGGERML_TPG_H_
#define TRIGGERML_TPG_H_

#include <ap_int.h>

namespace tpg {

const int MAX_TAPS = 15;
const int SATURATION = 65535;

// Widths are chosen so that no intermediate needs more than 64 bits (the C simulation of
// wider ap_ints is slow) and none can overflow on 14-bit data.
typedef ap_int<32> sample_t;   // pedestal-subtracted sample
typedef ap_int<48> wide_t;     // filtered sample, thresholds, sums
typedef ap_int<48> tick_t;     // absolute sample number (2^47 samples: years of data)
typedef ap_int<16> tap_t;
typedef ap_uint<14> adc_t;     // raw ADC (14-bit WIBEth)

struct Params {
  int limit;        // frugal pedestal accumulator limit
  int shift;        // FIR output shift
  bool use_fir;
  bool use_sigma;   // threshold from the tracked interquartile range
  int thr_abs;      // absolute threshold (ADC)
  int min_thr;      // floor of the sigma threshold
  int k_sigma;      // round(256 * n_sigma / 1.349)
  int iqr_limit;
  bool saturate;    // 16-bit saturating sum that closes the hit (dunedaq mode)
  bool absolute;    // threshold |f|
  int delay;        // FIR group delay subtracted from reported times
  int cns_shift;    // log2(coherent group), -1 = off
  int init_ped;     // initial pedestal, -1 = first sample
  int n_taps;
  int taps[MAX_TAPS];
};

struct ChannelState {
  ap_int<32> ped;
  ap_int<32> acc;
  ap_int<32> q1, q1a, q3, q3a;
  ap_uint<32> tot;
  wide_t sum;
  wide_t peak;
  tick_t peak_t, start;
  bool init;
  sample_t hist[MAX_TAPS];
};

struct Hit {
  ap_int<32> row;
  tick_t start;
  ap_uint<32> tot;
  tick_t peak_time;
  wide_t peak;
  wide_t sum;
};

inline void reset(ChannelState& s, int initial_iqr) {
  s.ped = 0; s.acc = 0;
  s.q1 = -(initial_iqr / 2); s.q3 = initial_iqr / 2; s.q1a = 0; s.q3a = 0;
  s.tot = 0; s.sum = 0; s.peak = 0; s.peak_t = 0; s.start = 0; s.init = false;
  for (int k = 0; k < MAX_TAPS; k++) s.hist[k] = 0;
}

// Frugal streaming pedestal: returns x - pedestal (after this sample's update).
inline sample_t pedestal_step(ChannelState& s, adc_t x_in, const Params& p) {
#pragma HLS INLINE
  ap_int<32> x = x_in;
  if (!s.init) {
    s.ped = p.init_ped < 0 ? x : ap_int<32>(p.init_ped);
    s.init = true;
  }
  if (x > s.ped) s.acc = s.acc + 1;
  else if (x < s.ped) s.acc = s.acc - 1;
  if (s.acc > p.limit) { s.ped = s.ped + 1; s.acc = 0; }
  else if (s.acc < -p.limit) { s.ped = s.ped - 1; s.acc = 0; }
  return x - s.ped;
}

// Everything after the pedestal: FIR, threshold, hit building. Returns true when a hit
// closes on this sample (written to `hit`).
inline bool hit_step(ChannelState& s, sample_t sub, tick_t sample_index, int row,
                     const Params& p, Hit& hit) {
#pragma HLS INLINE
  wide_t f;
  if (p.use_fir) {
    f = tap_t(p.taps[0]) * sub;
    for (int k = 1; k < MAX_TAPS; k++) {
#pragma HLS UNROLL
      if (k < p.n_taps) f += tap_t(p.taps[k]) * s.hist[k - 1];
    }
    for (int k = MAX_TAPS - 2; k > 0; k--) {
#pragma HLS UNROLL
      if (k <= p.n_taps - 2) s.hist[k] = s.hist[k - 1];
    }
    s.hist[0] = sub;
    f = f >> p.shift;  // arithmetic shift: floor
  } else {
    f = sub;
  }
  if (p.absolute && f < 0) f = -f;
  wide_t thr;
  if (p.use_sigma) {
    thr = (ap_int<40>(s.q3 - s.q1) * ap_int<24>(p.k_sigma)) >> 8;
    if (thr < p.min_thr) thr = p.min_thr;
    if (f > s.q1) s.q1a = s.q1a + 1;
    else if (f < s.q1) s.q1a = s.q1a - 3;
    if (s.q1a > p.iqr_limit) { s.q1 = s.q1 + 1; s.q1a = 0; }
    else if (s.q1a < -p.iqr_limit) { s.q1 = s.q1 - 1; s.q1a = 0; }
    if (f > s.q3) s.q3a = s.q3a + 3;
    else if (f < s.q3) s.q3a = s.q3a - 1;
    if (s.q3a > p.iqr_limit) { s.q3 = s.q3 + 1; s.q3a = 0; }
    else if (s.q3a < -p.iqr_limit) { s.q3 = s.q3 - 1; s.q3a = 0; }
  } else {
    thr = p.thr_abs;
  }
  wide_t pv = f > thr ? f : wide_t(0);
  tick_t n = sample_index - p.delay;
  bool close = false;
  if (pv > 0) {
    if (s.tot == 0) { s.start = n; s.peak = 0; }
    s.tot = s.tot + 1;
    if (pv > s.peak) { s.peak = pv; s.peak_t = n; }
    s.sum = s.sum + pv;
    if (p.saturate && s.sum >= SATURATION) { s.sum = SATURATION; close = true; }
  } else if (s.tot > 0) {
    close = true;
  }
  if (close) {
    hit.row = row; hit.start = s.start; hit.tot = s.tot; hit.peak_time = s.peak_t;
    hit.peak = s.peak; hit.sum = s.sum;
    s.tot = 0; s.sum = 0; s.peak = 0;
  }
  return close;
}

}  // namespace tpg

#endif  // TRIGGERML_TPG_H_
