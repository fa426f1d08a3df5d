"""Framework and library integrations, each imported only by the app that asks for it."""
