"""Baselines beside evolution: PPO and RecurrentPPO (SB3), the MLP and Goertzel audio detectors,
their controller cards, and the side-by-side benchmark (``spikefly baseline``, ``spikefly bench``)."""
