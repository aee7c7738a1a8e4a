"""Review: recordings of a flight or a clip, run reports and plots, and the scripted-pilot demo
(``spikefly render``, ``spikefly report``, ``spikefly demo``)."""
