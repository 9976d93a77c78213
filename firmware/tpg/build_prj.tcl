# Vivado HLS / Vitis HLS project for the TPG top (one WIBEth stream, II=1).
# Run by `triggerml synth firmware/tpg` (or: vitis_hls -f build_prj.tcl).
set part  [expr {[info exists ::env(TPG_PART)]  ? $::env(TPG_PART)  : "xcvu9p-flga2104-2L-e"}]
set clock [expr {[info exists ::env(TPG_CLOCK)] ? $::env(TPG_CLOCK) : 4.0}]
open_project -reset tpg_prj
set_top tpg_top
add_files tpg_top.cpp -cflags "-std=c++14"
add_files tpg.h
add_files -tb tpg_tb.cpp -cflags "-std=c++14"
open_solution -reset "solution1"
set_part $part
create_clock -period $clock -name default
csynth_design
exit
