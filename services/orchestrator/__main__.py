"""python -m services.orchestrator: run the orchestrator worker."""

from services.orchestrator.app import create_app
from shared.runner import run_service

if __name__ == "__main__":
    run_service("orchestrator", 8001, create_app)
