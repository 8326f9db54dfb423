"""Feature extractors: hand-crafted (fHOG, gray, lookup tables) and the CNN slot."""
