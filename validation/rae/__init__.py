"""The relational-regularised autoencoder (RAE) harness."""
