// g++ test bench: streams blocks (channels x ticks) through tpg.h and prints the hits, so
// triggerml verify-tpg can compare them with the Python TPG.
// stdin : int64 params[13], int64 n_taps, int64 taps[15], int64 initial_iqr, int64 n_channels,
//         then blocks: int64 n_ticks (0 ends), int64 first_sample, int16 adc[n_ch][n_ticks]
// stdout: per block, int64 n_hits then n_hits x int64 {row, start, tot, peak_time, peak, sum}
#include "tpg.h"
#include <cstdint>
#include <cstdio>
#include <vector>

static bool read_all(void* dst, size_t size, size_t count) {
  return fread(dst, size, count, stdin) == count;
}

int main() {
  int64_t prm[13], n_taps, taps[tpg::MAX_TAPS], initial_iqr, n_ch;
  if (!read_all(prm, 8, 13) || !read_all(&n_taps, 8, 1) || !read_all(taps, 8, tpg::MAX_TAPS) ||
      !read_all(&initial_iqr, 8, 1) || !read_all(&n_ch, 8, 1))
    return 2;
  tpg::Params p;
  p.limit = prm[0]; p.shift = prm[1]; p.use_fir = prm[2]; p.use_sigma = prm[3];
  p.thr_abs = prm[4]; p.min_thr = prm[5]; p.k_sigma = prm[6]; p.iqr_limit = prm[7];
  p.saturate = prm[8]; p.absolute = prm[9]; p.delay = prm[10]; p.cns_shift = prm[11];
  p.init_ped = prm[12]; p.n_taps = n_taps;
  for (int k = 0; k < tpg::MAX_TAPS; k++) p.taps[k] = taps[k];
  std::vector<tpg::ChannelState> state(n_ch);
  for (auto& s : state) tpg::reset(s, initial_iqr);
  std::vector<int16_t> adc;
  std::vector<tpg::sample_t> sub;
  std::vector<int64_t> out;
  for (;;) {
    int64_t n_t, first;
    if (!read_all(&n_t, 8, 1)) return 2;
    if (n_t == 0) break;
    if (!read_all(&first, 8, 1)) return 2;
    adc.resize(n_ch * n_t);
    sub.resize(n_ch * n_t);
    if (!read_all(adc.data(), 2, adc.size())) return 2;
    for (int64_t c = 0; c < n_ch; c++)
      for (int64_t t = 0; t < n_t; t++)
        sub[c * n_t + t] = tpg::pedestal_step(state[c], tpg::adc_t(adc[c * n_t + t]), p);
    if (p.cns_shift >= 0) {
      int64_t group = int64_t(1) << p.cns_shift;
      for (int64_t g0 = 0; g0 < n_ch; g0 += group) {
        int64_t g1 = g0 + group < n_ch ? g0 + group : n_ch;
        for (int64_t t = 0; t < n_t; t++) {
          ap_int<48> total = 0;
          for (int64_t c = g0; c < g1; c++) total += sub[c * n_t + t];
          tpg::sample_t mean = tpg::sample_t(total >> p.cns_shift);
          for (int64_t c = g0; c < g1; c++) sub[c * n_t + t] -= mean;
        }
      }
    }
    out.clear();
    for (int64_t c = 0; c < n_ch; c++) {
      for (int64_t t = 0; t < n_t; t++) {
        tpg::Hit h;
        if (tpg::hit_step(state[c], sub[c * n_t + t], first + t, int(c), p, h)) {
          out.push_back(h.row.to_int64()); out.push_back(h.start.to_int64());
          out.push_back(h.tot.to_int64()); out.push_back(h.peak_time.to_int64());
          out.push_back(h.peak.to_int64()); out.push_back(h.sum.to_int64());
        }
      }
    }
    int64_t n_hits = out.size() / 6;
    fwrite(&n_hits, 8, 1, stdout);
    if (n_hits) fwrite(out.data(), 8, out.size(), stdout);
    fflush(stdout);
  }
  return 0;
}
