# Python services of the post-loan system: setup (python -m postloanctl setup), api, workers.
# The engine itself runs from the official camunda/camunda-bpm-platform:run-7.24.0 image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    POSTLOAN_DATA_DIR=/data

WORKDIR /app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

RUN useradd --system --uid 10001 --home-dir /app postloan \
    && mkdir -p /data && chown postloan /data
USER postloan

CMD ["python", "-m", "postloanctl", "setup"]
