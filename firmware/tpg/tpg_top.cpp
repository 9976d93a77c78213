// Synthesizable top: one WIBEth stream (64 channels) in frame order, one channel-sample per
// clock (II=1), state for the 64 channels held in on-chip memory between calls.
#include "tpg.h"
#include <hls_stream.h>

const int CHANNELS = 64;
const int SAMPLES = 64;

struct HitWord {
  ap_uint<8> channel;
  ap_uint<64> start;
  ap_uint<16> tot;
  ap_uint<64> peak_time;
  ap_uint<16> peak;
  ap_uint<32> sum;
};

void tpg_top(hls::stream<tpg::adc_t>& adc_in, hls::stream<HitWord>& hits_out,
             tpg::tick_t first_sample, const tpg::Params& params, bool reset_state) {
#pragma HLS INTERFACE axis port=adc_in
#pragma HLS INTERFACE axis port=hits_out
#pragma HLS INTERFACE s_axilite port=first_sample
#pragma HLS INTERFACE s_axilite port=params
#pragma HLS INTERFACE s_axilite port=reset_state
#pragma HLS INTERFACE s_axilite port=return
  static tpg::ChannelState state[CHANNELS];
#pragma HLS BIND_STORAGE variable=state type=ram_2p
  if (reset_state) {
    for (int c = 0; c < CHANNELS; c++) tpg::reset(state[c], 16);
  }
  // Coherent-noise subtraction (when enabled) needs a tick's 64 samples before any is used.
  tpg::sample_t line[CHANNELS];
samples:
  for (int t = 0; t < SAMPLES; t++) {
    ap_int<40> total = 0;
  pedestal:
    for (int c = 0; c < CHANNELS; c++) {
#pragma HLS PIPELINE II=1
      line[c] = tpg::pedestal_step(state[c], adc_in.read(), params);
      total += line[c];
    }
    tpg::sample_t mean = params.cns_shift >= 0 ? tpg::sample_t(total >> params.cns_shift) : 0;
  hits:
    for (int c = 0; c < CHANNELS; c++) {
#pragma HLS PIPELINE II=1
      tpg::Hit hit;
      if (tpg::hit_step(state[c], line[c] - mean, first_sample + t, c, params, hit)) {
        HitWord w;
        w.channel = c; w.start = hit.start; w.tot = hit.tot; w.peak_time = hit.peak_time;
        w.peak = hit.peak; w.sum = hit.sum;
        hits_out.write(w);
      }
    }
  }
}
