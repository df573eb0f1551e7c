"""Rules of the angularity stage."""
