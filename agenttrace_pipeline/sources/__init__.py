"""Real trace sources: downloads and one adapter per format."""
