"""What every part of synthir stands on: configuration types, reading and writing files, the
path grammar, provenance records, errors, numerics modes and the one plugin loader."""
