"""`python -m demo.services NAME PORT`: run one shop service (the driver starts these)."""

from __future__ import annotations

import importlib
import os
import sys

import onset_sdk

from demo.services.runtime import init_sdk, serve

SERVICES = ("gateway", "checkout", "inventory", "payment")


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] not in SERVICES or not argv[1].isdigit():
        sys.exit(f"usage: python -m demo.services {{{'|'.join(SERVICES)}}} PORT")
    name, port = argv[0], int(argv[1])
    init_sdk()
    app = importlib.import_module(f"demo.services.{name}").create_app()
    announce_deploy()
    serve(app, port)


def announce_deploy() -> None:
    # A release that knows it is new tells Onset before it takes traffic (bad_deploy does).
    commit = os.environ.get("DEMO_DEPLOY_COMMIT")
    version = os.environ.get("ONSET_VERSION")
    if commit and version:
        onset_sdk.deploy(version=version, commit=commit, message="blue/green deploy by the demo driver")
        onset_sdk.flush(2.0)


if __name__ == "__main__":
    main(sys.argv[1:])
