"""The DiffUIR diffusion process: schedule, training objective, sampler."""
