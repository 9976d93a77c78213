"""Design-space sweeps: trigger physics against FPGA cost, one Pareto front per model."""
