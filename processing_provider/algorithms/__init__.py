"""One module per algorithm; the provider finds them here."""
