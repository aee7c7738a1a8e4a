"""Spiking controllers: encoders, decoders, LIF networks and their Numba kernels."""
