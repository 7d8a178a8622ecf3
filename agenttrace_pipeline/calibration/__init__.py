"""A real engine in the loop (no Dagster): the CPU build of vLLM with a tiny local model, the calibration
sweep and fit of the simulated engine's cost model, and the check of the calibrated simulator on unseen data.

Modules: :mod:`.vllm_cpu` (virtualenv, model, server process group), :mod:`.workloads` (small synthetic
datasets), :mod:`.sweep` (measurements), :mod:`.fit` (least squares → preset), :mod:`.compare` (engine vs
simulator on one dataset, warehouse rows).
"""
