"""Rules of the latent stage."""
