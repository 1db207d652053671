FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake make git \
    tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-spa tesseract-ocr-chi-sim \
    tesseract-ocr-rus \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# llama.cpp is compiled for a portable baseline by default (x86-64-v3), never for the build machine's CPU.
ARG CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
ENV PYTHON=python3 RAG_DATA_DIR=/data/store RAG_MODELS_DIR=/app/models
# scripts/setup.sh: CPU torch pinned first, the project (builds llama-cpp-python), the bundled models.
RUN CMAKE_ARGS="$CMAKE_ARGS" RAG_MODELS_DIR=/app/models scripts/setup.sh
ENV PATH=/app/.venv/bin:$PATH
EXPOSE 8000
# Alone, the image is the embedded default (docker run -p 8000:8000 -v rag:/data smallrag); docker-compose.yml
# runs it as API replicas and ingest workers instead. It listens on every interface, so auth is on: the first
# start makes an admin key for the tenant `default` and prints it once in the log (`docker logs`); more with
# `docker exec CONTAINER rag keys create TENANT`. RAG_AUTH=off serves it open, on purpose only.
CMD ["sh", "-c", "rag keys create default --admin --unless-any && ingest data/samples --collection samples --unless-exists && rag serve --host 0.0.0.0 --port 8000"]
