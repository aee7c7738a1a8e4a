"""Audio processing for the detection task: event and background generators, the mel front end,
streaming scoring and soundscape rendering."""
