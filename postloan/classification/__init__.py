"""Five-category loan classification: inputs, proposals and confirmations, the nightly scan."""
