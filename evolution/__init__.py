"""Evolution, evaluation and the `spikefly` command line. The one part that composes the others."""
