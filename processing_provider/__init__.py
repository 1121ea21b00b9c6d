"""The LS4 Processing provider and its algorithms."""
