"""python -m services.escalation: run the escalation worker."""

from services.escalation.app import create_app
from shared.runner import run_service

if __name__ == "__main__":
    run_service("escalation", 8003, create_app)
