"""python -m services.retriever: run the retriever worker."""

from services.retriever.app import create_app
from shared.runner import run_service

if __name__ == "__main__":
    run_service("retriever", 8002, create_app)
