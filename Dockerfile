FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake make git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
ENV PYTHON=python3 RAG_DATA_DIR=/data/store RAG_MODELS_DIR=/models
# scripts/setup.sh: CPU torch pinned first, the project (builds llama-cpp-python), the bundled models.
RUN scripts/setup.sh
ENV PATH=/app/.venv/bin:$PATH
EXPOSE 8000
CMD ["sh", "-c", "ingest data/samples && rag serve --host 0.0.0.0 --port 8000"]
