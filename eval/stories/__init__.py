"""Stories eval: val loss and bits-per-byte, and failure-first metrics over sampled stories."""
