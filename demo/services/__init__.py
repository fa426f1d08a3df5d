"""The shop's services, one Flask app each, run as separate processes by `python -m demo.services NAME`."""
