"""Fitting workload distributions to real traces: families, mixtures, selection, profiles, reports."""
