"""python -m services.gateway: run the HTTP gateway."""

from services.gateway.app import create_app
from shared.runner import run_service

if __name__ == "__main__":
    run_service("gateway", 8000, create_app)
