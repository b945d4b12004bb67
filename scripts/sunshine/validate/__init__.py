"""The parts of `sunshine validate`: files, encoding, structure, cells, personal data, keys and rules."""
