"""Spiking controllers: LIF networks and their Numba kernels, spike encoders and decoders, and
the controller file. Imports nothing else of spikefly.

    spec = spikefly.controllers.load("champion.json")   # JSON, never a pickle
    controller = spec.controller(seed=0)
    action = controller.act(observation)
"""

from spikefly.controllers.controller_file import ControllerFileError, ControllerSpec, load, save
from spikefly.controllers.decoders import Decoder, MembraneDecoder, PopulationDecoder, RateDecoder, decoder_from_dict
from spikefly.controllers.encoders import (
    DeltaEncoder,
    DirectEncoder,
    Encoder,
    LatencyEncoder,
    LevelEncoder,
    PopulationEncoder,
    RateEncoder,
    encoder_from_dict,
)
from spikefly.controllers.lif_state import LIFState, OperationCounts, simulate, simulate_batch
from spikefly.controllers.network import IntegerLIFNetwork, LIFNetwork, random_network
from spikefly.controllers.quantize import quantize
from spikefly.controllers.spiking_controller import SpikingController, SpikingPopulation

__all__ = [
    "ControllerFileError",
    "ControllerSpec",
    "Decoder",
    "DeltaEncoder",
    "DirectEncoder",
    "Encoder",
    "IntegerLIFNetwork",
    "LIFNetwork",
    "LIFState",
    "LatencyEncoder",
    "LevelEncoder",
    "MembraneDecoder",
    "OperationCounts",
    "PopulationDecoder",
    "PopulationEncoder",
    "RateDecoder",
    "RateEncoder",
    "SpikingController",
    "SpikingPopulation",
    "decoder_from_dict",
    "encoder_from_dict",
    "load",
    "quantize",
    "random_network",
    "save",
    "simulate",
    "simulate_batch",
]
