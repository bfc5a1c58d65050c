"""The hardened ``requests`` client: transport, auth, endpoints, retries, budget, waiting."""
