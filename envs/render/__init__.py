"""Review rendering: recordings of a flight or a clip, chase-camera frames, spike rasters and video files."""
