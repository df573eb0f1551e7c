"""Rules of the qg_scan stage."""
