"""Rules of the analytic stage."""
