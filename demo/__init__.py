"""The demo shop: instrumented Flask services, fake external dependencies, a scenario driver."""
