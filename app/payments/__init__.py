"""Payment providers: the interface orders use, and its Stripe-compatible implementation."""
